"""Roles Anywhere CreateSession on a bad day (beyond the throttling and silent-endpoint cases of
test_rolesanywhere_source/transport): 5xx, resets, cut and garbled bodies, slow answers, and
clocks skewed by hours on either side."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from credproc import aws
from credproc.errors import UpstreamError
from credproc.sources.rolesanywhere import transport
from tests.conftest import run_credproc
from tests.support.cachetools import age_all
from tests.support.faults import RUN_LIMIT, Fault, assert_clean_failure, assert_stale_served, timed
from tests.support.ra_world import RaWorld
from tests.support.runner import run_in_process

pytestmark = pytest.mark.usefixtures("no_machine_proxies")
ATTEMPTS = transport.RetryPolicy().attempts
TRANSIENT = {
    "5xx": Fault("status", 503, "ServiceUnavailableException"),
    "internal error": Fault("status", 500, "InternalServerException"),
    "reset": Fault("reset"),
    "truncated body": Fault("truncate"),
}


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_one_transient_fault_is_retried_and_answered(ra: RaWorld, name: str) -> None:
    ra.world.faults.append(TRANSIENT[name])
    done = run_in_process("credential-process", *ra.flags(ra.identity("p256")))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIARAEMU")
    first = "ok:truncate" if name == "truncated body" else f"fault:{TRANSIENT[name].kind}"
    assert list(ra.emulator.outcomes()) == [first, "ok"]
    assert done.stderr == ""


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_a_persistent_fault_gives_up_after_bounded_attempts(ra: RaWorld, name: str) -> None:
    ra.world.always = TRANSIENT[name]
    done, took = timed(lambda: run_in_process("credential-process", *ra.flags(ra.identity("p256"))))
    assert_clean_failure(done, 3)
    assert len(ra.world.received) == ATTEMPTS
    assert took < RUN_LIMIT


def test_a_garbled_success_body_is_exit_3(ra: RaWorld) -> None:
    ra.world.always = Fault("malformed")
    line = assert_clean_failure(run_in_process("credential-process", *ra.flags(ra.identity("p256"))), 3)
    assert "without a credential set" in line


def test_an_answer_nested_past_any_parser_is_exit_3(ra: RaWorld) -> None:
    ra.world.always = Fault("nested", 100_000)
    line = assert_clean_failure(run_in_process("credential-process", *ra.flags(ra.identity("p256"))), 3)
    assert "unexpected" not in line


def test_a_slow_answer_within_the_timeout_is_waited_for(ra: RaWorld) -> None:
    ra.world.faults.append(Fault("slow", 2))
    done = run_credproc("credential-process", *ra.flags(ra.identity("p256")))
    assert done.returncode == 0, done.stderr
    assert list(ra.emulator.outcomes()) == ["ok:slow"]


@pytest.mark.parametrize("name", ["5xx", "reset", "truncated body"])
def test_a_fault_during_refresh_serves_valid_cached_credentials(
    ra: RaWorld, tmp_path: Path, name: str
) -> None:
    argv = ["credential-process", *ra.flags(ra.identity("p256"))]
    first = run_in_process(*argv)
    assert first.returncode == 0, first.stderr
    age_all(tmp_path / "cache", 45 * 60)
    ra.world.always = TRANSIENT[name]
    assert_stale_served(run_in_process(*argv), first.stdout)


@pytest.mark.parametrize("hours", [3, -3])
def test_a_clock_skewed_by_hours_is_refused_by_aws_with_one_line(ra: RaWorld, hours: int) -> None:
    """AWS checks X-Amz-Date against its clock (5 minutes): a refusal, not retried."""
    ra.world.clock_offset = hours * 3600
    line = assert_clean_failure(run_in_process("credential-process", *ra.flags(ra.identity("p256"))), 3)
    assert "skewed" in line
    assert len(ra.world.received) == 1


@pytest.mark.parametrize("offset", [-3 * 3600, 120])
def test_credentials_already_expired_or_about_to_are_refused(ra: RaWorld, offset: int) -> None:
    ra.world.always = Fault("expiration", offset)
    line = assert_clean_failure(run_in_process("credential-process", *ra.flags(ra.identity("p256"))), 3)
    assert "already expired" in line if offset < 0 else "expire in" in line


def test_credentials_outliving_anything_aws_issues_come_with_a_warning(ra: RaWorld) -> None:
    ra.world.always = Fault("expiration", 48 * 3600)
    done = run_in_process("credential-process", *ra.flags(ra.identity("p256")))
    assert done.returncode == 0, done.stderr
    assert "longer than AWS issues" in done.stderr


def test_the_run_budget_tightens_the_transport_deadline() -> None:
    """Inside credential-process's budget, Roles Anywhere gives up when the run must, not later."""
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/sessions"
        start = time.monotonic()
        with aws.budget(1.5), pytest.raises(UpstreamError):
            transport.post(url, lambda: ({}, b"{}"), environ={})
        assert time.monotonic() - start < 4
