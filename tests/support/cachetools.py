"""Test helpers that reach into the cache the way time would: aging entries, corrupting them,
leaving what a killed run leaves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from credproc import atomic, cachefile


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


# A write killed (SIGKILL) after its temporary file is whole and before the rename: what a run
# killed at the worst moment leaves behind (live keys in a file no entry name points at).
_KILLED_WRITE = """
import os, signal, sys
from datetime import datetime, timedelta, timezone
from credproc import cachedir
from credproc.cache import Cache, EntryMeta
from credproc.credentials import Credentials

def killed(self, source, target):
    os.kill(os.getpid(), signal.SIGKILL)

cachedir.Folder.replace = killed
key, profile, key_id = sys.argv[1:4]
expires = datetime.now(timezone.utc) + timedelta(hours=1)
creds = Credentials(key_id, "secret-of-" + key_id, "token-of-" + key_id, expires)
Cache.open(dict(os.environ), 0, print).store(key, creds, EntryMeta(kind="answer", profile=profile))
"""


def killed_write(cache_dir: Path, key: str, profile: str, key_id: str, age: float = 0) -> Path:
    """The temporary file a credproc killed mid-write leaves in ``cache_dir``, made ``age`` s old."""
    before = set(cache_dir.glob(atomic.TEMP_PREFIX + "*"))
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITE, key, profile, key_id],
        env=dict(os.environ, CREDPROC_CACHE_DIR=str(cache_dir)),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    (left,) = set(cache_dir.glob(atomic.TEMP_PREFIX + "*")) - before
    if age:
        then = time.time() - age
        os.utime(left, (then, then))
    return left
