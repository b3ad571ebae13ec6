"""``credproc doctor``: how a profile resolves, what is cached, and the mistakes that bite people.

Each check returns findings; nothing here prints. The outside world (clock, the STS server's Date
header, the keyring backend) comes in through ``World``, so tests plant a skewed server or a
broken backend without patching.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import click

from credproc import aws, cachedir, cachefile, config, hoptree, options, output, paths, safetext
from credproc.cache import Cache, NoCache
from credproc.commands import cache as cache_cmd
from credproc.config import AwsConfig, get_str
from credproc.credentials import format_expiration
from credproc.errors import ConfigError, CredprocError
from credproc.profiles import selected_profile
from credproc.resolve import build_source
from credproc.sources.base import Context
from credproc.sources.process import credproc_target, guard_stack, split_command
from credproc.terminal import Terminal

OK, INFO, WARN, PROBLEM = "ok", "info", "warn", "problem"
# AWS rejects a signature made more than 5 minutes off its own clock (RequestTimeTooSkewed).
MAX_SKEW_SECONDS = 5 * 60
CONTAINER_VARS = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
# A profile with any of these resolves in botocore before the container endpoint is ever asked.
CREDENTIAL_KEYS = (
    "aws_access_key_id",
    "role_arn",
    "sso_session",
    "sso_start_url",
    "credential_process",
    "web_identity_token_file",
)
CLOCK_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Finding:
    level: str  # OK, INFO, WARN or PROBLEM
    topic: str
    text: str
    hint: str | None = None


@dataclass(frozen=True)
class Report:
    profile: str
    findings: tuple[Finding, ...]
    tree: hoptree.Tree | None = None  # None when the files cannot be read

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level == PROBLEM]

    @property
    def healthy(self) -> bool:
        return not self.problems


def server_date(url: str, environ: Mapping[str, str]) -> float | None:
    """The time in the Date header of any answer from ``url`` (unsigned; an error page has one too)."""
    import ssl
    import urllib.error
    import urllib.request
    from email.utils import parsedate_to_datetime

    context = ssl.create_default_context(cafile=environ.get("AWS_CA_BUNDLE") or None)
    if not url.lower().startswith(("https://", "http://")):
        return None
    # The scheme is checked above: only http(s) endpoints are asked.
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "credproc-doctor"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=CLOCK_TIMEOUT_SECONDS, context=context) as resp:  # noqa: S310
            header = resp.headers.get("Date")
    except urllib.error.HTTPError as exc:
        header = exc.headers.get("Date")
    except (OSError, ValueError):
        return None
    if not header:
        return None
    try:
        return parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return None


def keyring_backend() -> str:
    """The backend credproc would use, by the keystore's own rules: a plaintext, null or fail
    backend raises ConfigError here exactly as it would for `keys add`."""
    from credproc import keystore

    return keystore.backend_name(keystore.backend())


@dataclass
class World:
    environ: Mapping[str, str]
    platform: str
    clock: Callable[[], float] = time.time
    offline: bool = False
    server_date: Callable[[str, Mapping[str, str]], float | None] = server_date
    keyring_backend: Callable[[], str] = keyring_backend
    which: Callable[..., str | None] = field(default=shutil.which)


def _minutes(seconds: float) -> int:
    from credproc.credentials import minutes_left

    return minutes_left(seconds)


def check_files(world: World) -> tuple[list[Finding], AwsConfig | None]:
    found = []
    for what, path in (
        ("config file", paths.aws_config_file(world.environ)),
        ("credentials file", paths.aws_credentials_file(world.environ)),
    ):
        state = "found" if os.path.isfile(path) else "not present"
        found.append(Finding(INFO, what, f"{path} ({state})"))
    try:
        return found, config.load(world.environ)
    except CredprocError as exc:
        found.append(Finding(PROBLEM, "config", exc.message, exc.hint))
        return found, None


def _context(world: World, cfg: AwsConfig) -> Context:
    return Context(
        environ=world.environ,
        config=cfg,
        cache=NoCache(),
        terminal=Terminal(),
        warn=lambda message: None,
        clock=world.clock,
        stack=guard_stack(world.environ),
    )


def check_resolution(world: World, cfg: AwsConfig, profile: str) -> list[Finding]:
    if profile not in cfg.profiles:
        names = ", ".join(sorted(cfg.profiles)) or "none"
        return [
            Finding(
                PROBLEM,
                "profile",
                f"profile {profile!r} is not in the config or credentials file",
                f"profiles there: {names}",
            )
        ]
    try:
        source = build_source(_context(world, cfg), profile)
    except CredprocError as exc:
        return [Finding(PROBLEM, "resolution", _explain(cfg, profile, exc), exc.hint)]
    steps = source.describe()
    found = [Finding(OK, "resolution", f"profile {profile!r} resolves in {len(steps)} step(s):")]
    found += [Finding(INFO, "resolution", f"  {i}. {step}") for i, step in enumerate(steps, 1)]
    region = aws.region_for(world.environ, cfg, profile)
    found.append(Finding(INFO, "region", region or f"none set (STS calls use {aws.DEFAULT_REGION})"))
    return found


def _explain(cfg: AwsConfig, profile: str, exc: CredprocError) -> str:
    """A profile whose only source is a credproc line for itself reads, to credproc, as "no
    credentials"; to the person who wrote it, it is a self-loop, so say that."""
    if "has no credentials" in exc.message:
        return _self_loop_text(cfg, profile) or exc.message
    return exc.message


def _self_loop_text(cfg: AwsConfig, profile: str) -> str | None:
    command = _line(cfg.profiles.get(profile, {}), "credential_process")
    if not command:
        return None
    try:
        target = credproc_target(split_command(command), {})
    except ConfigError:
        return None
    if target != profile:
        return None
    return (
        f"self-loop: the credential_process of profile {profile!r} runs credproc for {profile!r} "
        "itself, and the profile has no other source of credentials"
    )


def check_credential_processes(world: World, cfg: AwsConfig) -> list[Finding]:
    """Every profile's credential_process: the program exists, and credproc lines do not loop."""
    found = []
    for name in sorted(cfg.profiles):
        command = _line(cfg.profiles[name], "credential_process")
        if not command:
            continue
        try:
            argv = split_command(command)
        except ConfigError as exc:
            found.append(Finding(PROBLEM, "credential_process", exc.message))
            continue
        if not argv:
            continue
        missing = _missing_program(world, argv[0])
        if missing:
            found.append(
                Finding(
                    PROBLEM,
                    "credential_process",
                    f"profile {name!r}: credential_process runs {argv[0]!r}, {missing}",
                    "fix the path, e.g. with `credproc configure " + name + "`",
                )
            )
            continue
        if credproc_target(argv, world.environ) is None:
            continue
        try:
            build_source(_context(world, cfg), name)
        except CredprocError as exc:
            text = _explain(cfg, name, exc)
            if "loop" in text:
                found.append(Finding(PROBLEM, "credential_process", text, exc.hint))
    return found


def _missing_program(world: World, program: str) -> str | None:
    if os.sep in program or (os.altsep and os.altsep in program):
        path = paths.expand_user(program, world.environ)
        if not os.path.exists(path):
            return "which does not exist"
        if not os.access(path, os.X_OK) or os.path.isdir(path):
            return "which is not executable"
        return None
    if world.which(program, path=world.environ.get("PATH", os.defpath)) is None:
        return "which is not on PATH"
    return None


def _way_problems(world: World, directory: str) -> list[Finding]:
    """A symlink of another user's at the folder's name, or a folder above it others can change."""
    if not hasattr(os, "geteuid"):
        return []
    try:
        cachedir.resolve_checked(directory, paths.home(world.environ), os.geteuid())
    except cachedir.UnsafeFolder as exc:
        return [Finding(PROBLEM, "cache", f"cache folder {directory} is not used: {exc.why}", exc.fix)]
    except OSError:
        pass
    return []


def _mode_problems(directory: str) -> list[Finding]:
    found = []
    st = os.stat(directory)
    mode = stat.S_IMODE(st.st_mode)
    if not cachefile.owner_ok(st):
        found.append(
            Finding(
                PROBLEM,
                "cache",
                f"cache folder {directory} is writable by other users or "
                f"not yours (mode {mode:04o}): credproc does not use it",
                f"chmod 700 {directory}",
            )
        )
    elif hasattr(os, "geteuid") and mode & 0o077:
        found.append(
            Finding(
                PROBLEM,
                "cache",
                f"cache folder {directory} is open to other users (mode {mode:04o}, expected 0700)",
                f"chmod 700 {directory}",
            )
        )
    for name in sorted(os.listdir(directory)):
        if not name.endswith(cachefile.ENTRY_SUFFIX):
            continue
        file_st = os.lstat(os.path.join(directory, name))
        if not cachefile.file_ok(file_st) or stat.S_ISLNK(file_st.st_mode):
            found.append(
                Finding(
                    PROBLEM,
                    "cache",
                    f"cache entry {name} has mode "
                    f"{stat.S_IMODE(file_st.st_mode):04o} (expected 0600) and is ignored",
                    "run `credproc cache clear`",
                )
            )
    return found


def check_cache(world: World, profile: str) -> list[Finding]:
    directory = paths.cache_dir(world.environ, world.platform)
    if not os.path.isdir(directory):
        return [Finding(INFO, "cache", f"{directory} (not created yet: nothing cached)")]
    problems = _way_problems(world, directory) or _mode_problems(directory)
    if problems:
        return problems
    found = [Finding(OK, "cache", f"{directory} (mode 0700)")]
    now = world.clock()
    rows = cache_cmd.rows(Cache(directory), now, profile)
    if not rows:
        found.append(Finding(INFO, "cache", f"nothing cached for profile {profile!r}"))
    for row in rows:
        expires = format_expiration(datetime.fromtimestamp(row.expires, tz=timezone.utc))
        left = f"{row.minutes_left} min left" if row.expires > now else "expired"
        text = f"{row.kind} {row.source}: {row.label} — until {expires}, {left}"
        found.append(Finding(INFO, "cache", text))
    return found


def _chain(cfg: AwsConfig, profile: str) -> Iterator[str]:
    seen: set[str] = set()
    name: str | None = profile
    while name and name in cfg.profiles and name not in seen:
        seen.add(name)
        yield name
        name = _line(cfg.profiles[name], "source_profile")


def _line(section: config.Section, key: str) -> str | None:
    """A key's value, None for a nested block: the resolution finding already says what is wrong,
    and the other checks still run."""
    try:
        return get_str(section, key)
    except ConfigError:
        return None


def sso_token_path(environ: Mapping[str, str], cache_name: str) -> str:
    """The AWS CLI names a token file after the SHA-1 of the session name (or legacy start URL)."""
    from credproc.sources.sso import token_cache

    return token_cache.token_path(environ, cache_name)


def check_sso(world: World, cfg: AwsConfig, profile: str) -> list[Finding]:
    found = []
    for name in _chain(cfg, profile):
        section = cfg.profiles[name]
        session = _line(section, "sso_session")
        start_url = _line(section, "sso_start_url")
        if not session and not start_url:
            continue
        key = session or start_url or ""
        what = hoptree.sso_label({"sso_session": session or "", "sso_start_url": start_url or ""})
        found.append(_token_state(world, key, what, name))
    if not found and profile in cfg.profiles:  # a missing profile has its FAIL line already
        found.append(Finding(INFO, "sso", f"profile {profile!r} does not use IAM Identity Center"))
    return found


def _token_state(world: World, cache_id: str, what: str, profile: str) -> Finding:
    """Read through the SSO module's own reader, so doctor judges a token exactly as login does."""
    token = hoptree.token_state(world.environ, cache_id, world.clock())
    problem = hoptree.token_problem(token, what)
    if problem is not None:
        return Finding(PROBLEM, "sso", problem, f"run `credproc login --profile {profile}`")
    if token.state == hoptree.VALID:
        return Finding(OK, "sso", f"SSO token for {what}: valid, {token.minutes_left} min left")
    return Finding(
        WARN,
        "sso",
        f"SSO token for {what} expired; it has a refresh token, so the next "
        "use refreshes it without a browser",
    )


def check_keyring(world: World) -> list[Finding]:
    try:
        name = world.keyring_backend()
    except CredprocError as exc:  # refused: no keyring, or one that would keep secrets in plaintext
        return [
            Finding(
                WARN,
                "keyring",
                f"{exc.message}: `credproc keys` cannot store keys",
                "install a Secret Service (gnome-keyring, KeePassXC) or set PYTHON_KEYRING_BACKEND",
            )
        ]
    except Exception as exc:  # a broken backend raises anything; doctor reports, never crashes
        return [Finding(WARN, "keyring", f"no usable keyring backend ({type(exc).__name__})")]
    return [Finding(OK, "keyring", name)]


def check_container_shadow(world: World, cfg: AwsConfig) -> list[Finding]:
    endpoint = [v for v in CONTAINER_VARS if world.environ.get(v)]
    if not endpoint or world.environ.get("AWS_PROFILE") or world.environ.get("AWS_DEFAULT_PROFILE"):
        return []
    default = cfg.profiles.get("default", {})
    keys = [k for k in CREDENTIAL_KEYS if k in default]
    if not keys:
        return [Finding(OK, "container", f"{endpoint[0]} is set and no [default] profile competes with it")]
    return [
        Finding(
            PROBLEM,
            "container",
            f"{endpoint[0]} is set, but the [default] profile has {', '.join(keys)}: AWS SDKs use "
            "[default] first and never ask the container endpoint",
            "move those keys to a named profile, or run `credproc exec --server`, which hides them",
        )
    ]


def check_shell_credentials(world: World) -> list[Finding]:
    """Credentials a `credproc-use` (or `credproc env`) left in this shell's environment."""
    env = world.environ
    if not env.get("AWS_ACCESS_KEY_ID"):
        return []
    who = f"profile {env['CREDPROC_PROFILE']!r}" if env.get("CREDPROC_PROFILE") else "AWS_ACCESS_KEY_ID"
    found = []
    raw = env.get("AWS_CREDENTIAL_EXPIRATION")
    if raw:
        from credproc.credentials import parse_expiration

        try:
            left = parse_expiration(raw).timestamp() - world.clock()
        except CredprocError:
            left = None
        if left is not None and left <= 0:
            found.append(
                Finding(
                    WARN,
                    "environment",
                    f"this shell's credentials ({who}) expired {_minutes(-left)} min ago",
                    "run `credproc-use` again, or `credproc-clear`",
                )
            )
        elif left is not None:
            found.append(
                Finding(
                    INFO, "environment", f"this shell carries credentials of {who}, {_minutes(left)} min left"
                )
            )
    else:
        found.append(Finding(INFO, "environment", f"this shell carries credentials of {who}"))
    if env.get("AWS_PROFILE"):
        found.append(
            Finding(
                WARN,
                "environment",
                f"AWS_PROFILE={env['AWS_PROFILE']} is set, but SDKs use "
                "the keys in AWS_ACCESS_KEY_ID before any profile",
                "unset one of them (`credproc-clear` removes the keys)",
            )
        )
    return found


def check_clock(world: World, cfg: AwsConfig | None, profile: str) -> list[Finding]:
    if world.offline:
        return [Finding(INFO, "clock", "not checked (--offline)")]
    empty = AwsConfig(profiles={})
    region = aws.region_for(world.environ, cfg or empty, profile) or aws.DEFAULT_REGION
    url = (
        aws.endpoint_url(world.environ, cfg or empty, profile, "sts") or f"https://sts.{region}.amazonaws.com"
    )
    server = world.server_date(url, world.environ)
    if server is None:
        return [Finding(WARN, "clock", f"could not read the time from {url}", "check your network or proxy")]
    skew = world.clock() - server
    text = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} {url}"
    if abs(skew) > MAX_SKEW_SECONDS:
        return [
            Finding(
                PROBLEM,
                "clock",
                f"this machine's clock is {text}; AWS rejects requests signed more than 5 minutes off",
                "turn on time synchronisation (NTP)",
            )
        ]
    return [Finding(OK, "clock", text)]


def resolution_tree(world: World, cfg: AwsConfig, profile: str) -> hoptree.Tree:
    """The profile's hops, drawn from the resolution code itself (credproc.hoptree); local only."""
    directory: str | None = paths.cache_dir(world.environ, world.platform)
    if directory and os.path.isdir(directory) and not cachefile.trusted_dir(directory):
        directory = None  # credproc ignores such a folder: nothing in it counts as cached
    probe = hoptree.Probe(
        now=world.clock(),
        cache_dir=directory,
        refresh_window=cachefile.refresh_window(None, world.environ) or cachefile.DEFAULT_REFRESH_WINDOW,
        program_missing=lambda program: _missing_program(world, program),
        explain=lambda name, exc: _explain(cfg, name, exc),
    )
    return hoptree.build(_context(world, cfg), profile, probe)


def check_aws_cli(tree: hoptree.Tree) -> list[Finding]:
    """Which botocore provider the AWS CLI uses for the profile, and whether that runs credproc."""
    cli, name = tree.aws_cli, tree.profile
    if cli is None:
        return []
    if cli.provider is None and tree.root.kind is None:
        return [Finding(INFO, "aws cli", f"the AWS CLI gets no credentials from profile {name!r} either")]
    if cli.provider is None:
        return [
            Finding(
                INFO,
                "aws cli",
                f"the AWS CLI finds no credentials in profile {name!r}: only credproc reads its source",
                f"`credproc configure {name}` adds a credential_process line through which the AWS CLI "
                "and SDKs use credproc",
            )
        ]
    if cli.through_credproc:
        text = f"the AWS CLI runs credproc for profile {name!r} (botocore's {cli.provider} provider)"
    elif cli.stops_at is not None:
        stop = cli.stops_at
        return [
            Finding(
                INFO,
                "aws cli",
                f"the AWS CLI resolves profile {name!r} itself (botocore's {cli.provider} provider), but "
                f"finds no credentials in profile {stop!r}: only credproc reads its source",
                f"`credproc configure {stop}` adds a credential_process line through which the AWS CLI "
                "and SDKs use credproc",
            )
        ]
    else:
        text = (
            f"the AWS CLI resolves profile {name!r} itself (botocore's {cli.provider} provider, not credproc)"
        )
    return [Finding(INFO, "aws cli", text)]


def run(world: World, profile: str) -> Report:
    findings, cfg = check_files(world)
    tree = None
    if cfg is not None:
        findings += check_resolution(world, cfg, profile)
        tree = resolution_tree(world, cfg, profile)
        findings += check_aws_cli(tree)
        findings += check_credential_processes(world, cfg)
        findings += check_container_shadow(world, cfg)
        findings += check_sso(world, cfg, profile)
    findings += check_shell_credentials(world)
    findings += check_cache(world, profile)
    findings += check_keyring(world)
    findings += check_clock(world, cfg, profile)
    return Report(profile, tuple(_dedupe(findings)), tree)


def _dedupe(findings: list[Finding]) -> Iterator[Finding]:
    seen: set[str] = set()
    for f in findings:
        if f.level == PROBLEM and f.text in seen:
            continue
        seen.add(f.text)
        yield f


MARKS = {OK: "  ok  ", INFO: "      ", WARN: " warn ", PROBLEM: " FAIL "}


def render(report: Report) -> str:
    lines = [f"credproc doctor — profile {report.profile!r}"]
    for f in report.findings:
        lines.append(f"{MARKS[f.level]} {f.topic:<18} {f.text}")
        if f.hint:
            lines.append(f"{'':6} {'':<18} → {f.hint}")
    if report.tree is not None:
        lines += ["", "resolution tree:", *tree_lines(report.tree)]
    n = len(report.problems)
    lines.append("healthy" if not n else f"{n} problem{'s' if n != 1 else ''} found")
    # findings quote servers and files: no control character reaches the terminal, no forged line
    return "\n".join(safetext.printable(line) for line in lines) + "\n"


def tree_lines(tree: hoptree.Tree) -> list[str]:
    lines = [f"profile {tree.profile!r}"]
    _draw(tree.root, "", True, lines)
    return lines


def _draw(hop: hoptree.Hop, indent: str, last: bool, lines: list[str]) -> None:
    """One hop: its label and source, then what is known of it, then the hops it is built on."""
    lines.append(f"{indent}{'└─' if last else '├─'} {hop.label}{_what(hop)}")
    inner = indent + ("   " if last else "│  ")
    body = inner + ("│  " if hop.parents else "   ")
    lines += [body + line for line in _facts(hop)]
    for i, parent in enumerate(hop.parents):
        _draw(parent, inner, i == len(hop.parents) - 1, lines)


def _what(hop: hoptree.Hop) -> str:
    if hop.kind is None:
        return ""
    return f"  [{hop.kind}, profile {hop.profile!r}]" if hop.profile else f"  [{hop.kind}]"


def _facts(hop: hoptree.Hop) -> list[str]:
    # The label already names most of a hop; repeat only what it does not show as a word of its own.
    found = [f"{key}: {value}" for key, value in hop.details if not _shown_in(value, hop.label)]
    if hop.kind is not None:
        found.append(f"cache: {_cache_text(hop.cache)}")
    if hop.sso_token is not None:
        found.append(f"sso token: {_token_text(hop.sso_token)}")
    if hop.error is not None:
        found.append(f"FAIL: {hop.error.message}")
        if hop.error.hint:
            found.append(f"  → {hop.error.hint}")
    return found


def _shown_in(value: str, label: str) -> bool:
    import re

    return re.search(rf"(?<!\S){re.escape(value)}(?!\S)", label) is not None


def _until(expires: int) -> str:
    return format_expiration(datetime.fromtimestamp(expires, tz=timezone.utc))


def _cache_text(state: hoptree.CacheState | None) -> str:
    if state is None:
        return "unknown (the hops it is built on do not resolve)"
    if state.state == hoptree.UNUSABLE:
        return "unknown (credproc does not use the cache folder, see above)"
    if state.state == hoptree.NEVER:
        return "never (long-term keys are not written to disk)"
    if state.state == hoptree.NOT_CACHED or state.expires is None:
        return "nothing cached"
    if state.state == hoptree.EXPIRED:
        return f"expired at {_until(state.expires)}"
    refresh = "" if state.fresh else "; the next use refreshes it"
    return f"cached until {_until(state.expires)}, {state.minutes_left} min left{refresh}"


def _token_text(token: hoptree.TokenState) -> str:
    minutes = token.minutes_left
    if token.state == hoptree.VALID:
        return f"valid, {minutes} min left"
    if token.state == hoptree.REFRESHABLE:
        return "expired, refreshable without a browser"
    if token.state == hoptree.TOKEN_EXPIRED:
        return f"expired {-(minutes or 0)} min ago"
    return token.state  # missing or unreadable: the FAIL line below says where


# The version of the JSON form (`doctor --json`, described in the README): bumped only when a
# key changes meaning or goes away; new keys may appear without a bump.
JSON_VERSION = 1


def to_json(report: Report) -> str:
    tree = report.tree
    failing = tree.root.failing() if tree is not None else None
    data = {
        "version": JSON_VERSION,
        "profile": report.profile,
        "healthy": report.healthy,
        "problems": len(report.problems),
        "aws_cli": _json_aws_cli(tree.aws_cli) if tree is not None else None,
        "first_failure": _json_failure(failing),
        "tree": _json_hop(tree.root) if tree is not None else None,
        "findings": [
            {"level": f.level, "topic": f.topic, "text": f.text, "hint": f.hint} for f in report.findings
        ],
    }
    # ensure_ascii: a control or invisible character in a quoted file or server reply stays escaped
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def _json_aws_cli(cli: hoptree.AwsCli | None) -> dict[str, object] | None:
    if cli is None:
        return None
    return {"provider": cli.provider, "through_credproc": cli.through_credproc, "stops_at": cli.stops_at}


def _json_failure(hop: hoptree.Hop | None) -> dict[str, object] | None:
    if hop is None or hop.error is None:
        return None
    return {"profile": hop.profile, "label": hop.label, "message": hop.error.message, "hint": hop.error.hint}


def _json_hop(hop: hoptree.Hop) -> dict[str, object]:
    cache = hop.cache
    token = hop.sso_token
    return {
        "profile": hop.profile,
        "kind": hop.kind,
        "label": hop.label,
        "details": dict(hop.details),
        "cache": None
        if cache is None
        else {
            "state": cache.state,
            "expires": None if cache.expires is None else _until(cache.expires),
            "minutes_left": cache.minutes_left,
            "fresh": cache.fresh,
        },
        "sso_token": None
        if token is None
        else {"state": token.state, "path": token.path, "minutes_left": token.minutes_left},
        "error": None if hop.error is None else {"message": hop.error.message, "hint": hop.error.hint},
        "parents": [_json_hop(parent) for parent in hop.parents],
    }


@click.command("doctor")
@options.profile_option
@click.option("--offline", is_flag=True, help="Do not ask STS for the time (skips the clock check).")
@click.option(
    "--json", "as_json", is_flag=True, help="The same report as one JSON object (schema in the README)."
)
def command(profile: str | None, offline: bool, as_json: bool) -> None:
    """Explain how a profile resolves, what is cached, and what is wrong (exit 1 when anything is)."""
    environ = dict(os.environ)
    world = World(environ=environ, platform=sys.platform, offline=offline)
    report = run(world, selected_profile(profile, environ))
    output.payload(to_json(report) if as_json else render(report))
    if not report.healthy:
        n = len(report.problems)
        plural = "s" if n != 1 else ""
        where = 'the findings of level "problem"' if as_json else "the lines marked FAIL above"
        raise ConfigError(f"doctor found {n} problem{plural}", f"see {where}")
