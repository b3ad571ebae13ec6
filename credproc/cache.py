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
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from credproc import atomic, aws, cachedir, cachefile, paths
from credproc.cachekey import hop_key
from credproc.credentials import Credentials, from_process_dict
from credproc.errors import CredprocError, NeedsHumanError, UpstreamError
from credproc.lock import hold

# Cached credentials still valid for longer than this are served when a refresh fails (DESIGN.md).
STALE_FLOOR_SECONDS = 10 * 60
LOCK_TIMEOUT_SECONDS = 50.0
LOCK_SUFFIX = ".lock"
# A write's temporary file lives for milliseconds; one this old was left by a killed run, and it
# holds live keys: every later write and every clear removes it.
TEMP_MAX_AGE_SECONDS = 60


__all__ = ["Cache", "CachedItem", "EntryMeta", "NoCache", "entry_credentials", "hop_key"]


@dataclass(frozen=True)
class EntryMeta:
    """What `cache list`, `logout` and `keys` need to know of an entry (never a secret).

    ``kind``: "answer" (credential-process), "exec" or "hop" (one link of a chain); ``region``: the
    region exec gives its child (exec entries only)."""

    kind: str = ""
    profile: str = ""
    source: str = ""
    label: str = ""
    region: str | None = None

    def to_json(self) -> bytes:
        fields = {"kind": self.kind, "profile": self.profile, "source": self.source, "label": self.label}
        if self.region is not None:
            fields["region"] = self.region
        return json.dumps(fields, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> EntryMeta:
        """Whatever a file holds; anything unreadable is an empty record, never an error."""
        try:
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except (ValueError, RecursionError):  # a foreign writer's bytes; nested past the parser's depth
            return cls()
        if not isinstance(data, dict):
            return cls()
        text = {k: v for k, v in data.items() if isinstance(v, str)}
        return cls(
            text.get("kind", ""),
            text.get("profile", ""),
            text.get("source", ""),
            text.get("label", ""),
            text.get("region"),
        )


@dataclass(frozen=True)
class CachedItem:
    key: str
    entry: cachefile.Entry
    meta: EntryMeta

    @property
    def expires(self) -> int:
        return self.entry.expires


@dataclass
class Cache:
    directory: str
    refresh_window: float = cachefile.DEFAULT_REFRESH_WINDOW
    warn: Callable[[str], None] = field(default=lambda message: None)
    clock: Callable[[], float] = time.time
    encrypt: bool = False  # seal payloads with a keyring-held key (credproc.cache_crypto)

    # The folder's handle: given by ``open`` after its checks; opened (checked) on first use when
    # a Cache is made directly from a path.
    folder: cachedir.Folder | None = None

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
            return NoCache(refresh_window=refresh_window, warn=warn)
        directory = paths.cache_dir(environ, platform)
        try:
            folder = cachedir.open_or_create(directory, paths.home(environ))
        except cachedir.UnsafeFolder as exc:
            warn(
                f"cache folder {directory} is not used: {exc.why}; "
                f"continuing without a cache (fix: {exc.fix})"
            )
            return NoCache(refresh_window=refresh_window, warn=warn)
        except OSError as exc:
            warn(f"cache folder {directory} is unusable ({exc.strerror}); continuing without a cache")
            return NoCache(refresh_window=refresh_window, warn=warn)
        if folder.tightened is not None:
            mode = f"{folder.tightened:04o}"
            warn(f"cache folder {directory} was open to other users (mode {mode}); made it 0700")
        from credproc import cache_crypto

        return cls(directory, refresh_window, warn, encrypt=cache_crypto.enabled(environ), folder=folder)

    enabled = True

    def _folder(self) -> cachedir.Folder:
        if self.folder is None:
            self.folder = cachedir.open_or_create(self.directory, paths.home(os.environ))
        return self.folder

    def read(self, key: str) -> cachefile.Entry | None:
        try:
            entry = cachefile.read_entry(self._folder(), key)
        except OSError:
            return None
        if entry is None or not entry.deps_unchanged():
            return None
        if entry.payload.startswith(cachefile.SEALED):
            from credproc import cache_crypto

            plain = cache_crypto.unseal(key, entry.payload)
            if plain is None:
                return None
            return cachefile.Entry(plain, entry.expires, entry.issued, entry.deps, entry.meta)
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
        meta: EntryMeta,
        deps: Callable[[], Iterable[str]] = tuple,
    ) -> Credentials:
        """The cached answer for ``key`` if fresh, else one refresh (single-flight) via ``fetch``;
        with caching off, straight to ``fetch`` (no lock, no read, no write)."""
        if not self.enabled:
            return fetch()
        hit = self.fresh(key)
        if hit is not None:
            return hit
        try:
            lock, dir_fd = self._folder().at(key + LOCK_SUFFIX)
            # Inside a run's budget, wait no longer than the budget allows (aws.wait_limit).
            with hold(lock, aws.wait_limit(LOCK_TIMEOUT_SECONDS), dir_fd=dir_fd):
                return self._refresh_locked(key, fetch, meta, deps)
        except OSError as exc:  # the lock file itself could not be made: refresh unlocked
            self.warn(f"cache lock unavailable ({exc.strerror}); refreshing without it")
            return self._refresh_locked(key, fetch, meta, deps)
        except UpstreamError as exc:  # waited too long for a stuck refresher: stale beats nothing
            return self._stale_or_raise(self.read(key), self.clock(), exc)

    def _refresh_locked(
        self,
        key: str,
        fetch: Callable[[], Credentials],
        meta: EntryMeta,
        deps: Callable[[], Iterable[str]],
    ) -> Credentials:
        entry = self.read(key)
        now = self.clock()
        if entry is not None and entry.is_fresh(now, self.refresh_window):
            return entry_credentials(entry)
        try:
            creds = fetch()
        except (UpstreamError, NeedsHumanError) as exc:
            return self._stale_or_raise(entry, now, exc)
        self.store(key, creds, meta, deps())
        return creds

    def _stale_or_raise(self, entry: cachefile.Entry | None, now: float, exc: CredprocError) -> Credentials:
        """Stale-on-error: cached credentials still valid for long enough, with a warning."""
        if entry is not None and entry.expires - now > STALE_FLOOR_SECONDS:
            minutes = int((entry.expires - now) // 60)
            self.warn(
                f"refresh failed ({exc.message}); serving cached credentials valid for {minutes} more minutes"
            )
            return entry_credentials(entry)
        raise exc

    def store(self, key: str, creds: Credentials, meta: EntryMeta, deps: Iterable[str] = ()) -> None:
        """Write atomically. Long-term keys (no expiration) are never written to disk."""
        if creds.expiration is None:
            return
        payload = (creds.to_process_json() + "\n").encode()
        if self.encrypt:
            from credproc import cache_crypto

            try:
                payload = cache_crypto.seal(key, payload)
            except CredprocError as exc:  # never fall back to writing it in the clear
                self.warn(f"cache encryption unavailable ({exc.message}); credentials not cached")
                return
        try:
            data = cachefile.encode_entry(
                key, payload, int(creds.expiration.timestamp()), int(self.clock()), deps, meta.to_json()
            )
            folder = self._folder()
            # A new 0600 file; a symlink planted at the entry's name is replaced, never followed.
            atomic.write_in(folder, key + cachefile.ENTRY_SUFFIX, data, tag=key + ".")
        except OSError as exc:
            self.warn(f"could not write the cache ({exc.strerror}); credentials not cached")
            return
        self._sweep(lambda name, st: self._left_by_a_killed_run(st))

    def _left_by_a_killed_run(self, st: os.stat_result) -> bool:
        return st.st_mtime < self.clock() - TEMP_MAX_AGE_SECONDS

    def _sweep(self, doomed: Callable[[str, os.stat_result], bool]) -> None:
        """Remove the temporary files (never followed if links) for which ``doomed`` is true."""
        try:
            folder = self._folder()
            names = [n for n in folder.names() if n.startswith(atomic.TEMP_PREFIX)]
        except OSError:
            return
        for name in names:
            with contextlib.suppress(OSError):
                if doomed(name, folder.lstat(name)):
                    folder.unlink(name)

    def items(self) -> Iterator[CachedItem]:
        try:
            folder = self._folder()
            names = sorted(folder.names())
        except OSError:
            return
        for name in names:
            if not name.endswith(cachefile.ENTRY_SUFFIX):
                continue
            key = name[: -len(cachefile.ENTRY_SUFFIX)]
            entry = cachefile.read_entry(folder, key)
            if entry is not None:
                yield CachedItem(key, entry, EntryMeta.from_json(entry.meta))

    def remove(self, key: str) -> None:
        for suffix in (cachefile.ENTRY_SUFFIX, LOCK_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                self._folder().unlink(key + suffix)

    def clear(self, predicate: Callable[[CachedItem], bool] | None = None) -> int:
        """Remove matching entries (all with no predicate, stray lock files too), and the temporary
        files a killed run left: all with no predicate, else those of matching entries and any older
        than TEMP_MAX_AGE_SECONDS (a younger one may be a write in progress). Entries that are not
        whole entries of this format (torn, foreign, of an older credproc) are never served: any
        clear removes them too."""
        removed = 0
        for item in list(self.items()):
            if predicate is None or predicate(item):
                self.remove(item.key)
                removed += 1
        try:
            folder = self._folder()
            names = folder.names()
        except OSError:
            return removed
        for name in names:
            if name.endswith(cachefile.ENTRY_SUFFIX):
                unreadable = cachefile.read_entry(folder, name[: -len(cachefile.ENTRY_SUFFIX)]) is None
                if unreadable or predicate is None:
                    with contextlib.suppress(OSError):
                        folder.unlink(name)
            elif predicate is None and name.endswith(LOCK_SUFFIX):
                with contextlib.suppress(OSError):
                    folder.unlink(name)
        self._sweep(lambda name, st: predicate is None or self._temp_matches(name, st, predicate))
        return removed

    def _temp_matches(self, name: str, st: os.stat_result, predicate: Callable[[CachedItem], bool]) -> bool:
        """A temporary file is an entry written whole but never renamed, or part of one."""
        if self._left_by_a_killed_run(st):
            return True
        key = name[len(atomic.TEMP_PREFIX) :].rpartition(".")[0]
        entry = cachefile.read_file(self._folder(), name, key)
        return entry is not None and predicate(CachedItem(key, entry, EntryMeta.from_json(entry.meta)))


@dataclass
class NoCache(Cache):
    """Caching is off for this run (``--no-cache``, or a folder credproc may not use): every read
    misses, every write is dropped, every refresh goes straight to ``fetch``."""

    directory: str = ""
    enabled = False

    def read(self, key: str) -> cachefile.Entry | None:
        return None

    def store(self, key: str, creds: Credentials, meta: EntryMeta, deps: Iterable[str] = ()) -> None:
        return None

    def items(self) -> Iterator[CachedItem]:
        return iter(())

    def remove(self, key: str) -> None:
        return None

    def clear(self, predicate: Callable[[CachedItem], bool] | None = None) -> int:
        return 0


def entry_credentials(entry: cachefile.Entry) -> Credentials:
    try:
        data = json.loads(entry.payload)
    except (ValueError, RecursionError) as exc:  # checksum passed: only a foreign writer gets here
        raise CredprocError("cache entry unreadable; run `credproc cache clear`") from exc
    return from_process_dict(data, "cache entry")
