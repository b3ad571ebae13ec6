"""The interface every credential source implements, and the context they resolve in."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from credproc.cache import Cache
from credproc.config import AwsConfig
from credproc.credentials import Credentials

if TYPE_CHECKING:
    from credproc.terminal import Terminal


class Source(Protocol):
    """One way of getting credentials.

    ``identity`` is a string that is equal for two sources exactly when they would give the same
    answer; it names the cache entry (hashed) and feeds the identity of sources built on top of
    this one. ``cacheable`` is False for long-term keys, which are never written to disk.
    """

    @property
    def kind(self) -> str: ...

    @property
    def profile(self) -> str | None: ...

    @property
    def identity(self) -> str: ...

    @property
    def cacheable(self) -> bool: ...

    def fetch(self, ctx: Context) -> Credentials: ...

    def describe(self) -> list[str]: ...

    def deps(self) -> list[str]: ...


@dataclass
class Context:
    """Everything a resolution may read, injected so tests pass their own world."""

    environ: Mapping[str, str]
    config: AwsConfig
    cache: Cache
    terminal: Terminal
    warn: Callable[[str], None]
    clock: Callable[[], float] = time.time
    region: str | None = None  # --region: overrides every profile's region
    mfa_token: str | None = None
    auto_login: bool = False
    verify_ssl: bool = True
    stack: tuple[str, ...] = ()  # profiles being resolved, outermost first (loop detection)
    options: Mapping[str, Any] = field(default_factory=dict)  # source-specific command-line flags


def obtain(ctx: Context, source: Source) -> Credentials:
    """Fetch through the cache: one refresher per hop, stale-on-error (see ``Cache.obtain``)."""
    if not source.cacheable or not ctx.cache.enabled:
        return source.fetch(ctx)
    from credproc.cache import hop_key

    meta = {"kind": "hop", "profile": source.profile, "source": source.kind, "label": source.describe()[0]}
    return ctx.cache.obtain(hop_key(source.identity), lambda: source.fetch(ctx), meta, source.deps)
