"""The in-process runner gives a real run's answer, and keeps the test's world as it was."""

from __future__ import annotations

import os
import sys

import pytest

from tests.conftest import AwsFiles
from tests.support import leaks, runner
from tests.support.moto_sts import MotoSTS
from tests.support.runner import ExecRefused, run_in_process


def test_an_in_process_run_answers_like_a_process_and_the_leak_guard_sees_it(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile other]\nregion = us-east-1\n")
    before = dict(os.environ)
    done = run_in_process("credential-process", "--profile", "p", env={**os.environ, "AWS_PROFILE": "x"})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("credproc: error: profile 'p' is not in")
    assert dict(os.environ) == before  # the injected environment is gone again
    assert leaks.runs[-1] == leaks.Run(("credential-process", "--profile", "p"), "", done.stderr)


def test_an_in_process_run_never_execs(aws_files: AwsFiles) -> None:
    aws_files.write_credentials(
        "[p]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    with pytest.raises(ExecRefused):  # a BaseException: the boundary's last net cannot swallow it
        run_in_process("exec", "-p", "p", "--", sys.executable, "-c", "pass")


def test_through_the_entry_point_a_cache_hit_is_the_fast_paths_and_a_miss_the_clis(
    chain: AwsFiles, sts: MotoSTS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """entry=True runs what python -m credproc runs: the fast path first, then the full CLI."""
    from credproc import cli

    first = run_in_process("credential-process", "--profile", "top", entry=True)  # a miss: the CLI
    assert first.returncode == 0, first.stderr

    def no_cli(argv: list[str]) -> int:
        raise AssertionError(f"the full CLI ran for {argv}")

    monkeypatch.setattr(cli, "run", no_cli)  # what the entry point imports when the fast path misses
    monkeypatch.setattr(runner, "cli_run", no_cli)  # the runner's own import of the boundary
    hit = run_in_process("credential-process", "--profile", "top", entry=True)
    assert (hit.returncode, hit.stdout, hit.stderr) == (0, first.stdout, "")
    assert sys.argv[1:3] != ["credential-process", "--profile"]  # pytest's argv is put back
