"""``serve``: the loopback container-credentials endpoint on its own."""

from __future__ import annotations

from credproc import envbuild, server
from credproc.credentials import Credentials
from credproc.resolve import resolve_profile
from credproc.sources.base import Context


def start(ctx: Context, profile: str, port: int, max_ttl: float | None) -> tuple[server.RunningServer,
                                                                                 envbuild.EnvChanges]:
    """Resolve once (so a broken profile fails now, not at the first request), then listen."""
    creds = resolve_profile(ctx, profile)

    def provider() -> Credentials:
        return resolve_profile(ctx, profile)

    running = server.start(provider, port, warn=ctx.warn, max_ttl=max_ttl)
    return running, envbuild.for_server(running.endpoint, profile, creds.region)
