"""``credproc exec``: run a command with credentials in its environment, or behind the loopback endpoint."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import click

from credproc import envbuild, flags, launch, options
from credproc.cache import EntryMeta
from credproc.credentials import Credentials
from credproc.errors import CredprocError, Interrupted, LaunchError
from credproc.platform import is_windows
from credproc.profiles import selected_profile
from credproc.resolve import resolve_profile
from credproc.sources.base import Context

MAX_TTL_VAR = "CREDPROC_SERVER_MAX_TTL"
USAGE = "usage: credproc exec [--profile P] [--server] [--region R] -- CMD [ARGS...]"


@contextlib.contextmanager
def before_launch() -> Iterator[None]:
    """Any failure of credproc itself before the child starts exits 125, so that a script can
    tell it from the child's own 1, 2 or 3 (the convention of env(1), nohup and timeout)."""
    try:
        yield
    except (LaunchError, Interrupted):
        raise
    except CredprocError as exc:
        raise LaunchError(exc.message, launch.FAILED, exc.hint) from None
    except Exception as exc:  # a bug still happened before launch: 125, never the child's 70
        raise LaunchError(
            f"unexpected {type(exc).__name__}",
            launch.FAILED,
            "run again with --debug and report the traceback",
        ) from exc


@dataclass(frozen=True)
class ExecRequest:
    profile: str
    argv: tuple[str, ...]
    use_server: bool
    windows: bool


def program_name(command: str, windows: bool) -> str:
    base = command.replace("\\", "/").rsplit("/", 1)[-1]
    if windows:
        base = base.lower()
        for suffix in (".exe", ".cmd", ".bat", ".com"):
            if base.endswith(suffix):
                return base[: -len(suffix)]
    return base


def dapr_warning(command: str, creds: Credentials, now: float, windows: bool) -> str | None:
    """daprd reads env credentials once; when they expire its AWS components fail for good."""
    if program_name(command, windows) not in launch.DAPR_PROGRAMS:
        return None
    left = creds.seconds_left(now)
    if left is None:
        return None
    minutes = max(0, int(left // 60))
    return (
        f"{program_name(command, windows)} never re-reads credentials from its environment; they expire in "
        f"{minutes} minutes and its AWS components will then fail. Use `credproc exec --server -- ...` "
        "to serve it credentials that stay fresh"
    )


def max_ttl(environ: Mapping[str, str]) -> float | None:
    from credproc import durations

    raw = environ.get(MAX_TTL_VAR)
    if not raw:
        return None
    value = durations.seconds(raw, minimum=0, inclusive=False)
    if value is None:
        raise LaunchError(f"{MAX_TTL_VAR} must be a positive number of seconds, got {raw!r}")
    return value


def resolve_for_keys(ctx: Context, profile: str) -> Credentials:
    """Resolve through the cache, and keep the answer with the child's region where
    ``credproc.exec_fast`` finds it next time without parsing a config file."""
    from credproc import aws, cachekey
    from credproc.resolve import build_source, resolve_source

    source = build_source(ctx, profile)
    region = aws.region_for(ctx.environ, ctx.config, profile, ctx.region)
    if not ctx.cache.enabled or not source.cacheable:  # long-term keys never go to disk
        return resolve_source(ctx, profile, source)
    key = cachekey.exec_key(profile, ctx.region, ctx.environ)
    meta = EntryMeta(
        kind="exec", profile=profile, source=source.kind, label=source.describe()[0], region=region
    )
    creds = ctx.cache.obtain(key, lambda: resolve_source(ctx, profile, source), meta, source.deps)
    return creds.with_region(region)


def find(command: str, environ: Mapping[str, str], windows: bool) -> str:
    return launch.find_windows(command, environ) if windows else launch.find_posix(command, environ)


def run(ctx: Context, request: ExecRequest, base_env: Mapping[str, str]) -> int:
    """Resolve, build the child's env, launch. Returns the child's status (POSIX keys mode: never
    returns, credproc becomes the child)."""
    if not request.argv:
        raise LaunchError("no command given", launch.FAILED, USAGE)
    command = request.argv[0]
    with before_launch():
        path = find(command, base_env, request.windows)
        if request.use_server:
            from credproc import hardening

            hardening.no_core_dumps()  # it keeps keys and the bearer token for the child's lifetime
            ttl = max_ttl(ctx.environ)
            return _run_with_server(ctx, request, base_env, path, resolve_profile(ctx, request.profile), ttl)
        creds = resolve_for_keys(ctx, request.profile)
        warning = dapr_warning(command, creds, ctx.clock(), request.windows)
        if warning:
            ctx.warn(warning)
        env = envbuild.for_keys(creds, request.profile).apply(base_env)
    if request.windows:
        return launch.spawn_and_wait(path, request.argv, env, windows=True)
    launch.exec_posix(path, request.argv, env)


def _run_with_server(
    ctx: Context,
    request: ExecRequest,
    base_env: Mapping[str, str],
    path: str,
    creds: Credentials,
    ttl: float | None,
) -> int:
    from credproc import server  # http.server costs milliseconds that keys mode need not pay

    def provider() -> Credentials:
        return resolve_profile(ctx, request.profile)

    with before_launch(), server.start(provider, warn=ctx.warn, max_ttl=ttl) as running:
        changes = envbuild.for_server(running.endpoint, request.profile, creds.region)
        env = changes.apply(base_env)
        return launch.spawn_and_wait(path, request.argv, env, windows=request.windows)


class _ExecCommand(click.Command):
    """Usage errors of exec exit 125 like its other failures, never a code the child could return."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise LaunchError(exc.format_message(), 125, USAGE) from None


@click.command("exec", cls=_ExecCommand, context_settings={"allow_interspersed_args": False})
@options.from_table(flags.EXEC)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="-- CMD [ARGS]...")
def command(profile: str | None, use_server: bool, command: tuple[str, ...], **resolving: Any) -> int:
    """Run CMD with credentials injected. Exits with CMD's status; 125 when credproc fails,
    126 when CMD cannot run, 127 when it is not found."""
    # resolving: --region, --refresh-window, --no-cache, --mfa-token, --auto-login, as make_context takes them
    environ = dict(os.environ)
    with before_launch():
        ctx = options.make_context(environ, **resolving)
    request = ExecRequest(selected_profile(profile, environ), command, use_server, is_windows())
    return run(ctx, request, environ)
