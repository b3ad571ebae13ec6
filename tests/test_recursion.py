"""credproc referenced from the very config it reads: self-reference ignored, loops reported."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import BASE_KEY_ID, BASE_SECRET, AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS

SELF = f"{sys.executable} -m credproc credential-process"


def test_a_credential_process_line_calling_credproc_for_the_same_profile_is_ignored(
    aws_files: AwsFiles, sts: MotoSTS
) -> None:
    aws_files.write_config(
        f"[profile base]\ncredential_process = {SELF} --profile base\n"
        f"[profile app]\nrole_arn = arn:aws:iam::111111111111:role/app\nsource_profile = base\n"
        f"credential_process = {SELF} --profile app\n"
    )
    aws_files.write_credentials(
        f"[base]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = {BASE_SECRET}\n"
    )
    done = run_credproc("credential-process", "--profile", "app")
    assert done.returncode == 0, done.stderr
    assert sts.calls["AssumeRole"] == 1


def test_a_credproc_line_for_another_profile_resolves_in_process(aws_files: AwsFiles, sts: MotoSTS) -> None:
    aws_files.write_config(
        f"[profile alias]\ncredential_process = credproc credential-process --profile real\n"
        f"[profile real]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = {BASE_SECRET}\n"
    )
    done = run_credproc("credential-process", "--profile", "alias")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"] == BASE_KEY_ID


def test_a_loop_through_credproc_lines_is_an_error_not_a_hang(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        "[profile p]\ncredential_process = credproc credential-process --profile q\n"
        "[profile q]\ncredential_process = credproc credential-process --profile p\n"
    )
    done = run_credproc("credential-process", "--profile", "p", timeout=30)
    assert done.returncode == 1
    assert "profile loop: p → q → p" in done.stderr


def test_a_loop_through_a_wrapper_script_is_caught_by_the_environment_guard(
    aws_files: AwsFiles, tmp_path: Path
) -> None:
    """A wrapper hides credproc from the line parser; the guard variable still stops the loop."""
    wrapper = tmp_path / "wrapper.sh"
    wrapper.write_text(f'#!/bin/sh\nexec {SELF} --profile "$1"\n')
    wrapper.chmod(0o755)
    aws_files.write_config(
        f"[profile p]\ncredential_process = {wrapper} q\n[profile q]\ncredential_process = {wrapper} p\n"
    )
    done = run_credproc("credential-process", "--profile", "p", timeout=60)
    assert done.returncode == 1  # bad input, passed up through each level
    assert done.stdout == ""
    assert "profile loop: p → q → p" in done.stderr
    assert "Traceback" not in done.stderr


def test_credential_process_source_output_is_cached_when_it_expires(
    aws_files: AwsFiles, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    helper = tmp_path / "helper.py"
    helper.write_text(
        "import json, pathlib\n"
        f"c = pathlib.Path({str(counter)!r}); c.write_text(str(int(c.read_text() or 0) + 1) if c.exists() else '1')\n"
        "print(json.dumps({'Version': 1, 'AccessKeyId': 'ASIAHELPEREXAMPLE002', 'SecretAccessKey': 'x' * 40,"
        " 'SessionToken': 't', 'Expiration': '2099-01-01T00:00:00Z'}))\n"
    )
    aws_files.write_config(f"[profile p]\ncredential_process = {sys.executable} {helper}\n")
    for _ in range(3):
        assert run_credproc("credential-process", "--profile", "p").returncode == 0
    assert counter.read_text() == "1"
