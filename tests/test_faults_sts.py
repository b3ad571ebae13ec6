"""STS on a bad day, through moto behind a fault-injecting middleware: what a credential_process
run does on each fault (bounded retries, stale-on-error, exit 3 with one line)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from credproc import aws
from tests.conftest import AwsFiles, run_credproc
from tests.support.cachetools import age_all
from tests.support.faults import (
    BUDGET_MODULE,
    RUN_LIMIT,
    SHORT_BUDGET,
    Fault,
    assert_clean_failure,
    assert_stale_served,
    timed,
)
from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_in_process

PROFILE = ("credential-process", "--profile", "middle")  # one AssumeRole on static keys

# Every fault that a retry may cure, and the stderr words of giving up on it.
TRANSIENT = {
    "5xx": (Fault("status", 503), "ServiceUnavailable"),
    "internal error": (Fault("status", 500, "InternalFailure"), "InternalFailure"),
    "throttling": (Fault("throttle"), "Throttling"),
    "reset": (Fault("reset"), "AssumeRole"),
    "truncated body": (Fault("truncate"), "AssumeRole"),
}


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_one_transient_fault_is_retried_and_answered(chain: AwsFiles, sts: MotoSTS, name: str) -> None:
    sts.app.faults.append(TRANSIENT[name][0])
    done = run_in_process(*PROFILE)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")
    assert sts.calls["AssumeRole"] == 2
    assert done.stderr == ""


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_a_persistent_fault_gives_up_after_bounded_attempts(chain: AwsFiles, sts: MotoSTS, name: str) -> None:
    fault, words = TRANSIENT[name]
    sts.app.always = fault
    done, took = timed(lambda: run_in_process(*PROFILE))
    line = assert_clean_failure(done, 3)
    assert words in line
    assert sts.calls["AssumeRole"] == aws.MAX_ATTEMPTS
    assert took < RUN_LIMIT


def test_malformed_xml_is_exit_3_with_one_line(chain: AwsFiles, sts: MotoSTS) -> None:
    sts.app.always = Fault("malformed")
    done, took = timed(lambda: run_in_process(*PROFILE))
    assert_clean_failure(done, 3)
    assert 1 <= sts.calls["AssumeRole"] <= aws.MAX_ATTEMPTS
    assert took < RUN_LIMIT


def test_xml_nested_past_any_parser_is_exit_3(chain: AwsFiles, sts: MotoSTS) -> None:
    sts.app.always = Fault("nested", 100_000)
    line = assert_clean_failure(run_in_process("credential-process", "--profile", "top"), 3)
    assert "unexpected" not in line


def test_retries_back_off_with_jitter(chain: AwsFiles, sts: MotoSTS) -> None:
    """botocore's standard mode: a random share of 1 s, then of 2 s; never a fixed schedule."""
    first_gaps = []
    for _ in range(3):
        sts.app.reset()
        sts.app.always = Fault("throttle")
        assert run_in_process(*PROFILE).returncode == 3
        arrivals = sts.app.arrivals
        assert len(arrivals) == aws.MAX_ATTEMPTS
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        assert gaps[0] < 1.0 + 0.5 and gaps[1] < 2.0 + 0.5  # capped backoff, plus a request's time
        first_gaps.append(gaps[0])
    assert max(first_gaps) - min(first_gaps) > 0.02, first_gaps


def test_a_slow_answer_within_the_timeout_is_waited_for(chain: AwsFiles, sts: MotoSTS) -> None:
    sts.app.faults.append(Fault("slow", 2))
    done = run_credproc(*PROFILE)
    assert done.returncode == 0, done.stderr
    assert sts.calls["AssumeRole"] == 1


@pytest.mark.slow
def test_an_endpoint_that_never_answers_ends_the_run_inside_the_budget(
    chain: AwsFiles, sts: MotoSTS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget is shortened (SHORT_BUDGET) so the test does not wait out the product's 30 s:
    the tries shrink to fit it, and without it they would take MAX_ATTEMPTS * READ_TIMEOUT."""
    monkeypatch.setattr(BUDGET_MODULE, "RUN_BUDGET", SHORT_BUDGET)
    sts.app.always = Fault("slow", 120)
    done, took = timed(lambda: run_in_process(*PROFILE))
    assert_clean_failure(done, 3)
    assert took < SHORT_BUDGET + 8 < aws.MAX_ATTEMPTS * aws.READ_TIMEOUT
    assert aws.RUN_BUDGET + 8 < RUN_LIMIT  # the product's budget ends a run well inside the Go SDK's limit
    assert sts.calls["AssumeRole"] == aws.MAX_ATTEMPTS


@pytest.mark.parametrize("name", ["5xx", "throttling", "reset", "truncated body"])
def test_a_fault_during_refresh_serves_valid_cached_credentials(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path, name: str
) -> None:
    first = run_in_process(*PROFILE)
    assert first.returncode == 0, first.stderr
    age_all(tmp_path / "cache", 45 * 60)  # 15 minutes left: due for refresh, still worth serving
    sts.app.always = TRANSIENT[name][0]
    assert_stale_served(run_in_process(*PROFILE), first.stdout)


@pytest.mark.parametrize("offset", [-3 * 3600, -60, 5 * 60])
def test_an_answer_already_expired_or_about_to_is_refused(chain: AwsFiles, sts: MotoSTS, offset: int) -> None:
    """A clock skewed by hours: STS's Expiration is in the past (or minutes away) by ours."""
    sts.app.always = Fault("expiration", offset)
    line = assert_clean_failure(run_in_process(*PROFILE), 3)
    assert "already expired" in line if offset < 0 else "expire in" in line
    sts.app.always = None
    assert run_in_process(*PROFILE).returncode == 0  # nothing was cached from the bad answer
    assert sts.calls["AssumeRole"] == 2


def test_an_expired_answer_during_refresh_serves_the_cached_credentials(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    first = run_in_process(*PROFILE)
    age_all(tmp_path / "cache", 45 * 60)
    sts.app.always = Fault("expiration", -2 * 3600)
    assert_stale_served(run_in_process(*PROFILE), first.stdout)


def test_an_answer_shorter_than_any_aws_session_is_served_with_a_warning(
    chain: AwsFiles, sts: MotoSTS
) -> None:
    """12 minutes left on arrival: usable, but no AWS session is that short, so say so."""
    sts.app.always = Fault("expiration", 12 * 60)
    done = run_in_process(*PROFILE)
    assert done.returncode == 0, done.stderr
    assert "sooner than any AWS session" in done.stderr and "clock" in done.stderr


def test_an_expiration_far_in_the_future_is_served_with_a_warning(chain: AwsFiles, sts: MotoSTS) -> None:
    sts.app.always = Fault("expiration", 48 * 3600)
    done = run_in_process(*PROFILE)
    assert done.returncode == 0, done.stderr
    expires = datetime.strptime(json.loads(done.stdout)["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
    assert expires.replace(tzinfo=timezone.utc) > datetime.now(timezone.utc)
    assert "longer than AWS issues" in done.stderr and "clock" in done.stderr
