"""The disk cache: atomic entries, one refresher per key, stale-on-error.

Reads never lock (writes are atomic replaces). A refresh takes the key's lock, re-reads the entry
(someone may have refreshed while we waited), and only then calls upstream. Anything wrong with
the cache itself (an unwritable folder, a full disk, a corrupt file) degrades to "no cache" with a
warning; it never fails the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from credproc import fastpath, paths
from credproc.credentials import Credentials, from_process_dict
from credproc.errors import CredprocError, NeedsHumanError, UpstreamError
from credproc.lock import hold

# Cached credentials still valid for longer than this are served when a refresh fails (DESIGN.md).
STALE_FLOOR_SECONDS = 10 * 60
LOCK_TIMEOUT_SECONDS = 50.0
LOCK_SUFFIX = ".lock"


@dataclass(frozen=True)
class CachedItem:
    key: str
    entry: fastpath.Entry
    meta: Mapping[str, object]

    @property
    def expires(self) -> int:
        return self.entry.expires


def _decode_meta(raw: bytes) -> dict[str, object]:
    try:
        meta = json.loads(raw.decode("utf-8")) if raw else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return meta if isinstance(meta, dict) else {}


@dataclass
class Cache:
    directory: str | None  # None: caching is off for this run (disabled or unusable)
    refresh_window: float = fastpath.DEFAULT_REFRESH_WINDOW
    warn: Callable[[str], None] = field(default=lambda message: None)
    clock: Callable[[], float] = time.time
    encrypt: bool = False  # seal payloads with a keyring-held key (credproc.cache_crypto)

    @classmethod
    def open(
        cls,
        environ: Mapping[str, str],
        refresh_window: float,
        warn: Callable[[str], None],
        platform: str = sys.platform,
        enabled: bool = True,
    ) -> Cache:
        if not enabled:
            return cls(None, refresh_window, warn)
        directory = paths.cache_dir(environ, platform)
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            warn(f"cache folder {directory} is unusable ({exc.strerror}); continuing without a cache")
            return cls(None, refresh_window, warn)
        if not fastpath.trusted_dir(directory):
            warn(
                f"cache folder {directory} is writable by other users or not yours; "
                "continuing without a cache (fix: chmod 700 it, or remove it)"
            )
            return cls(None, refresh_window, warn)
        from credproc import cache_crypto

        return cls(directory, refresh_window, warn, encrypt=cache_crypto.enabled(environ))

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def _path(self, key: str, suffix: str) -> str:
        return os.path.join(self.directory or "", key + suffix)

    def read(self, key: str) -> fastpath.Entry | None:
        if self.directory is None:
            return None
        entry = fastpath.read_entry(self.directory, key)
        if entry is None or not entry.deps_unchanged():
            return None
        if entry.payload.startswith(fastpath.SEALED):
            from credproc import cache_crypto

            plain = cache_crypto.unseal(key, entry.payload)
            if plain is None:
                return None
            return fastpath.Entry(plain, entry.expires, entry.issued, entry.deps, entry.meta)
        if self.encrypt:  # written before encryption was turned on: refresh it sealed
            return None
        return entry

    def fresh(self, key: str) -> Credentials | None:
        entry = self.read(key)
        if entry is not None and entry.is_fresh(self.clock(), self.refresh_window):
            return entry_credentials(entry)
        return None

    def obtain(
        self,
        key: str,
        fetch: Callable[[], Credentials],
        meta: Mapping[str, object],
        deps: Callable[[], Iterable[str]] = tuple,
    ) -> Credentials:
        """The cached answer for ``key`` if fresh, else one refresh (single-flight) via ``fetch``."""
        if self.directory is None:
            return fetch()
        hit = self.fresh(key)
        if hit is not None:
            return hit
        try:
            with hold(self._path(key, LOCK_SUFFIX), LOCK_TIMEOUT_SECONDS):
                return self._refresh_locked(key, fetch, meta, deps)
        except OSError as exc:  # the lock file itself could not be made: refresh unlocked
            self.warn(f"cache lock unavailable ({exc.strerror}); refreshing without it")
            return self._refresh_locked(key, fetch, meta, deps)

    def _refresh_locked(
        self,
        key: str,
        fetch: Callable[[], Credentials],
        meta: Mapping[str, object],
        deps: Callable[[], Iterable[str]],
    ) -> Credentials:
        entry = self.read(key)
        now = self.clock()
        if entry is not None and entry.is_fresh(now, self.refresh_window):
            return entry_credentials(entry)
        try:
            creds = fetch()
        except (UpstreamError, NeedsHumanError) as exc:
            if entry is not None and entry.expires - now > STALE_FLOOR_SECONDS:
                minutes = int((entry.expires - now) // 60)
                self.warn(
                    f"refresh failed ({exc.message}); serving cached credentials "
                    f"valid for {minutes} more minutes"
                )
                return entry_credentials(entry)
            raise
        self.store(key, creds, meta, deps())
        return creds

    def store(
        self, key: str, creds: Credentials, meta: Mapping[str, object], deps: Iterable[str] = ()
    ) -> None:
        """Write atomically. Long-term keys (no expiration) are never written to disk."""
        if self.directory is None or creds.expiration is None:
            return
        payload = (creds.to_process_json() + "\n").encode()
        if self.encrypt:
            from credproc import cache_crypto

            try:
                payload = cache_crypto.seal(key, payload)
            except CredprocError as exc:  # never fall back to writing it in the clear
                self.warn(f"cache encryption unavailable ({exc.message}); credentials not cached")
                return
        meta_bytes = json.dumps(dict(meta), sort_keys=True).encode()
        try:
            data = fastpath.encode_entry(
                payload, int(creds.expiration.timestamp()), int(self.clock()), deps, meta_bytes
            )
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)  # created 0600
        except OSError as exc:
            self.warn(f"could not write the cache ({exc.strerror}); credentials not cached")
            return
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._path(key, fastpath.ENTRY_SUFFIX))
        except OSError as exc:
            self.warn(f"could not write the cache ({exc.strerror}); credentials not cached")
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def items(self) -> Iterator[CachedItem]:
        if self.directory is None:
            return
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return
        for name in names:
            if not name.endswith(fastpath.ENTRY_SUFFIX):
                continue
            key = name[: -len(fastpath.ENTRY_SUFFIX)]
            entry = fastpath.read_entry(self.directory, key)
            if entry is not None:
                yield CachedItem(key, entry, _decode_meta(entry.meta))

    def remove(self, key: str) -> None:
        if self.directory is None:
            return
        for suffix in (fastpath.ENTRY_SUFFIX, LOCK_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(key, suffix))

    def clear(self, predicate: Callable[[CachedItem], bool] | None = None) -> int:
        """Remove matching entries (all with no predicate, stray temp and lock files too)."""
        if self.directory is None:
            return 0
        removed = 0
        for item in list(self.items()):
            if predicate is None or predicate(item):
                self.remove(item.key)
                removed += 1
        if predicate is None:
            for name in os.listdir(self.directory):
                if name.startswith(".tmp-") or name.endswith((fastpath.ENTRY_SUFFIX, LOCK_SUFFIX)):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(self.directory, name))
        return removed


def entry_credentials(entry: fastpath.Entry) -> Credentials:
    try:
        data = json.loads(entry.payload)
    except ValueError as exc:  # checksum passed, so only a foreign writer gets here
        raise CredprocError("cache entry unreadable; run `credproc cache clear`") from exc
    return from_process_dict(data, "cache entry")


def hop_key(identity: str) -> str:
    """The key of one hop of a chain, from the hop's identity string (hashed: ARNs stay private)."""
    from _blake2 import blake2b

    from credproc import __version__

    material = f"{__version__}\0{identity}".encode()
    return "h-" + blake2b(material, digest_size=20, person=b"credproc-hop").hexdigest()
