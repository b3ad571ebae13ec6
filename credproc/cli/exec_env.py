"""``credproc exec``, ``env`` and ``serve``."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import click

from credproc import output, render
from credproc.cli.common import make_context, profile_name, profile_option
from credproc.cli.main import cli
from credproc.commands import env as env_cmd
from credproc.commands import exec as exec_cmd
from credproc.errors import LaunchError, UsageError
from credproc.platform import is_windows

WINDOW_HELP = "Refresh upstream when fewer seconds than this remain (also CREDPROC_REFRESH_WINDOW)."


def refresh_window_option(f: Any) -> Any:
    return click.option("--refresh-window", metavar="SECONDS", default=None, help=WINDOW_HELP)(f)


def region_option(f: Any) -> Any:
    help_text = "Region to set as AWS_REGION and AWS_DEFAULT_REGION (default: the profile's)."
    return click.option("--region", metavar="R", default=None, help=help_text)(f)


class _ExecCommand(click.Command):
    """Usage errors of exec exit 125 like its other failures, never a code the child could return."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise LaunchError(exc.format_message(), 125, exec_cmd.USAGE) from None


@cli.command("exec", cls=_ExecCommand, context_settings={"allow_interspersed_args": False})
@profile_option
@click.option("--server", "use_server", is_flag=True,
              help="Serve credentials on a loopback endpoint (kept fresh) instead of env keys.")
@region_option
@refresh_window_option
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="-- CMD [ARGS]...")
def exec_command(profile: str | None, use_server: bool, region: str | None, refresh_window: str | None,
                 command: tuple[str, ...]) -> int:
    """Run CMD with credentials injected. Exits with CMD's status; 125 when credproc fails,
    126 when CMD cannot run, 127 when it is not found."""
    environ = dict(os.environ)
    with exec_cmd.before_launch():
        ctx = make_context(environ, refresh_window=refresh_window, region=region)
    request = exec_cmd.ExecRequest(profile_name(profile, environ), command, use_server, is_windows())
    return exec_cmd.run(ctx, request, environ)


def _format(given: str | None, environ: dict[str, str]) -> str:
    if given is not None:
        return given
    return render.guess_format(render.parent_program(), environ, is_windows())


format_option = click.option(
    "--format", "-f", "fmt", type=click.Choice(render.FORMATS), default=None,
    help="Output format (default: guessed from the parent shell; powershell on Windows).",
)


@cli.command("env")
@profile_option
@format_option
@click.option("--unset", is_flag=True, help="Print statements that clear the variables instead.")
@region_option
@refresh_window_option
def env_command(profile: str | None, fmt: str | None, unset: bool, region: str | None,
                refresh_window: str | None) -> None:
    """Print statements that set the credentials in your shell: eval "$(credproc env)"."""
    environ = dict(os.environ)
    chosen = _format(fmt, environ)
    ctx = None if unset else make_context(environ, refresh_window=refresh_window, region=region)
    output.payload(env_cmd.run(ctx, profile_name(profile, environ), chosen, unset))


@cli.command("serve")
@profile_option
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@format_option
@region_option
@refresh_window_option
def serve_command(profile: str | None, port: int, fmt: str | None, region: str | None,
                  refresh_window: str | None) -> None:
    """Serve the container-credentials endpoint until interrupted; prints the variables to set."""
    environ = dict(os.environ)
    chosen = _format(fmt, environ)
    if chosen == "dotenv":
        raise UsageError("serve cannot print dotenv (it must also unset variables); choose another --format")
    from credproc.commands import serve as serve_cmd  # http.server: only this command pays for it

    ctx = make_context(environ, refresh_window=refresh_window, region=region)
    name = profile_name(profile, environ)
    running, changes = serve_cmd.start(ctx, name, port, exec_cmd.max_ttl(environ))
    with running:
        stop = _stop_on_signals()  # before printing: a caller may signal as soon as it reads them
        output.payload(render.render(changes, chosen))
        output.info(f"serving profile {name!r} on {running.endpoint.url}; Ctrl+C stops")
        while not stop.wait(0.5):
            pass


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for signame in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"):
        signum = getattr(signal, signame, None)
        if signum is not None:
            signal.signal(signum, handler)
    return stop
