"""IAM Identity Center on a bad day, through the portal/OIDC emulator: the role call and the token
refresh each meet 5xx, throttling, resets, cut and garbled bodies and skewed clocks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from credproc import aws
from tests.conftest import run_credproc
from tests.support.cachetools import age_all
from tests.support.faults import RUN_LIMIT, Fault, assert_clean_failure, assert_stale_served, timed
from tests.support.runner import run_in_process
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    SsoEmulator,
    sso_fixture,
    sso_server_fixture,
    write_token,
)

PROFILE = ("credential-process", "--profile", "dev")
ROLE = "GetRoleCredentials"
TRANSIENT = {
    "5xx": Fault("status", 503, "ServiceUnavailableException", ROLE),
    "internal error": Fault("status", 500, "InternalServerException", ROLE),
    "throttling": Fault("throttle", op=ROLE),
    "reset": Fault("reset", op=ROLE),
    "truncated body": Fault("truncate", op=ROLE),
}


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_one_transient_portal_fault_is_retried_and_answered(
    sso: SsoEmulator, hermetic_env: Path, name: str
) -> None:
    write_token(hermetic_env, sso.emulator)
    sso.emulator.faults.append(TRANSIENT[name])
    done = run_in_process(*PROFILE)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")
    assert sso.emulator.count(ROLE) == 2
    assert done.stderr == ""


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_a_persistent_portal_fault_gives_up_after_bounded_attempts(
    sso: SsoEmulator, hermetic_env: Path, name: str
) -> None:
    write_token(hermetic_env, sso.emulator)
    sso.emulator.always = TRANSIENT[name]
    done, took = timed(lambda: run_in_process(*PROFILE))
    line = assert_clean_failure(done, 3)
    assert "GetRoleCredentials" in line
    assert sso.emulator.count(ROLE) == aws.MAX_ATTEMPTS
    assert took < RUN_LIMIT


def test_a_garbled_portal_answer_is_exit_3(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    sso.emulator.always = Fault("malformed", op=ROLE)
    assert_clean_failure(run_in_process(*PROFILE), 3)
    assert 1 <= sso.emulator.count(ROLE) <= aws.MAX_ATTEMPTS


@pytest.mark.parametrize("op", [ROLE, "CreateToken"])
def test_an_answer_nested_past_any_parser_is_exit_3(sso: SsoEmulator, hermetic_env: Path, op: str) -> None:
    """100,000 nested arrays: a RecursionError in the JSON parser is a garbled answer, never a bug."""
    write_token(hermetic_env, sso.emulator, expires_in=600 if op == "CreateToken" else 3600, refreshable=True)
    sso.emulator.always = Fault("nested", 100_000, op=op)
    done = run_in_process(*PROFILE)
    if op == ROLE:
        line = assert_clean_failure(done, 3)
        assert "GetRoleCredentials" in line
    else:  # the token is still good: the failed refresh is a warning, as for any garbled answer
        assert done.returncode == 0, done.stderr
        assert "could not refresh the SSO token" in done.stderr and "unexpected" not in done.stderr


def test_a_slow_portal_within_the_timeout_is_waited_for(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    sso.emulator.faults.append(Fault("slow", 2, op=ROLE))
    done = run_credproc(*PROFILE)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", ["5xx", "throttling", "reset"])
def test_a_portal_fault_during_refresh_serves_valid_cached_credentials(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path, name: str
) -> None:
    write_token(hermetic_env, sso.emulator)
    first = run_in_process(*PROFILE)
    assert first.returncode == 0, first.stderr
    age_all(tmp_path / "cache", 45 * 60)
    sso.emulator.always = TRANSIENT[name]
    assert_stale_served(run_in_process(*PROFILE), first.stdout)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", 503, "ServiceUnavailableException"),
        Fault("throttle"),
        Fault("reset"),
        Fault("malformed"),
    ],
    ids=lambda f: f.kind,
)
def test_a_failing_token_refresh_falls_back_to_the_current_token(
    sso: SsoEmulator, hermetic_env: Path, fault: Fault
) -> None:
    """The token is inside botocore's 15-minute refresh window but still good: use it, say so."""
    old = write_token(hermetic_env, sso.emulator, expires_in=600, refreshable=True)
    sso.emulator.always = Fault(fault.kind, fault.value, fault.code, "CreateToken")
    done, took = timed(lambda: run_in_process(*PROFILE))
    assert done.returncode == 0, done.stderr
    assert "could not refresh the SSO token" in done.stderr and "Traceback" not in done.stderr
    assert 1 <= sso.emulator.count("CreateToken") <= aws.MAX_ATTEMPTS
    assert sso.emulator.count(ROLE) == 1
    saved = json.loads(next((hermetic_env / ".aws" / "sso" / "cache").glob("*.json")).read_text())
    assert saved["accessToken"] == old["accessToken"]  # nothing half-written
    assert took < RUN_LIMIT


@pytest.mark.parametrize("hours", [-3, -1])
def test_role_credentials_already_expired_by_a_skewed_clock_are_refused(
    sso: SsoEmulator, hermetic_env: Path, hours: int
) -> None:
    write_token(hermetic_env, sso.emulator)
    sso.emulator.clock = lambda: time.time() + hours * 3600  # the portal's clock, hours behind
    line = assert_clean_failure(run_in_process(*PROFILE), 3)
    assert "already expired" in line


def test_role_credentials_outliving_anything_aws_issues_come_with_a_warning(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    write_token(hermetic_env, sso.emulator)
    sso.emulator.role_ttl = 48 * 3600  # as a portal clock two days ahead would answer
    done = run_in_process(*PROFILE)
    assert done.returncode == 0, done.stderr
    assert "longer than AWS issues" in done.stderr
