"""``credproc cache list|clear``: what is cached, never a secret."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass

import click

from credproc import options, output
from credproc.cache import Cache, CachedItem
from credproc.credentials import format_expiration
from credproc.errors import UsageError

PROFILE_HELP = "Only this profile's entries."


@dataclass(frozen=True)
class Row:
    profile: str
    kind: str
    source: str
    label: str
    expires: int
    minutes_left: int


def rows(cache: Cache, now: float, profile: str | None = None) -> list[Row]:
    found = []
    for item in cache.items():
        if profile is not None and item.meta.profile != profile:
            continue
        found.append(
            Row(
                profile=item.meta.profile or "-",
                kind=item.meta.kind or "?",
                source=item.meta.source or "?",
                label=item.meta.label,
                expires=item.expires,
                minutes_left=_minutes_left(item.expires - now),
            )
        )
    return sorted(found, key=lambda r: (r.profile, r.kind, r.expires))


def clear(cache: Cache, profile: str | None = None) -> int:
    if profile is None:
        return cache.clear()

    def matches(item: CachedItem) -> bool:
        return item.meta.profile == profile

    return cache.clear(matches)


def _open() -> Cache:
    return Cache.open(dict(os.environ), 0, output.warn)


def table(found: list[Row]) -> str:
    from datetime import datetime, timezone

    lines = [f"{'PROFILE':<24} {'KIND':<6} {'SOURCE':<18} {'EXPIRES (UTC)':<20} {'LEFT':>6}  WHAT"]
    for r in found:
        expires = format_expiration(datetime.fromtimestamp(r.expires, tz=timezone.utc))
        left = f"{r.minutes_left}m" if r.minutes_left >= 0 else "expired"
        lines.append(f"{r.profile:<24} {r.kind:<6} {r.source:<18} {expires:<20} {left:>6}  {r.label}")
    return "\n".join(lines)


@click.group("cache")
def command() -> None:
    """Show or remove cached credentials (never printing secrets)."""


@command.command("list")
@options.profile(PROFILE_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_cmd(profile: str | None, as_json: bool) -> None:
    """List cached credentials: profile, source, expiry and minutes left."""
    found = rows(_open(), time.time(), profile)
    if as_json:
        output.payload("".join(json.dumps(asdict(r)) + "\n" for r in found))
        return
    if not found:
        output.info("the cache is empty")
        return
    output.payload(table(found))


@command.command("clear")
@options.profile(PROFILE_HELP)
def clear_cmd(profile: str | None) -> None:
    """Remove cached credentials (all, or one profile's)."""
    cache = _open()
    if not cache.enabled:
        raise UsageError("the cache folder is unusable; nothing to clear")
    removed = clear(cache, profile)
    output.info(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}")


def _minutes_left(seconds: float) -> int:
    from credproc.credentials import minutes_left

    return minutes_left(seconds)
