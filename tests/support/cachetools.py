"""Test helpers that reach into the cache the way time would: aging entries, corrupting them."""

from __future__ import annotations

import os
from pathlib import Path

from credproc import cachefile


def entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*" + cachefile.ENTRY_SUFFIX)) if cache_dir.is_dir() else []


def age_entry(path: Path, seconds: int) -> None:
    """Make an entry look ``seconds`` older: issued and expiry both move back, checksum redone."""
    data = path.read_bytes()
    key = path.name[: -len(cachefile.ENTRY_SUFFIX)]
    entry = cachefile.decode_entry(data, key)
    assert entry is not None, f"{path} is not a valid entry"
    body = entry.payload + entry.deps + entry.meta
    header = b"%s %d %d %d %d %s\n" % (
        cachefile.MAGIC,
        entry.expires - seconds,
        entry.issued - seconds,
        len(entry.payload),
        len(entry.deps),
        cachefile.checksum(key, body).encode(),
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(header + body)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def age_all(cache_dir: Path, seconds: int) -> None:
    for path in entries(cache_dir):
        age_entry(path, seconds)
