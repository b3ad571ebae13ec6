"""Differential resolution: botocore and credproc resolve the same profile from the same files,
against the same moto STS and SSO emulator, and must end at the same identity (issue 11).

Three parts:

- ``worlds()``: a hypothesis strategy for a config file + credentials file + environment + SSO
  token cache, built from profile *ingredients* (static keys in either file, partial keys, both
  token names, role_arn over source_profile / credential_source / web_identity_token_file,
  credential_process, sso_session and legacy SSO, mfa_serial, login_session, ``[default]`` and
  ``[profile default]``, a quoted name, chains and loops through six names). The files are only
  text: botocore is the oracle, so nothing here models what they mean.
- ``Harness.botocore(name)``: botocore 1.43's own chain (a Session with the profile set, as
  ``aws --profile`` and ``boto3.Session(profile_name=)`` do). IMDS, the container endpoint,
  ``~/.boto`` and ``AWS_CREDENTIAL_FILE`` are out of the world, so "no credentials" is None.
- ``Harness.credproc(name)``: ``credproc credential-process --profile NAME --no-cache`` run
  in this process through the CLI's one error boundary, stdout and stderr captured.

Both give an ``Outcome``: the final credentials and the upstream calls that made them, or a
refusal. Calls are recorded on the wire (a WSGI recorder in front of moto; a wrapper on the SSO
emulator's GetRoleCredentials), and the keys a call returned are named by the call ("#0"), so two
runs that each got fresh random keys from the same chain compare equal, while a chain signed by a
different key, or that assumed a different role, does not.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from hypothesis import strategies as st

from tests.support.sso_emulator import Emulator, SsoEmulator

# ---- the CLI boundary, through the tests' one import of it (tests/support/runner.py) -----------


def _cli_run() -> Callable[[Sequence[str]], int]:
    from tests.support.runner import boundary

    return boundary


# ---- the world's fixed values ------------------------------------------------------------------

NAMES = ("default", "a", "b", "c", "d", "my profile")
MISSING = "zz"  # referenced, never defined
TAGS = {"default": "DEF", "a": "A", "b": "B", "c": "C", "d": "D", "my profile": "MY", MISSING: "ZZ"}
ACCOUNT = "123456789012"
MFA_CODE = "123456"
SESSION = "corp"
START_URL = "https://corp.awsapps.com/start"
LEGACY_URL = "https://legacy.awsapps.com/start"
SSO_REGION = "us-east-1"
GRANTED = ("111111111111", "Admin")  # assigned in the emulator
FORBIDDEN = ("222222222222", "Admin")  # not assigned: GetRoleCredentials is refused
ENV_KEY, ENV_SECRET = "AKIAENVIRONMENT00000", "env-secret"
WEB_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwYXJpdHkifQ.c2ln"
TMP = "@TMP@"  # the example's folder, substituted when the files are written
BIN = "@BIN@"  # the folder of the credential_process scripts


def static_key(where: str, tag: str) -> tuple[str, str]:
    """Keys that say where they came from: C = config file, K = credentials file."""
    return f"AKIA{where}{tag}".ljust(20, "0"), f"secret-{where}-{tag}"


# credential_process scripts: name -> what the script prints (None: it fails)
PROCESSES: dict[str, dict[str, object] | None] = {
    "ok": {
        "Version": 1,
        "AccessKeyId": "AKIAPROCESS000000000",
        "SecretAccessKey": "proc-secret",
        "SessionToken": "proc-token",
    },
    "notoken": {"Version": 1, "AccessKeyId": "AKIAPROCESSNOTOKEN00", "SecretAccessKey": "proc-secret-2"},
    "badversion": {"Version": 2, "AccessKeyId": "AKIAPROCESSV2000000", "SecretAccessKey": "proc-secret-3"},
    "fail": None,
    # For botocore's own ProcessProvider cases (tests/test_parity.py), never drawn by worlds():
    "noversion": {"AccessKeyId": "AKIAPROCESSNOVER0000", "SecretAccessKey": "proc-secret-4"},
    "nokey": {"Version": 1, "SecretAccessKey": "proc-secret-5"},
    "nosecret": {"Version": 1, "AccessKeyId": "AKIAPROCESSNOSECRET0"},
}


def write_process_scripts(directory: Path) -> None:
    """Tiny sh scripts (no Python start-up per run): print fixed keys, or fail; ``proc-args``
    prints its first two arguments as the key pair (how the command line was split)."""
    directory.mkdir(parents=True, exist_ok=True)
    args = directory / "proc-args"
    args.write_text(
        '#!/bin/sh\nprintf \'{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}\\n\' "$1" "$2"\n'
    )
    args.chmod(stat.S_IRWXU)
    for name, answer in PROCESSES.items():
        script = directory / f"proc-{name}"
        if answer is None:
            script.write_text("#!/bin/sh\necho 'process failed on purpose' >&2\nexit 1\n")
        else:
            script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(answer)}\nEOF\n")
        script.chmod(stat.S_IRWXU)


# ---- what a generated world is ------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    config: str
    credentials: str
    env: tuple[tuple[str, str], ...] = ()
    tokens: tuple[tuple[str, str], ...] = ()  # (cache id, "valid" | "expired"); absent: no file
    targets: tuple[str, ...] = ()  # the profiles to resolve
    web_token: bool = True  # whether @TMP@/web-token exists

    @property
    def mfa(self) -> bool:
        return "mfa_serial" in self.config or "mfa_serial" in self.credentials

    def describe(self) -> str:
        env = "".join(f"{k}={v}\n" for k, v in self.env)
        tokens = ", ".join(f"{k}: {v}" for k, v in self.tokens) or "none"
        return (
            f"--- config\n{self.config}--- credentials\n{self.credentials}--- env\n{env}"
            f"--- SSO tokens: {tokens}; web token file: {self.web_token}\n"
        )


Line = tuple[str, str, str]  # (file: "config" | "credentials", key, value)
FILES = st.sampled_from(["config", "credentials"])


@st.composite
def _keys(draw: st.DrawFn, tag: str) -> list[Line]:
    layout = draw(
        st.sampled_from(
            [
                "none",
                "none",
                "none",
                "config",
                "credentials",
                "both",
                "key-config-secret-credentials",
                "key-credentials-secret-config",
                "key-only",
                "secret-only",
            ]
        )
    )
    lines: list[Line] = []
    if layout == "none":
        return lines

    def pair(where: str) -> None:
        key, secret = static_key("C" if where == "config" else "K", tag)
        lines.extend([(where, "aws_access_key_id", key), (where, "aws_secret_access_key", secret)])

    home = "config"
    if layout in ("config", "credentials"):
        pair(layout)
        home = layout
    elif layout == "both":
        pair("config")
        pair("credentials")
        home = draw(FILES)
    elif layout.startswith(("key-config", "key-credentials")):
        key_file = "config" if layout.startswith("key-config") else "credentials"
        other = "credentials" if key_file == "config" else "config"
        key, _ = static_key("C" if key_file == "config" else "K", tag)
        _, secret = static_key("C" if other == "config" else "K", tag)
        lines.extend([(key_file, "aws_access_key_id", key), (other, "aws_secret_access_key", secret)])
        home = key_file
    elif layout == "key-only":
        home = draw(FILES)
        lines.append((home, "aws_access_key_id", static_key("C" if home == "config" else "K", tag)[0]))
    else:
        home = draw(FILES)
        lines.append((home, "aws_secret_access_key", static_key("C" if home == "config" else "K", tag)[1]))
    token = draw(st.sampled_from(["none", "none", "session", "security", "both"]))
    if token != "none":
        where = home if draw(st.integers(0, 3)) else ("credentials" if home == "config" else "config")
        w = "C" if where == "config" else "K"
        if token in ("session", "both"):
            lines.append((where, "aws_session_token", f"session-token-{w}-{tag}"))
        if token in ("security", "both"):
            lines.append((where, "aws_security_token", f"security-token-{w}-{tag}"))
    return lines


@st.composite
def _role(draw: st.DrawFn, name: str, tag: str) -> list[Line]:
    if draw(st.integers(0, 9)) < 5:
        return []
    where = "config" if draw(st.integers(0, 4)) else "credentials"
    lines: list[Line] = [(where, "role_arn", f"arn:aws:iam::{ACCOUNT}:role/R-{tag}")]
    kind = draw(
        st.sampled_from(
            [
                "profile",
                "profile",
                "profile",
                "environment",
                "web",
                "web+profile",
                "both",
                "neither",
            ]
        )
    )
    source = draw(st.sampled_from([*NAMES, MISSING, name, name]))
    if kind in ("profile", "web+profile", "both"):
        lines.append((where, "source_profile", source))
    if kind in ("environment", "both"):
        value = draw(
            st.sampled_from(
                ["Environment", "Environment", "environment", "EcsContainer", "Ec2InstanceMetadata"]
            )
        )
        lines.append((where, "credential_source", value))
    if kind in ("web", "web+profile"):
        path = f"{TMP}/web-token" if draw(st.integers(0, 4)) else f"{TMP}/no-such-token"
        lines.append((where, "web_identity_token_file", path))
    if not draw(st.integers(0, 4)):
        lines.append((where, "mfa_serial", f"arn:aws:iam::{ACCOUNT}:mfa/user-{tag}"))
    if not draw(st.integers(0, 3)):
        lines.append((where, "role_session_name", f"session-{tag}"))
    if not draw(st.integers(0, 9)):
        lines.append((where, "external_id", f"external-{tag}"))
    if not draw(st.integers(0, 9)):
        lines.append((where, "duration_seconds", draw(st.sampled_from(["7200", "garbage"]))))
    return lines


@st.composite
def _process(draw: st.DrawFn) -> list[Line]:
    if draw(st.integers(0, 9)) < 7:
        return []
    which = draw(st.sampled_from(["ok", "ok", "notoken", "fail", "badversion"]))
    return [(draw(FILES), "credential_process", f"{BIN}/proc-{which}")]


@st.composite
def _sso(draw: st.DrawFn) -> list[Line]:
    if draw(st.integers(0, 9)) < 7:
        return []
    kind = draw(
        st.sampled_from(
            ["session", "session", "legacy", "legacy", "role-only", "no-such-session", "conflict"]
        )
    )
    account, role = GRANTED if draw(st.integers(0, 5)) else FORBIDDEN
    where = "config" if draw(st.integers(0, 5)) else "credentials"
    lines: list[Line] = []
    if kind in ("session", "conflict"):
        lines.append((where, "sso_session", SESSION))
    if kind == "no-such-session":
        lines.append((where, "sso_session", "nosuch"))
    if kind == "conflict":
        lines.append((where, "sso_region", "us-west-2"))
    if kind == "legacy":
        lines.extend([(where, "sso_start_url", LEGACY_URL), (where, "sso_region", SSO_REGION)])
    if kind != "role-only" or draw(st.booleans()):
        lines.append((where, "sso_account_id", account))
    lines.append((where, "sso_role_name", role))
    return lines


@st.composite
def _profile(draw: st.DrawFn, name: str) -> list[Line]:
    tag = TAGS[name]
    lines = [*draw(_keys(tag)), *draw(_role(name, tag)), *draw(_process()), *draw(_sso())]
    if not draw(st.integers(0, 7)):  # an mfa_serial botocore reads only on an assumed role
        lines.append(("config", "mfa_serial", f"arn:aws:iam::{ACCOUNT}:mfa/keys-{tag}"))
    if not draw(st.integers(0, 3)):
        lines.append(("config", "region", "eu-west-1"))
    if not draw(st.integers(0, 24)):  # `aws login`: botocore without awscrt refuses the profile
        lines.append((draw(FILES), "login_session", f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/{tag}"))
    return lines


def _config_headers(name: str, draw: st.DrawFn) -> list[str]:
    if name == "default":
        return draw(
            st.sampled_from(
                [
                    ["[default]"],
                    ["[default]"],
                    ["[profile default]"],
                    ["[default]", "[profile default]"],
                    ["[profile default]", "[default]"],
                ]
            )
        )
    if name == "my profile":
        return [draw(st.sampled_from(['[profile "my profile"]', "[profile 'my profile']"]))]
    return [f"[profile {name}]"]


def _section(header: str, lines: Iterable[tuple[str, str]]) -> str:
    return header + "\n" + "".join(f"{k} = {v}\n" for k, v in lines) + "\n"


@st.composite
def worlds(draw: st.DrawFn) -> World:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    config_parts: list[str] = []
    credentials_parts: list[str] = []
    for name in names:
        lines = draw(_profile(name))
        in_config = [(k, v) for f, k, v in lines if f == "config"]
        in_credentials = [(k, v) for f, k, v in lines if f == "credentials"]
        if in_config or not in_credentials or draw(st.booleans()):
            headers = _config_headers(name, draw)
            if len(headers) == 1:
                config_parts.append(_section(headers[0], in_config))
            else:  # two sections for one profile: the later one replaces the earlier (botocore)
                first = [line for line in in_config if draw(st.booleans())]
                config_parts.append(_section(headers[0], first))
                config_parts.append(_section(headers[1], [line for line in in_config if line not in first]))
        if in_credentials:
            credentials_parts.append(_section(f"[{name}]", in_credentials))
    config_parts = draw(st.permutations(config_parts))
    credentials_parts = draw(st.permutations(credentials_parts))
    text = "".join(config_parts) + "".join(credentials_parts)
    if "sso_session" in text and draw(st.integers(0, 9)):
        config_parts.append(
            _section(f"[sso-session {SESSION}]", [("sso_start_url", START_URL), ("sso_region", SSO_REGION)])
        )
    tokens = []
    for cache_id in (SESSION, LEGACY_URL):
        state = draw(st.sampled_from(["valid", "valid", "valid", "expired", "absent"]))
        if state != "absent":
            tokens.append((cache_id, state))
    env: list[tuple[str, str]] = []
    if draw(st.booleans()):
        env += [("AWS_ACCESS_KEY_ID", ENV_KEY), ("AWS_SECRET_ACCESS_KEY", ENV_SECRET)]
        token = draw(st.sampled_from(["none", "session", "security", "both"]))
        if token in ("session", "both"):
            env.append(("AWS_SESSION_TOKEN", "env-session-token"))
        if token in ("security", "both"):
            env.append(("AWS_SECURITY_TOKEN", "env-security-token"))
    targets = tuple(names) + ((MISSING,) if not draw(st.integers(0, 9)) else ())
    return World(
        config="".join(config_parts),
        credentials="".join(credentials_parts),
        env=tuple(env),
        tokens=tuple(tokens),
        targets=targets,
        web_token=draw(st.integers(0, 5)) > 0,
    )


# ---- outcomes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One upstream call as it crossed the wire."""

    op: str  # AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken, GetRoleCredentials
    target: tuple[str, ...]  # (RoleArn, SerialNumber, TokenCode) / (account, role) ...
    signer: str | None  # access key id of the signature; None: unsigned
    signer_token: str | None
    returned: str | None = None  # the access key id it answered with
    returned_token: str | None = None


@dataclass(frozen=True)
class Outcome:
    """``final`` and ``calls`` when credentials came back, ``refused`` (the reason) otherwise."""

    final: tuple[str | None, ...] | None = None
    calls: tuple[tuple[str | None, ...], ...] = ()
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None

    def same_as(self, other: Outcome) -> bool:
        if not self.ok or not other.ok:
            return self.ok == other.ok
        return (self.final, self.calls) == (other.final, other.calls)

    def show(self) -> str:
        if not self.ok:
            return f"refused: {self.refused}"
        steps = "".join(f"\n    {c}" for c in self.calls)
        return f"final {self.final}; calls:{steps or ' none'}"


def outcome(calls: Sequence[Call], key: str, secret: str, token: str | None) -> Outcome:
    """Name keys a call returned by the call, so fresh random keys from equal chains compare equal."""
    by_key = {c.returned: f"#{i}" for i, c in enumerate(calls) if c.returned}
    by_token = {c.returned_token: f"#{i}" for i, c in enumerate(calls) if c.returned_token}

    def name(value: str | None, names: Mapping[str, str]) -> str | None:
        return names.get(value, value) if value else None

    steps = tuple((c.op, *c.target, name(c.signer, by_key), name(c.signer_token, by_token)) for c in calls)
    if key in by_key:
        final: tuple[str | None, ...] = (by_key[key],)
    else:
        final = (key, secret, token or None)
    return Outcome(final=final, calls=steps)


# ---- recording the wire -------------------------------------------------------------------------

_SIGNER = re.compile(r"Credential=([^/,\s]+)/")


def _tag(body: bytes, name: str) -> str | None:
    found = re.search(rb"<" + name.encode() + rb">([^<]*)</" + name.encode() + rb">", body)
    return found.group(1).decode() if found else None


class StsRecorder:
    """WSGI middleware in front of moto: logs every STS call with its signer and its answer."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.log: list[Call] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        seen: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Any:
            seen["status"] = status
            headers = [h for h in headers if h[0].lower() != "connection"] + [("Connection", "close")]
            return start_response(status, headers, exc_info)

        answer = b"".join(self.app(environ, start))
        signer = _SIGNER.search(environ.get("HTTP_AUTHORIZATION", ""))
        action = params.get("Action", "")
        if action and str(seen.get("status", "")).startswith("200"):
            target = tuple(params.get(k, "") for k in ("RoleArn", "SerialNumber", "TokenCode"))
            if action == "AssumeRoleWithWebIdentity":
                target = (params.get("RoleArn", ""), params.get("WebIdentityToken", ""))
            with self.lock:
                self.log.append(
                    Call(
                        action,
                        target,
                        signer.group(1) if signer else None,
                        environ.get("HTTP_X_AMZ_SECURITY_TOKEN"),
                        _tag(answer, "AccessKeyId"),
                        _tag(answer, "SessionToken"),
                    )
                )
        return [answer]


class MotoServer:
    """moto's STS (the same backend tests/support/moto_sts.py serves), with the recorder in front."""

    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from tests.support.moto_sts import QuietHandler

        self.recorder = StsRecorder(DomainDispatcherApplication(create_backend_app))
        self.server = make_server("127.0.0.1", 0, self.recorder, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MotoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)


def record_sso(emulator: Emulator, log: list[Call]) -> None:
    """Log each GetRoleCredentials the emulator grants (the portal call is unsigned: its 'signer'
    is the bearer token's cache id, which the tokens map back to)."""
    inner = emulator.role_credentials

    def role_credentials(query: dict[str, str]) -> dict[str, Any]:
        answer = inner(query)
        creds = answer["roleCredentials"]
        log.append(
            Call(
                "GetRoleCredentials",
                (query.get("account_id", ""), query.get("role_name", "")),
                None,
                None,
                creds["accessKeyId"],
                creds["sessionToken"],
            )
        )
        return answer

    emulator.role_credentials = role_credentials  # type: ignore[method-assign]


# ---- the harness --------------------------------------------------------------------------------


@contextlib.contextmanager
def _patched(obj: object, name: str, value: object) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("AWS_", "CREDPROC_", "BOTO_")):
            del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Harness:
    """Servers shared by every example; each ``world()`` gets its own folder and environment."""

    sts: MotoServer
    sso: SsoEmulator
    bin_dir: Path
    log: list[Call] = field(default_factory=list)
    home: Path | None = None
    last_stderr: str = ""
    root: Path | None = None  # the worlds' one folder (None: a new temporary folder each)

    @contextlib.contextmanager
    def world(self, world: World) -> Iterator[Harness]:
        emulator = self.sso.reset()
        self.log = self.sts.recorder.log = []
        record_sso(emulator, self.log)
        with self._scratch() as tmp:
            home = Path(tmp) / "home"
            (home / ".aws").mkdir(parents=True, exist_ok=True)
            self.home = home
            for path, text in (
                (home / ".aws" / "config", world.config),
                (home / ".aws" / "credentials", world.credentials),
            ):
                path.write_text(text.replace(TMP, tmp).replace(BIN, str(self.bin_dir)))
            if world.web_token:
                (Path(tmp) / "web-token").write_text(WEB_TOKEN)
            for cache_id, state in world.tokens:
                write_sso_token(home, emulator, cache_id, 4 * 3600 if state == "valid" else -60)
            env = {
                "HOME": str(home),
                "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
                "AWS_ENDPOINT_URL_STS": self.sts.url,
                "AWS_ENDPOINT_URL_SSO": self.sso.url,
                "AWS_ENDPOINT_URL_SSO_OIDC": self.sso.url,
                "AWS_EC2_METADATA_DISABLED": "true",
                # With an endpoint URL and no region botocore cannot sign (NoRegionError); without
                # the URL it would use the global endpoint. Either way the identity is the same.
                "AWS_DEFAULT_REGION": "us-east-1",
                "BOTO_CONFIG": str(Path(tmp) / "no-boto-config"),
                "CREDPROC_CACHE_DIR": str(Path(tmp) / "credproc-cache"),
                **{k: v.replace(TMP, tmp) for k, v in world.env},
            }
            with _environ(env), _quick_botocore():
                yield self

    @contextlib.contextmanager
    def _scratch(self) -> Iterator[str]:
        """One folder for every world, emptied of files before each: a fresh temporary folder per
        world cost more than resolving it (rmdir is slow on this file system), and no file of a
        world survives into the next (folders may: an empty one changes no answer)."""
        if self.root is None:
            with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
                yield tmp
            return
        for folder, _, files in os.walk(self.root):
            for name in files:
                os.unlink(os.path.join(folder, name))
        yield str(self.root)

    def _calls(self) -> list[Call]:
        calls = list(self.log)
        self.log.clear()
        return calls

    def botocore(self, profile: str) -> Outcome:
        """botocore's default chain for an explicitly selected profile."""
        import botocore.session
        from botocore.credentials import SSOProvider, create_credential_resolver
        from botocore.tokens import SSOTokenProvider

        assert self.home is not None
        sso_cache = str(self.home / ".aws" / "sso" / "cache")
        self.log.clear()
        # botocore fixes the SSO token folder when it is imported; point it at this world's HOME.
        with (
            _patched(SSOProvider, "_SSO_TOKEN_CACHE_DIR", sso_cache),
            _patched(SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", sso_cache),
        ):
            try:
                session = botocore.session.Session(profile=profile)
                resolver = create_credential_resolver(session)
                # The MFA prompt: the code a person would type (credproc gets it as --mfa-token).
                resolver.get_provider("assume-role")._prompter = lambda prompt: MFA_CODE
                session.register_component("credential_provider", resolver)
                creds = session.get_credentials()
                if creds is None:
                    return Outcome(refused="no credentials")
                frozen = creds.get_frozen_credentials()
            except Exception as exc:  # every botocore failure is "refused"; the class is the reason
                return Outcome(refused=f"{type(exc).__name__}: {exc}")
        return outcome(self._calls(), frozen.access_key, frozen.secret_key, frozen.token)

    def credproc(self, profile: str, mfa: bool = False) -> Outcome:
        """``credproc credential-process --profile P --no-cache`` in this process, no terminal."""
        from credproc.terminal import Terminal

        # The module, not the function credproc.aws re-exports under the same name.
        budget = importlib.import_module("credproc.aws.budget")

        argv = ["credential-process", "--profile", profile, "--no-cache"]
        if mfa:
            argv += ["--mfa-token", MFA_CODE]
        out, err = io.StringIO(), io.StringIO()
        self.log.clear()
        nowhere = (os.devnull + "/no-tty", os.devnull + "/no-tty")
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _patched(Terminal, "_paths", lambda self: nowhere),
            # botocore's own timeouts (60 s connect, 60 s read) instead of credproc's tighter ones
            # (10 s a try inside a 30 s run budget, on purpose: the SDKs kill a credential_process
            # after a minute). On a loaded machine a stalled answer once outlived credproc's 10 s
            # try and was asked again, which the call log saw as a second GetRoleCredentials that
            # botocore, waiting 60 s, never made: a difference of timeouts, not of resolution.
            _patched(budget, "CONNECT_TIMEOUT", BOTOCORE_TIMEOUT),
            _patched(budget, "READ_TIMEOUT", BOTOCORE_TIMEOUT),
            _patched(budget, "RUN_BUDGET", budget.MAX_ATTEMPTS * BOTOCORE_TIMEOUT + 10),
        ):
            code = _cli_run()(argv)
        self.last_stderr = err.getvalue()
        if code != 0:
            return Outcome(refused=f"exit {code}: {self.last_stderr.strip()}")
        data = json.loads(out.getvalue())
        return outcome(self._calls(), data["AccessKeyId"], data["SecretAccessKey"], data.get("SessionToken"))


# botocore's default connect and read timeouts (botocore.config.Config), in seconds.
BOTOCORE_TIMEOUT = 60

_LOADERS: dict[str | None, Any] = {}
_EMITTERS: list[Any] = []


@contextlib.contextmanager
def _quick_botocore() -> Iterator[None]:
    """Make a botocore Session cheap for either tool (credproc makes one per client) without
    changing what it does: endpoints.json and the service models are read once (one data loader),
    and the builtin event handlers are registered once and copied into each new Session, the way
    botocore itself copies a Session's handlers into every client. Without this, Session() (17 ms
    of CPU, mostly registering the same 119 handlers) is most of the harness's time."""
    import copy

    import botocore.loaders
    import botocore.session
    from botocore.hooks import EventAliaser

    def create_loader(search_path_string: str | None = None) -> Any:
        if search_path_string not in _LOADERS:
            _LOADERS[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return _LOADERS[search_path_string]

    original = botocore.session.Session._register_builtin_handlers

    def register_builtin_handlers(self: Any, events: Any) -> None:
        if not _EMITTERS:
            original(self, events)
            _EMITTERS.append(copy.copy(self._original_handler))
            return
        self._original_handler = copy.copy(_EMITTERS[0])
        self._events = EventAliaser(self._original_handler)

    with (
        _patched(botocore.session, "create_loader", create_loader),
        _patched(botocore.session.Session, "_register_builtin_handlers", register_builtin_handlers),
    ):
        yield


@contextlib.contextmanager
def untraced() -> Iterator[None]:
    """Pause the coverage run (if any) inside: the generated worlds run the code the named cases
    of tests/test_parity.py also run, traced, and under the tracer 2,000 worlds cost twice the
    time (~95 s a core in CI). The measured coverage only loses what these worlds alone reach."""
    try:
        import coverage
    except ImportError:  # pragma: no cover - coverage is a test dependency
        yield
        return
    current = coverage.Coverage.current()
    if current is None:
        yield
        return
    current.stop()
    try:
        yield
    finally:
        current.start()


def write_sso_token(home: Path, emulator: Emulator, cache_id: str, expires_in: int) -> None:
    """A token file as `aws sso login` writes it, known to the emulator (not refreshable)."""
    now = time.time()
    data = {
        "startUrl": LEGACY_URL if cache_id == LEGACY_URL else START_URL,
        "region": SSO_REGION,
        "accessToken": emulator.issue_token(ttl=expires_in),
        "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + expires_in)),
    }
    path = home / ".aws" / "sso" / "cache" / (hashlib.sha1(cache_id.encode()).hexdigest() + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@contextlib.contextmanager
def running(tmp: Path) -> Iterator[Harness]:
    """The servers and the scripts, for a test session (or a module)."""
    bin_dir = tmp / "bin"
    write_process_scripts(bin_dir)
    with MotoServer() as sts, SsoEmulator() as sso:
        try:
            root = tmp / "world"
            root.mkdir(exist_ok=True)
            yield Harness(sts=sts, sso=sso, bin_dir=bin_dir, root=root)
        finally:
            shutil.rmtree(bin_dir, ignore_errors=True)


@dataclass(frozen=True)
class Difference:
    profile: str
    botocore: Outcome
    credproc: Outcome

    def show(self) -> str:
        return (
            f"profile {self.profile!r}:\n  botocore: {self.botocore.show()}\n"
            f"  credproc: {self.credproc.show()}"
        )


def compare(harness: Harness, world: World) -> list[Difference]:
    """Resolve every target profile with both; the differences (none when they agree)."""
    found: list[Difference] = []
    with harness.world(world):
        for name in world.targets:
            expected = harness.botocore(name)
            got = harness.credproc(name, mfa=world.mfa)
            if not expected.same_as(got):
                found.append(Difference(name, expected, got))
    return found


def _signature(d: Difference) -> tuple[str, str]:
    def kind(o: Outcome) -> str:
        if o.ok:
            return "answers"
        assert o.refused is not None
        return o.refused.split(":")[0]

    return kind(d.botocore), kind(d.credproc)


def _lines_without(text: str, index: int) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(lines[:index] + lines[index + 1 :])


def minimal(harness: Harness, world: World, profile: str) -> tuple[World, Difference] | None:
    """The smallest world (line by line) in which ``profile`` still differs in the same way: what
    a report shows. Much faster than hypothesis's shrinking for files this size."""

    def differs(candidate: World) -> Difference | None:
        with harness.world(candidate):
            found = Difference(profile, harness.botocore(profile), harness.credproc(profile, candidate.mfa))
        return None if found.botocore.same_as(found.credproc) else found

    first = differs(world)
    if first is None:
        return None
    want, best = _signature(first), (world, first)
    progress = True
    while progress:
        progress = False
        current = best[0]
        candidates: list[World] = []
        for attr in ("config", "credentials"):
            text = getattr(current, attr)
            for i in reversed(range(len(text.splitlines()))):
                without = _lines_without(text, i)
                candidates.append(
                    replace(current, config=without)
                    if attr == "config"
                    else replace(current, credentials=without)
                )
        candidates += [
            replace(current, env=current.env[:i] + current.env[i + 1 :]) for i in range(len(current.env))
        ]
        candidates += [
            replace(current, tokens=current.tokens[:i] + current.tokens[i + 1 :])
            for i in range(len(current.tokens))
        ]
        if current.web_token:
            candidates.append(replace(current, web_token=False))
        for candidate in candidates:
            found = differs(candidate)
            if found is not None and _signature(found) == want:
                best, progress = (candidate, found), True
                break
    return best
