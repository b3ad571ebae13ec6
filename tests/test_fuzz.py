"""hypothesis against the parsers: arbitrary config text and profile names may only ever raise
credproc's own errors (one line, an exit code), and the fast path's decoders never raise."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credproc import cachefile, config, fastpath, flags
from credproc.cache import NoCache
from credproc.errors import CredprocError
from credproc.resolve import build_source
from credproc.sources.base import Context
from credproc.terminal import Terminal

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

NAMES = st.sampled_from(["default", "p", "q", "dev", "corp", "profile p", "sso-session corp", "services s"])
KEYS = st.sampled_from(
    [
        "region",
        "role_arn",
        "source_profile",
        "credential_source",
        "web_identity_token_file",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "credential_process",
        "sso_session",
        "sso_start_url",
        "sso_region",
        "sso_account_id",
        "sso_role_name",
        "mfa_serial",
        "duration_seconds",
        "external_id",
        "role_session_name",
        "endpoint_url",
        "services",
        "sts",
        "rolesanywhere_trust_anchor_arn",
        "rolesanywhere_profile_arn",
        "rolesanywhere_role_arn",
        "rolesanywhere_certificate",
        "rolesanywhere_private_key",
        "rolesanywhere_session_duration",
    ]
)
VALUES = st.one_of(
    st.sampled_from(
        [
            "p",
            "q",
            "default",
            "Environment",
            "EcsContainer",
            "us-east-1",
            "3600",
            "-1",
            "",
            "arn:aws:iam::111111111111:role/r",
            "arn:aws:iam::1:role/",
            "corp",
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/x",
            "credproc credential-process --profile q",
            "~/nope.pem",
            "'unclosed",
            "$HOME",
        ]
    ),
    st.text(max_size=30),
)
LINES = st.one_of(
    NAMES.map(lambda n: f"[{n}]"),
    st.text(max_size=12).map(lambda n: f"[{n}]"),
    st.tuples(KEYS, VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.tuples(KEYS, VALUES).map(lambda kv: f"  {kv[0]} = {kv[1]}"),  # a nested (s3 =) block line
    st.text(max_size=40),
)
INI = st.lists(LINES, max_size=14).map("\n".join)
PROFILE = st.one_of(st.sampled_from(["default", "p", "q", "dev", "corp"]), st.text(max_size=12))


def _context(home: Path) -> Context:
    environ = {
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "PATH": os.environ.get("PATH", ""),
    }
    return Context(
        environ=environ,
        config=config.load(environ),
        cache=NoCache(),
        terminal=Terminal(),
        warn=lambda message: None,
    )


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(config_text=INI, credentials_text=INI, profile=PROFILE)
def test_arbitrary_config_raises_only_credproc_errors(
    tmp_path: Path, memory: object, config_text: str, credentials_text: str, profile: str
) -> None:
    _write(tmp_path / "config", config_text)
    _write(tmp_path / "credentials", credentials_text)
    try:
        build_source(_context(tmp_path), profile)
    except CredprocError as exc:
        assert exc.message and "\n" not in exc.message.strip()


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_as_config_raise_only_credproc_errors(
    tmp_path: Path, memory: object, data: bytes
) -> None:
    (tmp_path / "config").write_bytes(data)
    with contextlib.suppress(CredprocError):
        build_source(_context(tmp_path), "default")


FUZZ_KEY = "p-fuzz"


def _entry_bytes(payload: bytes, expires: int, issued: int, deps: bytes, meta: bytes) -> bytes:
    body = payload + deps + meta
    digest = cachefile.checksum(FUZZ_KEY, body).encode()
    return b"%s %d %d %d %d %s\n" % (cachefile.MAGIC, expires, issued, len(payload), len(deps), digest) + body


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda head, rest: cachefile.MAGIC + b" " + head + b"\n" + rest,
            st.binary(max_size=60),
            st.binary(max_size=60),
        ),
        st.builds(
            _entry_bytes,
            st.binary(max_size=40),
            st.integers(-(2**70), 2**70),
            st.integers(-(2**40), 2**40),
            st.binary(max_size=30),
            st.binary(max_size=30),
        ),
    )
)
def test_decode_entry_never_raises(data: bytes) -> None:
    entry = cachefile.decode_entry(data, FUZZ_KEY)
    if entry is not None:
        assert entry.payload and len(entry.payload) + len(entry.deps) + len(entry.meta) < len(data)


def _words(table: tuple[flags.Flag, ...]) -> st.SearchStrategy[list[str]]:
    """argv built from the table's names (alone, with "=", glued to a short name), separators and text."""
    names = sorted({f.long for f in table} | {f.short for f in table if f.short})
    word = st.one_of(
        st.sampled_from([*names, "--", "-", "-h", "--help", "--debug"]),
        st.sampled_from(names).map(lambda n: n + "="),
        st.builds(lambda n, v: n + v, st.sampled_from(names), st.text(max_size=6)),
        st.text(max_size=8),
    )
    return st.lists(word, max_size=8)


def _click_reading(name: str, argv: list[str]) -> tuple[dict[str, str], list[str]] | None:
    """What the real click command reads from argv (as the slow path turns it into options), or
    None where click refuses it or would only print help."""
    import importlib

    import click

    from credproc.errors import CredprocError

    command = importlib.import_module(f"credproc.commands.{name}").command
    try:
        ctx = command.make_context(name, list(argv))
    except (click.exceptions.ClickException, click.exceptions.Exit, CredprocError):
        return None
    params = dict(ctx.params)
    rest = list(params.pop("command", ()))
    return {k: ("1" if v is True else str(v)) for k, v in params.items() if v not in (None, False)}, rest


@settings(max_examples=300, deadline=None, derandomize=True)
@given(argv=_words(flags.CREDENTIAL_PROCESS))
def test_the_fast_parser_reads_credential_process_flags_as_click_does(argv: list[str]) -> None:
    fast = flags.parse(flags.CREDENTIAL_PROCESS, argv)
    if fast is not None:  # giving up is always allowed; a reading must be click's
        assert fast == _click_reading("credential_process", argv)
        assert fastpath.parse_args(argv) == fast[0]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(argv=_words(flags.EXEC))
def test_the_fast_parser_reads_exec_flags_as_click_does(argv: list[str]) -> None:
    fast = flags.parse(flags.EXEC, argv, command=True)
    if fast is not None:
        assert fast == _click_reading("exec", argv)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    argv=st.lists(st.text(max_size=15), max_size=6),
    environ=st.dictionaries(
        st.sampled_from(["AWS_PROFILE", "CREDPROC_REFRESH_WINDOW", "AWS_REGION"]),
        st.text(max_size=10).filter(lambda v: "\0" not in v),
        max_size=3,
    ),
)
def test_a_cache_lookup_with_any_flags_never_raises(
    tmp_path_factory: pytest.TempPathFactory, argv: list[str], environ: dict[str, str]
) -> None:
    cache = tmp_path_factory.getbasetemp() / "fuzz-cache"
    cache.mkdir(mode=0o700, exist_ok=True)
    home = str(tmp_path_factory.getbasetemp())
    fastpath.lookup(argv, {**environ, "CREDPROC_CACHE_DIR": str(cache), "HOME": home})
