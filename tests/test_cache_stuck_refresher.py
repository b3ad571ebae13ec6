"""Another credproc holding a cache entry's lock and never finishing (stopped, hung): a run waits
no longer than its budget allows, then serves still-valid cached credentials or fails with exit 3."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from credproc import aws
from credproc.cache import LOCK_SUFFIX, Cache, EntryMeta
from credproc.credentials import Credentials
from credproc.errors import UpstreamError
from tests.support.faults import BUDGET_MODULE

T0 = 1_900_000_000.0
KEY = "p-" + "0" * 40


def _never() -> Credentials:
    raise AssertionError("a run must not refresh while another holds the lock")


# The grace a run gives another process's refresh past its own budget (LOCK_GRACE, 5 s), shortened
# so a test does not wait it out: wait_limit reads it at each wait. A run that ignored the budget
# would still wait LOCK_TIMEOUT_SECONDS and fail the test.
GRACE = 0.5


@pytest.fixture
def stuck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The entry's lock, held for the whole test as a hung refresher would hold it."""
    monkeypatch.setattr(BUDGET_MODULE, "LOCK_GRACE", GRACE)
    fd = os.open(tmp_path / (KEY + LOCK_SUFFIX), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield tmp_path
    os.close(fd)


def _cache(directory: Path, now: float, warnings: list[str]) -> Cache:
    return Cache(str(directory), warn=warnings.append, clock=lambda: now)


def test_a_stuck_refresher_gets_stale_credentials_served_within_the_budget(stuck: Path) -> None:
    warnings: list[str] = []
    creds = Credentials(
        "ASIACACHED",
        "cached-secret-value",
        "cached-token-value",
        datetime.fromtimestamp(T0 + 3600, tz=timezone.utc),
    )
    _cache(stuck, T0, warnings).store(KEY, creds, EntryMeta(kind="answer"))
    start = time.monotonic()
    with aws.budget(0.5):
        got = _cache(stuck, T0 + 45 * 60, warnings).obtain(KEY, _never, EntryMeta(kind="answer"))
    assert got.access_key_id == "ASIACACHED"
    assert time.monotonic() - start < 0.5 + GRACE + 1
    assert len(warnings) == 1 and "waiting for another credproc" in warnings[0]
    assert "serving cached credentials valid for 15 more minutes" in warnings[0]


def test_a_stuck_refresher_with_nothing_to_serve_is_exit_3_within_the_budget(stuck: Path) -> None:
    start = time.monotonic()
    with aws.budget(0.5), pytest.raises(UpstreamError, match="waiting for another credproc"):
        _cache(stuck, T0, []).obtain(KEY, _never, EntryMeta(kind="answer"))
    assert time.monotonic() - start < 0.5 + GRACE + 1
