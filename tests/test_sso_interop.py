"""The token cache is shared with the AWS CLI and boto3, in both directions.

AWS CLI v1 (what the test extra installs) has no `aws sso login`, but its botocore resolves SSO
profiles from this cache and rewrites it when it refreshes a token; both directions are driven
through that real code: botocore's SSOTokenLoader and SSO credential provider read what credproc
writes, and credproc reads what botocore's SSOTokenProvider writes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import require, run_credproc
from tests.support.moto_sts import MotoSTS
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    START_URL,
    SsoEmulator,
    browser_script,
    sso_fixture,
    sso_server_fixture,
    token_file,
    write_token,
)


def _login(tmp_path: Path) -> None:
    env = {**os.environ, "BROWSER": browser_script(tmp_path)}
    done = run_credproc("login", "--sso-session", "corp", env=env)
    assert done.returncode == 0, done.stderr


def test_botocore_token_loader_reads_what_credproc_login_writes(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    from botocore.credentials import JSONFileCache
    from botocore.utils import SSOTokenLoader

    _login(tmp_path)
    cache = JSONFileCache(str(hermetic_env / ".aws" / "sso" / "cache"))
    loaded = SSOTokenLoader(cache=cache)(START_URL, session_name="corp")
    assert loaded["accessToken"] in sso.emulator.tokens
    assert loaded["startUrl"] == START_URL


# boto3 runs in its own process: botocore fixes the token folder from $HOME when first imported.
BOTO3_KEY = (
    "import boto3, sys; c = boto3.Session(profile_name=sys.argv[1]).get_credentials();"
    "print(c.get_frozen_credentials().access_key)"
)


def _boto3_access_key(profile: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", BOTO3_KEY, profile], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_boto3_resolves_an_sso_profile_from_credproc_login(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    _login(tmp_path)
    assert _boto3_access_key("dev").startswith("ASIA")
    assert sso.emulator.count("GetRoleCredentials") == 1


def test_aws_cli_uses_a_session_credproc_signed_in(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path, sts: MotoSTS
) -> None:
    require("aws", shutil.which("aws") is not None, "the AWS CLI comes with the [test] extra")
    _login(tmp_path)
    done = subprocess.run(
        ["aws", "sts", "get-caller-identity", "--profile", "dev", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Account"]
    assert sso.emulator.count("GetRoleCredentials") == 1


def test_credproc_uses_a_token_the_aws_cli_refreshed_and_rewrote(
    sso: SsoEmulator, hermetic_env: Path, sts: MotoSTS
) -> None:
    require("aws", shutil.which("aws") is not None, "the AWS CLI comes with the [test] extra")
    old = write_token(hermetic_env, sso.emulator, expires_in=120, refreshable=True)
    done = subprocess.run(
        ["aws", "sts", "get-caller-identity", "--profile", "dev"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rewritten = json.loads(token_file(hermetic_env, "corp").read_text())
    assert rewritten["accessToken"] != old["accessToken"]  # botocore refreshed and wrote the file
    assert sso.emulator.count("CreateToken") == 1

    answer = run_credproc("credential-process", "--profile", "dev-ro")
    assert answer.returncode == 0, answer.stderr
    assert sso.emulator.count("CreateToken") == 1  # credproc took botocore's token as it was
    assert json.loads(token_file(hermetic_env, "corp").read_text()) == rewritten


def test_credproc_refresh_keeps_the_file_readable_by_botocore(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator, expires_in=120, refreshable=True)
    assert run_credproc("credential-process", "--profile", "dev").returncode == 0
    assert sso.emulator.count("CreateToken") == 1
    assert _boto3_access_key("dev-ro").startswith("ASIA")
    assert sso.emulator.count("CreateToken") == 1  # botocore found the refreshed token fresh
