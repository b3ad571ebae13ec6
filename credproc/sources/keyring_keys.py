"""Long-term keys kept in the OS keyring under the profile's name. Filled in by the keyring issue."""

from __future__ import annotations

from credproc.config import Section
from credproc.sources.base import Context, Source


def detect(ctx: Context, name: str, section: Section) -> Source | None:
    return None
