"""Crash safety of the cache: SIGKILL at random points, a full disk, a read-only folder.

The writer is the real Cache code in a forked child, killed at a random moment of its refresh
loop; whatever the moment, the next reader gets either the old entry or the new one, never a
broken one, and the next refresh works.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from credproc.cache import LOCK_SUFFIX, Cache, EntryMeta
from credproc.credentials import Credentials
from credproc.lock import hold
from tests.support import tmpfs

LOOPS = 200


def _creds(n: int) -> Credentials:
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    return Credentials(f"ASIACRASHTEST{n:07d}", "s" * 40, "t" * 300, expires)


def _refresh_forever(directory: str) -> None:
    """Child: the refresher's write path (lock, atomic write, unlock) as fast as it can."""
    cache = Cache(directory)
    lock = os.path.join(directory, "p-crash" + LOCK_SUFFIX)
    n = 0
    while True:
        n += 1
        with hold(lock, timeout=5):
            cache.store("p-crash", _creds(n), EntryMeta(profile="crash"))


def test_sigkill_at_random_points_never_leaves_a_broken_entry(tmp_path: Path) -> None:
    directory = str(tmp_path / "cache")
    os.makedirs(directory, mode=0o700)
    rng = random.Random(1234)
    seen_valid = 0
    for _ in range(LOOPS):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            try:
                _refresh_forever(directory)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        reader = Cache(directory, refresh_window=0)
        found = reader.fresh("p-crash")
        if found is not None:
            assert found.access_key_id.startswith("ASIACRASHTEST")
            seen_valid += 1
    assert seen_valid > LOOPS // 2  # the loop really did write, most of the time
    # the lock died with its holder: the next refresher gets it at once
    started = time.monotonic()
    with hold(os.path.join(directory, "p-crash" + LOCK_SUFFIX), timeout=5):
        Cache(directory).store("p-crash", _creds(0), EntryMeta())
    assert time.monotonic() - started < 1
    after = Cache(directory).fresh("p-crash")
    assert after is not None and after.access_key_id == "ASIACRASHTEST0000000"
    leftovers = [n for n in os.listdir(directory) if n.startswith(".tmp-")]
    assert len(leftovers) <= LOOPS  # temp files of killed writers only; never read as entries


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs to fill up."""
    target = tmp_path / "cache"
    target.mkdir(mode=0o700)
    with tmpfs.mounted(target, "size=64k,mode=0700", "a small tmpfs") as mounted:
        yield mounted


def test_full_disk_keeps_the_old_entry_and_still_answers(tiny_fs: Path) -> None:
    warnings: list[str] = []
    cache = Cache(str(tiny_fs), refresh_window=1200, warn=warnings.append)
    first = cache.obtain("p-disk", lambda: _creds(1), EntryMeta())
    fd = os.open(tiny_fs / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:  # ENOSPC: the disk is full now
        pass
    finally:
        os.close(fd)
    # 50 minutes later the entry is inside the refresh window
    stale = Cache(str(tiny_fs), refresh_window=1200, warn=warnings.append, clock=lambda: time.time() + 3000)
    answer = stale.obtain("p-disk", lambda: _creds(2), EntryMeta())
    assert answer.access_key_id == _creds(2).access_key_id  # the fresh answer is still returned
    assert any("could not write the cache" in w for w in warnings)
    kept = Cache(str(tiny_fs), refresh_window=0).fresh("p-disk")
    assert kept == first  # the old entry is intact
    assert not [n for n in os.listdir(tiny_fs) if n.startswith(".tmp-")]
