"""MFA codes are read from the controlling terminal (a real pseudo-terminal here), never stdin."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect

from tests.conftest import CHAIN_CREDENTIALS, AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS

MFA_CONFIG = """
[profile base]
region = us-east-1

[profile admin]
role_arn = arn:aws:iam::333333333333:role/admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
"""


def _spawn(tmp_path: Path) -> tuple[pexpect.spawn, Path]:
    out = tmp_path / "stdout.json"
    # stdout goes to a file: the prompt must appear on the terminal, the JSON only on stdout.
    cmd = f"{sys.executable} -m credproc credential-process --profile admin > {out}"
    child = pexpect.spawn("/bin/sh", ["-c", cmd], env=dict(os.environ), encoding="utf-8", timeout=60)
    return child, out


def test_mfa_code_is_asked_on_the_terminal_once(aws_files: AwsFiles, sts: MotoSTS, tmp_path: Path) -> None:
    aws_files.write_config(MFA_CONFIG)
    aws_files.write_credentials(CHAIN_CREDENTIALS)
    child, out = _spawn(tmp_path)
    child.expect("MFA code for arn:aws:iam::000000000000:mfa/alice: ")
    child.sendline("123456")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    creds = json.loads(out.read_text())
    assert creds["AccessKeyId"].startswith("ASIA")
    assert "123456" not in out.read_text()
    # Second run: cached, so no prompt at all (no terminal is even needed).
    again = run_credproc("credential-process", "--profile", "admin")
    assert again.returncode == 0
    assert json.loads(again.stdout) == creds
    assert sts.calls["AssumeRole"] == 1


def test_mfa_token_flag_serves_scripts_without_a_terminal(aws_files: AwsFiles, sts: MotoSTS) -> None:
    aws_files.write_config(MFA_CONFIG)
    aws_files.write_credentials(CHAIN_CREDENTIALS)
    done = run_credproc("credential-process", "--profile", "admin", "--mfa-token", "654321")
    assert done.returncode == 0, done.stderr
    assert "654321" not in done.stdout + done.stderr


def test_without_a_terminal_mfa_fails_fast_with_exit_4(aws_files: AwsFiles, sts: MotoSTS) -> None:
    aws_files.write_config(MFA_CONFIG)
    aws_files.write_credentials(CHAIN_CREDENTIALS)
    done = run_credproc("credential-process", "--profile", "admin", timeout=20)
    assert done.returncode == 4
    assert done.stdout == ""
    assert "an MFA code for arn:aws:iam::000000000000:mfa/alice is needed" in done.stderr
    assert "--mfa-token" in done.stderr
    assert sts.calls["AssumeRole"] == 0
