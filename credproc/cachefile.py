"""The cache entry format: one file per answer, written by credproc.cache, read on every hit.

Stdlib only, cheap to import (builtin ``os`` and ``_blake2``): the fast paths read entries with it
before click, json or hashlib are loaded.

Entry file layout (bytes)::

    credproc-cache/2 <expires> <issued> <payload_len> <deps_len> <checksum>\\n
    <payload: the credential_process JSON line, printed as is on a hit>
    <deps: "<mtime_ns> <size> <path>\\n" per file the answer depends on>
    <meta: one JSON object for `cache list`; never read on a hit>

``checksum`` is a BLAKE2b digest of the entry's key (its file name) and everything after the header
line, so a truncated, torn or foreign file is a miss, never a wrong answer, and so is a whole entry
moved to another key's name (format 1 left the key out, and a folder swap could serve profile A's
answer for profile B). Sealed payloads also bind the key as the AEAD's associated data
(credproc.cache_crypto).

Entries are read through the cache folder's handle (credproc.cachedir), never by path.
"""

from __future__ import annotations

import os
from _blake2 import blake2b  # builtin; `import hashlib` costs ~2.5 ms on every hit

from credproc import durations

TYPE_CHECKING = False  # see credproc/flags.py: no typing import on the hit path
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from credproc.cachedir import Folder

MAGIC = b"credproc-cache/2"
DEFAULT_REFRESH_WINDOW = 20 * 60
# For short sessions the window shrinks to this share of the lifetime, so a 15-minute role session
# is refreshed after ~4.5 minutes instead of on every call, and still hands botocore more than its
# 10-minute mandatory-refresh margin.
SHORT_SESSION_SHARE = 0.7
BOTOCORE_MANDATORY_MARGIN = 10 * 60
ENTRY_SUFFIX = ".entry"
# A payload sealed by credproc.cache_crypto (cache encryption on): never printed by the fast path.
SEALED = b"\0credproc-sealed/1\0"
WINDOW_VAR = "CREDPROC_REFRESH_WINDOW"


def checksum(key: str, body: bytes) -> str:
    """The digest of an entry stored under ``key``: the key first, so no other name verifies."""
    h = blake2b(key.encode("ascii", "replace"), digest_size=16, person=b"credproc-entry")
    h.update(b"\n")
    h.update(body)
    return h.hexdigest()


def encode_entry(
    key: str, payload: bytes, expires: int, issued: int, deps: Iterable[str], meta: bytes
) -> bytes:
    dep_lines = []
    for path in deps:
        st = os.stat(path)
        dep_lines.append(f"{st.st_mtime_ns} {st.st_size} {path}\n".encode("utf-8", "surrogateescape"))
    dep_bytes = b"".join(dep_lines)
    body = payload + dep_bytes + meta
    header = b"%s %d %d %d %d %s\n" % (
        MAGIC,
        expires,
        issued,
        len(payload),
        len(dep_bytes),
        checksum(key, body).encode(),
    )
    return header + body


class Entry:
    __slots__ = ("deps", "expires", "issued", "meta", "payload")

    def __init__(self, payload: bytes, expires: int, issued: int, deps: bytes, meta: bytes) -> None:
        self.payload = payload
        self.expires = expires
        self.issued = issued
        self.deps = deps
        self.meta = meta

    def window(self, configured: float) -> float:
        lifetime = self.expires - self.issued
        if lifetime <= 0:
            return configured
        # Scaled down for short sessions, but never below botocore's 10-minute mandatory margin
        # (unless the user asked for a smaller window).
        return min(configured, max(lifetime * SHORT_SESSION_SHARE, BOTOCORE_MANDATORY_MARGIN))

    def is_fresh(self, now: float, configured_window: float) -> bool:
        return self.expires - now > self.window(configured_window)

    def deps_unchanged(self) -> bool:
        for line in self.deps.splitlines():
            mtime, size, path = line.split(b" ", 2)
            try:
                st = os.stat(path)
            except OSError:
                return False
            if st.st_mtime_ns != int(mtime) or st.st_size != int(size):
                return False
        return True


def decode_entry(data: bytes, key: str) -> Entry | None:
    """Parse the entry stored under ``key``, or ``None`` for anything that is not a whole, intact
    entry written for that key."""
    head, nl, body = data.partition(b"\n")
    fields = head.split(b" ")
    if not nl or len(fields) != 6 or fields[0] != MAGIC:
        return None
    try:
        expires, issued, payload_len, deps_len = (int(f) for f in fields[1:5])
    except ValueError:
        return None
    if payload_len <= 0 or deps_len < 0 or payload_len + deps_len > len(body):
        return None
    if checksum(key, body).encode() != fields[5]:
        return None
    return Entry(
        body[:payload_len],
        expires,
        issued,
        body[payload_len : payload_len + deps_len],
        body[payload_len + deps_len :],
    )


def owner_ok(st: os.stat_result) -> bool:
    """A cache file or folder another local user could write is never trusted (POSIX)."""
    getuid = getattr(os, "geteuid", None)
    if getuid is None:  # Windows: per-user profile folders carry the protection
        return True
    return st.st_uid == getuid() and not st.st_mode & 0o022


def file_ok(st: os.stat_result) -> bool:
    """Entries are written 0600; one readable by others was not written by credproc."""
    if getattr(os, "geteuid", None) is None:
        return True
    return owner_ok(st) and not st.st_mode & 0o077


def read_entry(folder: Folder, key: str) -> Entry | None:
    """The entry stored under ``key`` in the opened cache folder, if it is whole, ours and 0600."""
    return read_file(folder, key + ENTRY_SUFFIX, key)


def read_file(folder: Folder, name: str, key: str) -> Entry | None:
    """``read_entry`` of the file ``name`` (a temporary file, written for ``key``)."""
    try:
        fd = folder.open(name, os.O_RDONLY)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not file_ok(st):
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return decode_entry(b"".join(chunks), key)


def refresh_window(given: str | None, environ: Mapping[str, str]) -> float | None:
    """``--refresh-window``, else $CREDPROC_REFRESH_WINDOW, else the default; None when invalid."""
    raw = given or environ.get(WINDOW_VAR)
    if raw is None:
        return DEFAULT_REFRESH_WINDOW
    return durations.seconds(raw, minimum=0)
