"""The options commands share, generated from credproc.flags, and the one builder of a Context.

Profile and sso-session names complete from the user's config files at completion time, through
click's public ``shell_complete=`` (credproc.config's reader; nothing when the files are unreadable).
Heavy modules (config, cache, the sources) are imported only when a command actually runs, so that
``--help`` and a completion TAB stay cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from credproc import flags

if TYPE_CHECKING:
    from credproc.sources.base import Context

F = TypeVar("F", bound=Callable[..., Any])
FORMAT_HELP = "Output format (default: guessed from the parent shell; powershell on Windows)."


def profile_names(environ: Mapping[str, str]) -> list[str]:
    """Profiles of the config and credentials files; none (never an error) when they are unreadable."""
    from credproc import config
    from credproc.errors import CredprocError

    try:
        return sorted(config.load(environ).profiles)
    except CredprocError:
        return []


def sso_session_names(environ: Mapping[str, str]) -> list[str]:
    from credproc import config
    from credproc.errors import CredprocError

    try:
        return sorted(config.load(environ).sso_sessions)
    except CredprocError:
        return []


def complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(n) for n in profile_names(os.environ) if n.startswith(incomplete)]


def complete_sso_sessions(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    return [CompletionItem(n) for n in sso_session_names(os.environ) if n.startswith(incomplete)]


COMPLETERS = {"profile": complete_profiles, "sso_session": complete_sso_sessions}


def _decorator(flag: flags.Flag) -> Callable[[F], F]:
    names = [flag.long, *([flag.short] if flag.short else []), flag.dest]
    if not flag.takes_value:
        return click.option(*names, is_flag=True, help=flag.help)
    return click.option(
        *names, metavar=flag.metavar, default=None, help=flag.help, shell_complete=COMPLETERS.get(flag.dest)
    )


def from_table(table: Sequence[flags.Flag]) -> Callable[[F], F]:
    """The click options of a flag table, in the table's (--help) order."""

    def decorate(f: F) -> F:
        for flag in reversed(table):
            f = _decorator(flag)(f)
        return f

    return decorate


def profile(help: str = flags.PROFILE.help) -> Callable[[F], F]:
    return _decorator(flags.Flag("--profile", help, short="-p", metavar="P"))


def sso_session(help: str, required: bool = False) -> Callable[[F], F]:
    return click.option(
        "--sso-session",
        metavar="S",
        default=None,
        required=required,
        help=help,
        shell_complete=complete_sso_sessions,
    )


profile_option = profile()
region_option = _decorator(flags.CHILD_REGION)
refresh_window_option = _decorator(flags.CHILD_REFRESH_WINDOW)
resolving_options = from_table(flags.RESOLVING)  # --no-cache, --mfa-token, --auto-login


def format_option(f: F) -> F:
    from credproc import render

    return click.option(
        "--format", "-f", "fmt", type=click.Choice(render.FORMATS), default=None, help=FORMAT_HELP
    )(f)


def parse_window(raw: str | None, environ: Mapping[str, str]) -> float:
    from credproc import cachefile
    from credproc.errors import UsageError

    window = cachefile.refresh_window(raw, environ)
    if window is None:
        raise UsageError(
            f"--refresh-window / CREDPROC_REFRESH_WINDOW must be a number of seconds >= 0, got {raw!r}"
        )
    return window


def make_context(
    environ: Mapping[str, str] | None = None,
    *,
    no_cache: bool = False,
    refresh_window: str | None = None,
    **fields: Any,
) -> Context:
    """The one place a resolution Context is built (from the command's options and the env)."""
    from credproc import config, output
    from credproc.cache import Cache
    from credproc.sources.base import Context
    from credproc.sources.process import guard_stack
    from credproc.terminal import Terminal

    env = dict(os.environ if environ is None else environ)
    window = parse_window(refresh_window, env)
    cache = Cache.open(env, window, output.warn, enabled=not no_cache)
    return Context(
        environ=env,
        config=config.load(env),
        cache=cache,
        terminal=Terminal(),
        warn=output.warn,
        stack=guard_stack(env),
        **fields,
    )


def output_format(given: str | None, environ: Mapping[str, str]) -> str:
    """``--format`` as given, else guessed from the parent shell (powershell on Windows)."""
    from credproc import render
    from credproc.platform import is_windows

    if given is not None:
        return given
    return render.guess_format(render.parent_program(), environ, is_windows())
