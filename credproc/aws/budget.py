"""The run budget: how long, and how many times, one credproc run waits on AWS.

All upstream calls of one run (a credential-process, a shell's ``env``, one refresh of a server)
share RUN_BUDGET seconds. Per-call limits alone do not bound a run: three slow attempts at
READ_TIMEOUT, or an SSO refresh then a role call, or a chain of slow hops, add up past the 60 s
after which the Go SDK kills a credential_process. Each new client's timeouts shrink to fit what
is left, and a person's time (a prompt, a browser sign-in) is given back (``paused``).

The retry rule, for every upstream call (botocore clients and the Roles Anywhere transport alike):
MAX_ATTEMPTS tries in all, the first included (botocore's ``total_max_attempts``), with jittered
backoff, never past the budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from credproc.errors import UpstreamError

MAX_ATTEMPTS = 3  # every upstream call: tries in all, the first included
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 15
RUN_BUDGET = 30.0
MIN_TRY_TIMEOUT = 1.0
LOCK_GRACE = 5.0


@dataclass
class _Budget:
    deadline: float  # monotonic
    outer: _Budget | None  # the enclosing budget, moved along when a person's time is given back


# The current budget, per thread (a server refreshes in several); None: no budget.
_budget: ContextVar[_Budget | None] = ContextVar("credproc_aws_budget", default=None)


@contextmanager
def budget(seconds: float | None = None) -> Iterator[None]:
    """Bound every upstream call made inside to ``seconds`` in all, RUN_BUDGET by default (read at
    each call, not at import, so a test may shorten it); nested budgets only shrink."""
    outer = _budget.get()
    mine = time.monotonic() + (RUN_BUDGET if seconds is None else seconds)
    token = _budget.set(_Budget(mine if outer is None else min(outer.deadline, mine), outer))
    try:
        yield
    finally:
        _budget.reset(token)


@contextmanager
def paused() -> Iterator[None]:
    """A person's time (a prompt, a browser sign-in) is not AWS's: no budget inside, and the
    time spent is given back to the enclosing budgets."""
    current = _budget.get()
    token = _budget.set(None)
    start = time.monotonic()
    try:
        yield
    finally:
        _budget.reset(token)
        spent = time.monotonic() - start
        while current is not None:
            current.deadline += spent
            current = current.outer


def time_left() -> float | None:
    current = _budget.get()
    return None if current is None else current.deadline - time.monotonic()


def wait_limit(default: float) -> float:
    """How long to wait for another process's refresh (a lock): ``default``, or inside a budget
    what is left plus LOCK_GRACE, since that process is bound by a budget of its own."""
    left = time_left()
    return default if left is None else max(0.0, min(default, left + LOCK_GRACE))


def attempt_timeouts() -> tuple[float, float]:
    """(connect, read) timeouts of one attempt: the defaults, shrunk so MAX_ATTEMPTS tries of a
    client made now end near the budget."""
    left = time_left()
    if left is None:
        return CONNECT_TIMEOUT, READ_TIMEOUT
    if left < MIN_TRY_TIMEOUT:
        raise UpstreamError(
            f"gave up: AWS did not answer within {RUN_BUDGET:.0f} s",
            "check your network, proxy and the endpoint settings (AWS_ENDPOINT_URL*)",
        )
    per_try = max(MIN_TRY_TIMEOUT, left / MAX_ATTEMPTS)
    return min(CONNECT_TIMEOUT, per_try), min(READ_TIMEOUT, per_try)
