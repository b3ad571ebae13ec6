"""``credproc serve``: the loopback container-credentials endpoint on its own."""

from __future__ import annotations

import os
import signal
import threading

import click

from credproc import envbuild, flags, hardening, launch, options, output, render, server
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


def serve_imds(port: int | None, hop_limit: int | None, region: str | None, given: dict[str, str]) -> None:
    """aws_signing_helper's serve: the IMDSv2 shape on 127.0.0.1, from the helper's flags."""
    from credproc import aws, imds
    from credproc.sources.rolesanywhere.arns import ROLE_ARN
    from credproc.sources.rolesanywhere.source import from_flags

    role_arn = given.get("role_arn", "")
    if not ROLE_ARN.match(role_arn):
        raise UsageError(
            f"invalid role ARN {role_arn!r}: serve needs --role-arn (its name is the IMDS role name)"
        )
    hardening.no_core_dumps()
    ctx = options.make_context(
        dict(os.environ), no_cache=True, region=region, verify_ssl="no_verify_ssl" not in given
    )
    source = from_flags(ctx, given)
    assert source is not None  # noqa: S101 - role_arn and a core flag were given

    def provider() -> Credentials:
        with aws.budget():
            return source.fetch(ctx)

    provider()  # a broken identity fails now, not at the first request
    limit = imds.DEFAULT_HOP_LIMIT if hop_limit is None else hop_limit
    running = imds.ImdsServer(
        imds.DEFAULT_PORT if port is None else port, limit, role_arn.rsplit("/", 1)[-1], provider
    )
    real = running.server_address[1]
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    launch.start_without_signals(thread)  # Ctrl+C and SIGTERM must reach the main thread's wait
    stop = stop_on_signals()
    output.info(f"Local server started on port: {real}")
    output.info("Make it available to the sdk by running:")
    output.info(f"export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:{real}/")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        running.shutdown()
        running.server_close()


@click.command("serve")
@options.profile_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port on 127.0.0.1 (0: any free port; default 0, or 9911 in IMDS mode).",
)
@options.format_option
@options.region_option
@options.refresh_window_option
@options.from_table((*flags.ROLES_ANYWHERE, *flags.RA_TAIL[1:], flags.NO_VERIFY_SSL, *flags.RA_DEVICES))
@click.option("--hop-limit", type=click.IntRange(1, 255), default=None, help=flags.HOP_LIMIT.help)
@options.resolving_options
def command(
    profile: str | None,
    port: int | None,
    fmt: str | None,
    region: str | None,
    refresh_window: str | None,
    hop_limit: int | None,
    no_cache: bool,
    mfa_token: str | None,
    auto_login: bool,
    **ra: object,
) -> None:
    """Serve the container-credentials endpoint until interrupted; prints the variables to set.

    With aws_signing_helper's flags (--certificate, --role-arn... or --hop-limit), serve its IMDSv2
    shape instead (default port 9911), for tools that only speak the instance metadata service.
    """
    given = {k: ("1" if v is True else str(v)) for k, v in ra.items() if v not in (None, False)}
    if given or hop_limit is not None:
        return serve_imds(port, hop_limit, region, given)
    port = 0 if port is None else port
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
