"""A 2-hop assume-role chain end to end: moto's STS server, credproc as a real process, and the real
AWS CLI and boto3 consuming its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BASE_SECRET, AwsFiles, run_credproc
from tests.support.cachetools import age_all, entries
from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_in_process


def _creds(stdout: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout)
    assert data["Version"] == 1
    assert str(data["AccessKeyId"]).startswith("ASIA")
    return data


def test_two_hop_chain_resolves_with_one_assume_role_per_hop(chain: AwsFiles, sts: MotoSTS) -> None:
    done = run_credproc("credential-process", "--profile", "top")
    assert done.returncode == 0, done.stderr
    creds = _creds(done.stdout)
    assert creds["Expiration"].endswith("Z")
    assert sts.calls["AssumeRole"] == 2
    assert done.stderr == ""


def test_second_call_is_a_cache_hit_with_no_upstream_call(chain: AwsFiles, sts: MotoSTS) -> None:
    first = run_credproc("credential-process", "--profile", "top")
    calls = sts.calls["AssumeRole"]
    second = run_credproc("credential-process", "--profile", "top")
    assert second.returncode == 0
    assert second.stdout == first.stdout
    assert sts.calls["AssumeRole"] == calls == 2


# The cache and refresh rules below run in-process through the entry point (fast path first, as
# python -m credproc runs); the two tests above and the parallel and killed-holder tests below
# keep real processes.


def test_each_hop_is_cached_so_a_sibling_role_reuses_the_middle_hop(chain: AwsFiles, sts: MotoSTS) -> None:
    assert run_in_process("credential-process", "--profile", "top", entry=True).returncode == 0
    sts.app.reset()
    done = run_in_process("credential-process", "--profile", "middle", entry=True)
    assert done.returncode == 0, done.stderr
    assert sts.calls["AssumeRole"] == 0  # the middle hop came from its own cache entry


def test_entering_the_refresh_window_triggers_exactly_one_refresh(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    first = run_in_process("credential-process", "--profile", "top", entry=True)
    assert first.returncode == 0
    sts.app.reset()
    age_all(tmp_path / "cache", 50 * 60)  # 10 minutes left: inside the 20-minute window
    refreshed = [run_in_process("credential-process", "--profile", "top", entry=True) for _ in range(3)]
    assert all(r.returncode == 0 for r in refreshed)
    assert sts.calls["AssumeRole"] == 2  # one per hop, once, then hits
    assert refreshed[0].stdout != first.stdout
    assert refreshed[1].stdout == refreshed[2].stdout == refreshed[0].stdout


def test_refresh_failure_serves_cached_credentials_still_valid_for_long_enough(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    first = run_in_process("credential-process", "--profile", "top", entry=True)
    age_all(tmp_path / "cache", 45 * 60)  # 15 minutes left: refresh due, but still usable
    sts.app.fail_with = 503
    stale = run_in_process("credential-process", "--profile", "top", entry=True)
    assert stale.returncode == 0, stale.stderr
    assert stale.stdout == first.stdout
    assert "warning: refresh failed" in stale.stderr
    assert "valid for 14 more minutes" in stale.stderr or "valid for 15 more minutes" in stale.stderr


def test_refresh_failure_with_nearly_expired_cache_is_exit_3(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    run_in_process("credential-process", "--profile", "top", entry=True)
    age_all(tmp_path / "cache", 55 * 60)  # 5 minutes left: too little to hand out
    sts.app.fail_with = 503
    done = run_in_process("credential-process", "--profile", "top", entry=True)
    assert done.returncode == 3
    assert done.stdout == ""
    assert "ServiceUnavailable" in done.stderr


def test_no_cache_flag_calls_upstream_every_time_and_writes_nothing(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    for _ in range(2):
        assert (
            run_in_process("credential-process", "--profile", "top", "--no-cache", entry=True).returncode == 0
        )
    assert sts.calls["AssumeRole"] == 4
    assert entries(tmp_path / "cache") == []


def test_editing_the_config_changes_the_answer_key(chain: AwsFiles, sts: MotoSTS) -> None:
    run_in_process("credential-process", "--profile", "top", entry=True)
    chain.write_config(chain.config.read_text().replace("role/top", "role/top2"))
    sts.app.reset()
    done = run_in_process("credential-process", "--profile", "top", entry=True)
    assert done.returncode == 0
    assert sts.calls["AssumeRole"] == 1  # the new top role; the middle hop is still cached


@pytest.mark.slow
def test_aws_cli_gets_the_final_roles_identity(chain: AwsFiles, sts: MotoSTS, tmp_path: Path) -> None:
    # The AWS CLI reads its own config (with the credential_process line) from the default location
    # and credproc reads the chain from the same file: both profiles live in one file, as for users.
    command = f"{sys.executable} -m credproc credential-process --profile top"
    chain.write_config(chain.config.read_text() + f"\n[profile work]\ncredential_process = {command}\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "sts",
            "get-caller-identity",
            "--profile",
            "work",
            "--region",
            "us-east-1",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    identity = json.loads(done.stdout)
    assert identity["Arn"].startswith("arn:aws:sts::222222222222:assumed-role/top/")
    assert BASE_SECRET not in done.stdout + done.stderr


def test_boto3_gets_the_final_roles_identity(chain: AwsFiles, sts: MotoSTS) -> None:
    command = f"{sys.executable} -m credproc credential-process --profile top"
    chain.write_config(chain.config.read_text() + f"\n[profile work]\ncredential_process = {command}\n")
    script = (
        "import boto3, json; s = boto3.Session(profile_name='work', region_name='us-east-1');"
        "print(json.dumps(s.client('sts').get_caller_identity()['Arn']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout).startswith("arn:aws:sts::222222222222:assumed-role/top/")


@pytest.mark.slow
def test_32_parallel_cold_runs_make_one_assume_role_per_hop(chain: AwsFiles, sts: MotoSTS) -> None:
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "credproc", "credential-process", "--profile", "top"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(32)
    ]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results if err]
    outputs = {out for _, out, _ in results}
    assert len(outputs) == 1  # identical credentials for all 32
    assert sts.calls["AssumeRole"] == 2


@pytest.mark.slow
def test_a_run_killed_while_holding_the_lock_does_not_stall_the_next(
    aws_files: AwsFiles, tmp_path: Path
) -> None:
    flag = tmp_path / "slow"
    script = tmp_path / "helper.py"
    script.write_text(
        "import json, os, sys, time\n"
        f"if os.path.exists({str(flag)!r}):\n"
        "    time.sleep(120)\n"
        "print(json.dumps({'Version': 1, 'AccessKeyId': 'ASIAHELPEREXAMPLE001', "
        "'SecretAccessKey': 'x' * 40, 'SessionToken': 'tok', "
        "'Expiration': '2099-01-01T00:00:00Z'}))\n"
    )
    aws_files.write_config(f"[profile p]\ncredential_process = {sys.executable} {script}\n")
    flag.touch()
    holder = subprocess.Popen(
        [sys.executable, "-m", "credproc", "credential-process", "--profile", "p"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    lock_dir = tmp_path / "cache"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(lock_dir.glob("*.lock")):
        time.sleep(0.05)
    time.sleep(1.0)  # it now holds the answer lock and waits on its slow helper
    os.killpg(holder.pid, 9)
    holder.wait()
    flag.unlink()
    started = time.monotonic()
    done = run_credproc("credential-process", "--profile", "p", timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"] == "ASIAHELPEREXAMPLE001"
    assert time.monotonic() - started < 20  # far from the 50 s lock timeout
