"""``cache list`` and ``cache clear``: what is cached, never a secret."""

from __future__ import annotations

from dataclasses import dataclass

from credproc.cache import Cache, CachedItem


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
                minutes_left=int((item.expires - now) // 60),
            )
        )
    return sorted(found, key=lambda r: (r.profile, r.kind, r.expires))


def clear(cache: Cache, profile: str | None = None) -> int:
    if profile is None:
        return cache.clear()

    def matches(item: CachedItem) -> bool:
        return item.meta.profile == profile

    return cache.clear(matches)
