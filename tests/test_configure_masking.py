"""`configure --dry-run` never prints a secret value in its diff, context lines included."""

from __future__ import annotations

from tests.conftest import AwsFiles
from tests.support.runner import run_in_process

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKENzz"


def test_dry_run_masks_secret_values_in_the_diff(aws_files: AwsFiles) -> None:
    aws_files.config.write_text(
        "[profile p]\n"
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        f"aws_secret_access_key = {SECRET}\n"
        f"aws_session_token = {TOKEN}\n"
        "my_key_passphrase = pass-secret-zz\n"
        "region = eu-west-1\n"
    )
    done = run_in_process(
        "configure",
        "p",
        "--no-credential-process",
        "--region",
        "us-east-1",
        "--set",
        "db_password=pw-zz",
        "--dry-run",
    )
    assert done.returncode == 0, done.stderr
    for secret in (SECRET, TOKEN, "pass-secret-zz", "pw-zz"):
        assert secret not in done.stdout
    assert " aws_secret_access_key = ****\n" in done.stdout
    assert "+db_password = ****\n" in done.stdout
    assert "+region = us-east-1\n" in done.stdout and "-region = eu-west-1\n" in done.stdout
