"""``credproc serve``: the loopback container-credentials endpoint on its own."""

from __future__ import annotations

import os
import signal
import threading

import click

from credproc import envbuild, hardening, options, output, render, server
from credproc.commands.exec import max_ttl
from credproc.credentials import Credentials
from credproc.errors import UsageError
from credproc.profiles import selected_profile
from credproc.resolve import resolve_profile
from credproc.sources.base import Context

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")


def start(
    ctx: Context, profile: str, port: int, max_ttl: float | None
) -> tuple[server.RunningServer, envbuild.EnvChanges]:
    """Resolve once (so a broken profile fails now, not at the first request), then listen."""
    hardening.no_core_dumps()  # it holds keys and the bearer token for as long as it serves
    creds = resolve_profile(ctx, profile)

    def provider() -> Credentials:
        return resolve_profile(ctx, profile)

    running = server.start(provider, port, warn=ctx.warn, max_ttl=max_ttl)
    return running, envbuild.for_server(running.endpoint, profile, creds.region)


def stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for signame in STOP_SIGNALS:
        signum = getattr(signal, signame, None)
        if signum is not None:
            signal.signal(signum, handler)
    return stop


@click.command("serve")
@options.profile_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@options.format_option
@options.region_option
@options.refresh_window_option
@options.resolving_options
def command(
    profile: str | None,
    port: int,
    fmt: str | None,
    region: str | None,
    refresh_window: str | None,
    no_cache: bool,
    mfa_token: str | None,
    auto_login: bool,
) -> None:
    """Serve the container-credentials endpoint until interrupted; prints the variables to set."""
    environ = dict(os.environ)
    chosen = options.output_format(fmt, environ)
    if chosen == "dotenv":
        raise UsageError("serve cannot print dotenv (it must also unset variables); choose another --format")
    ctx = options.make_context(
        environ,
        no_cache=no_cache,
        refresh_window=refresh_window,
        region=region,
        mfa_token=mfa_token,
        auto_login=auto_login,
    )
    name = selected_profile(profile, environ)
    running, changes = start(ctx, name, port, max_ttl(environ))
    with running:
        stop = stop_on_signals()  # before printing: a caller may signal as soon as it reads them
        output.payload(render.render(changes, chosen))
        output.info(f"serving profile {name!r} on {running.endpoint.url}; Ctrl+C stops")
        while not stop.wait(0.5):
            pass
