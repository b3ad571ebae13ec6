"""``credproc cache list|clear``."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict

import click

from credproc import output
from credproc.cache import Cache
from credproc.cli.main import cli
from credproc.commands import cache as cache_cmd
from credproc.credentials import format_expiration
from credproc.errors import UsageError


@cli.group("cache")
def cache_group() -> None:
    """Show or remove cached credentials (never printing secrets)."""


def _open() -> Cache:
    return Cache.open(dict(os.environ), 0, output.warn)


@cache_group.command("list")
@click.option("--profile", "-p", metavar="P", default=None, help="Only this profile's entries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_cmd(profile: str | None, as_json: bool) -> None:
    """List cached credentials: profile, source, expiry and minutes left."""
    from datetime import datetime, timezone

    rows = cache_cmd.rows(_open(), time.time(), profile)
    if as_json:
        output.payload("".join(json.dumps(asdict(r)) + "\n" for r in rows))
        return
    if not rows:
        output.info("the cache is empty")
        return
    lines = [f"{'PROFILE':<24} {'KIND':<6} {'SOURCE':<18} {'EXPIRES (UTC)':<20} {'LEFT':>6}  WHAT"]
    for r in rows:
        expires = format_expiration(datetime.fromtimestamp(r.expires, tz=timezone.utc))
        left = f"{r.minutes_left}m" if r.minutes_left >= 0 else "expired"
        lines.append(f"{r.profile:<24} {r.kind:<6} {r.source:<18} {expires:<20} {left:>6}  {r.label}")
    output.payload("\n".join(lines))


@cache_group.command("clear")
@click.option("--profile", "-p", metavar="P", default=None, help="Only this profile's entries.")
def clear_cmd(profile: str | None) -> None:
    """Remove cached credentials (all, or one profile's)."""
    cache = _open()
    if not cache.enabled:
        raise UsageError("the cache folder is unusable; nothing to clear")
    removed = cache_cmd.clear(cache, profile)
    output.info(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}")
