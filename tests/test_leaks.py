"""The leak guard itself (tests/support/leaks.py, conftest.no_leaked_secrets), and failure paths
whose input carries a secret: the error names the file or profile, never the value."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import BASE_SECRET, AwsFiles, run_credproc
from tests.support import leaks
from tests.support.faults import Fault
from tests.support.moto_sts import MotoSTS

pytest_plugins = ["pytester"]

PAYLOAD = json.dumps(
    {
        "Version": 1,
        "AccessKeyId": "ASIAEXAMPLEEXAMPLE",
        "SecretAccessKey": "s3cr3t-from-payload",
        "SessionToken": "t0ken-from-payload",
    }
)


@pytest.fixture
def own_runs() -> Iterator[list[leaks.Run]]:
    """Fabricated runs for the guard's unit tests, removed before the real guard looks."""
    saved = list(leaks.runs)
    leaks.runs.clear()
    yield leaks.runs
    leaks.runs[:] = saved


def test_a_printed_secret_showing_up_in_a_later_runs_stderr_is_found(own_runs: list[leaks.Run]) -> None:
    own_runs.append(leaks.Run(("credential-process",), PAYLOAD + "\n", ""))
    own_runs.append(leaks.Run(("credential-process",), "", "credproc: error: bad token t0ken-from-payload\n"))
    found = leaks.scan((), "")
    assert found == ["stderr of credproc credential-process: t0ke…"]


def test_a_payload_on_the_stdout_of_a_payload_command_is_not_a_leak(own_runs: list[leaks.Run]) -> None:
    own_runs.append(leaks.Run(("--debug", "credential-process", "-p", "x"), PAYLOAD, ""))
    own_runs.append(
        leaks.Run(("env", "--format", "sh"), "export AWS_SECRET_ACCESS_KEY=s3cr3t-from-env-xyz\n", "")
    )
    assert leaks.scan((BASE_SECRET,), "") == []


def test_secrets_in_non_payload_stdout_and_in_logs_are_found(own_runs: list[leaks.Run]) -> None:
    own_runs.append(leaks.Run(("exec", "--", "true"), "AWS_SESSION_TOKEN='tok-from-exec-child-123'\n", ""))
    own_runs.append(leaks.Run(("cache", "list"), f"dev {BASE_SECRET}\n", ""))
    found = leaks.scan((BASE_SECRET,), "DEBUG botocore: tok-from-exec-child-123")
    assert "stdout of credproc cache list: wJal…" in found
    assert "captured logs: tok-…" in found


def test_remembered_emulator_secrets_and_key_lines_are_found(own_runs: list[leaks.Run]) -> None:
    leaks.remember("aoa-remembered-access-token", "short")
    leaks.remember_pem(b"-----BEGIN PRIVATE KEY-----\n" + b"A" * 64 + b"\n-----END PRIVATE KEY-----\n")
    own_runs.append(leaks.Run(("login",), "", "token aoa-remembered-access-token\n" + "A" * 64))
    found = leaks.scan((), "")
    assert len(found) == 2 and all(f.startswith("stderr of credproc login") for f in found)
    own_runs.append(leaks.Run(("login",), "", "short"))  # too short to be told from chance
    assert len(leaks.scan((), "")) == 2


def test_the_guard_fails_a_test_that_leaks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]\n')
    pytester.makepyfile(
        test_leaky=f"""
        from tests.support import leaks
        def test_leaky():  # as if `credproc cache list` had printed the key
            leaks.runs.append(leaks.Run(("cache", "list"), "dev {BASE_SECRET}", ""))
        def test_clean():
            leaks.runs.append(leaks.Run(("cache", "list"), "dev", ""))
    """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.stdout.fnmatch_lines(["*secret leaked*", "*stdout of credproc cache list: wJal*"])
    result.assert_outcomes(passed=2, errors=1)


@pytest.mark.parametrize(
    "config",
    [
        f"[profile p]\naws_secret_access_key = {BASE_SECRET}\n",  # only one of the two keys
        f"[profile p]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {BASE_SECRET}\n"
        f"aws_secret_access_key = {BASE_SECRET}\n",  # a duplicate line: a parse error
        f"[profile p]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n{BASE_SECRET}\n",  # not key = value
    ],
)
def test_bad_config_holding_a_secret_never_echoes_it(aws_files: AwsFiles, config: str) -> None:
    aws_files.write_config(config)
    done = run_credproc("credential-process", "--profile", "p")
    assert done.returncode == 1 and done.stdout == ""


def test_a_helper_printing_a_bad_payload_is_not_echoed(aws_files: AwsFiles) -> None:
    helper = json.dumps({"Version": 2, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": BASE_SECRET})
    aws_files.write_config(f"[profile p]\ncredential_process = {sys.executable} -c 'print({helper!r})'\n")
    done = run_credproc("credential-process", "--profile", "p")
    assert done.returncode != 0 and done.stdout == ""


def test_debug_output_of_a_failed_refresh_has_no_secret(
    chain: AwsFiles, sts: MotoSTS, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = run_credproc("credential-process", "--profile", "top")
    assert first.returncode == 0
    sts.app.always = Fault("status", 503)
    done = run_credproc("--debug", "credential-process", "--profile", "top", "--no-cache")
    assert done.returncode == 3 and "Traceback" in done.stderr  # the guard then scans it all
