"""Injected faults the emulators share, and what every fault test asserts about a failed run: the
contract's exit code, one clear line (and an optional hint), no traceback, nothing on stdout, and
well inside the Go SDK's 60 s limit."""

from __future__ import annotations

import importlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

# The Go SDK kills a credential_process after 60 s; every run must end well before.
RUN_LIMIT = 45.0

T = TypeVar("T")

# A run's budget for the tests that wait it out: credproc.aws.budget reads RUN_BUDGET at each run
# (not at import), so a test shortens it with monkeypatch and the same code ends the run. It is
# far below what MAX_ATTEMPTS tries at the full READ_TIMEOUT take (45 s), so a run that ignored
# its budget still fails the test.
SHORT_BUDGET = 6.0
BUDGET_MODULE = importlib.import_module("credproc.aws.budget")  # credproc.aws.budget is the function


@dataclass(frozen=True)
class Fault:
    """One injected answer. ``kind``: ``status`` (HTTP ``value``, AWS error ``code``), ``throttle``
    (the service's throttling answer), ``slow`` (sleep ``value`` s, then answer normally),
    ``reset`` (TCP RST, no answer), ``truncate`` (the real answer cut in half, the full length
    declared), ``malformed`` (200 with a body the client cannot parse), ``nested``
    (200 with ``value`` levels of nested arrays or elements: a parser's recursion limit), ``expiration``
    (the real answer with Expiration moved to now + ``value`` seconds: a skewed clock). ``op``
    limits it to one operation (None: any)."""

    kind: str
    value: float = 0
    code: str = "ServiceUnavailable"
    op: str | None = None


def pick(faults: list[Fault], always: Fault | None, op: str) -> Fault | None:
    """The fault for this call of ``op``: the first queued one aimed at it, else ``always``."""
    for i, fault in enumerate(faults):
        if fault.op in (None, op):
            return faults.pop(i)
    return always if always is not None and always.op in (None, op) else None


def timed(run: Callable[[], T]) -> tuple[T, float]:
    start = time.monotonic()
    result = run()
    return result, time.monotonic() - start


def assert_clean_failure(done: subprocess.CompletedProcess[str], code: int = 3) -> str:
    """Returns the error line, for the caller's checks of its wording."""
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    errors = [line for line in lines if line.startswith("credproc: error: ")]
    assert len(errors) == 1, done.stderr
    rest = [line for line in lines if not line.startswith(("credproc: error: ", "credproc: hint: "))]
    assert not rest, done.stderr
    return errors[0]


def assert_stale_served(done: subprocess.CompletedProcess[str], first_stdout: str) -> None:
    assert done.returncode == 0, done.stderr
    assert done.stdout == first_stdout
    assert "refresh failed" in done.stderr and "serving cached credentials" in done.stderr
    assert "Traceback" not in done.stderr
