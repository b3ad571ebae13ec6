"""SSO profiles through `credproc credential-process`, run as the AWS CLI runs it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import run_credproc
from tests.support.runner import run_in_process
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    LEGACY_URL,
    SsoEmulator,
    sso_fixture,
    sso_server_fixture,
    token_file,
    write_token,
)


def test_valid_token_gives_role_credentials(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    done = run_credproc("credential-process", "--profile", "dev")
    assert done.returncode == 0, done.stderr
    creds = json.loads(done.stdout)
    assert creds["Version"] == 1 and creds["AccessKeyId"].startswith("ASIA")
    assert creds["SessionToken"].startswith("sso-session-") and creds["Expiration"].endswith("Z")
    assert sso.emulator.count("GetRoleCredentials") == 1
    assert done.stderr == ""


def test_second_run_is_a_cache_hit(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    first = run_credproc("credential-process", "--profile", "dev")
    second = run_credproc("credential-process", "--profile", "dev")
    assert first.stdout == second.stdout
    assert sso.emulator.count("GetRoleCredentials") == 1


def test_legacy_profile_uses_the_token_named_after_the_start_url(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    write_token(hermetic_env, sso.emulator, cache_id=LEGACY_URL, start_url=LEGACY_URL)
    done = run_in_process("credential-process", "--profile", "legacy", entry=True)
    assert done.returncode == 0, done.stderr
    assert sso.emulator.count("GetRoleCredentials") == 1


def test_sso_profile_as_source_of_an_assume_role_chain(
    sso: SsoEmulator, hermetic_env: Path, sts: object
) -> None:
    write_token(hermetic_env, sso.emulator)
    done = run_in_process("credential-process", "--profile", "chained", entry=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"]
    assert sso.emulator.count("GetRoleCredentials") == 1


def test_expiring_token_is_refreshed_once_and_file_keeps_the_cli_format(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    old = write_token(hermetic_env, sso.emulator, expires_in=300, refreshable=True)
    done = run_in_process("credential-process", "--profile", "dev", entry=True)
    assert done.returncode == 0, done.stderr
    assert sso.emulator.count("CreateToken") == 1
    new = json.loads(token_file(hermetic_env, "corp").read_text())
    assert new["accessToken"] != old["accessToken"] and new["refreshToken"] != old["refreshToken"]
    assert set(new) == set(old)
    assert new["clientId"] == old["clientId"] and new["startUrl"] == old["startUrl"]
    assert time.strptime(new["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")
    assert token_file(hermetic_env, "corp").stat().st_mode & 0o777 == 0o600


def test_expired_token_without_refresh_exits_4_with_the_login_command(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    write_token(hermetic_env, sso.emulator, expires_in=-60)
    done = run_in_process("credential-process", "--profile", "dev", entry=True)
    assert done.returncode == 4
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "credproc: error: the SSO session sso-session corp has expired",
        "credproc: hint: run `credproc login --sso-session corp`",
    ]
    assert sso.emulator.count("GetRoleCredentials") == 0


def test_legacy_profile_hint_names_the_profile(sso: SsoEmulator) -> None:
    done = run_in_process("credential-process", "--profile", "legacy", entry=True)
    assert done.returncode == 4
    assert "has no sign-in yet" in done.stderr
    assert "run `credproc login --profile legacy`" in done.stderr


def test_revoked_token_exits_4_and_leaks_no_token(sso: SsoEmulator, hermetic_env: Path) -> None:
    data = write_token(hermetic_env, sso.emulator)
    sso.emulator.revoke_all()
    done = run_in_process("credential-process", "--profile", "dev", entry=True)
    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    assert "refused by the portal" in done.stderr
    assert data["accessToken"] not in done.stderr


def test_unreachable_portal_exits_3_quickly(sso: SsoEmulator, hermetic_env: Path) -> None:
    import socket

    write_token(hermetic_env, sso.emulator)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    env = {**__import__("os").environ, "AWS_ENDPOINT_URL_SSO": dead}
    started = time.monotonic()
    done = run_in_process("credential-process", "--profile", "dev", env=env, entry=True)
    elapsed = time.monotonic() - started
    assert done.returncode == 3, done.stderr
    assert done.stdout == "" and len(done.stderr.splitlines()) <= 2
    assert elapsed < 30


def test_revoked_token_with_auto_login_signs_in_again(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    import os

    from tests.support.sso_emulator import browser_script

    write_token(hermetic_env, sso.emulator)
    sso.emulator.revoke_all()
    env = {**os.environ, "BROWSER": browser_script(tmp_path)}
    done = run_credproc("credential-process", "--auto-login", "--profile", "dev", env=env)
    assert done.returncode == 0, done.stderr
    assert sso.emulator.count("Authorize") == 1
    assert sso.emulator.count("GetRoleCredentials") == 2  # refused once, then served


def test_a_cache_hit_on_an_sso_profile_touches_no_sso_code(sso: SsoEmulator, hermetic_env: Path) -> None:
    import os
    import subprocess
    import sys

    write_token(hermetic_env, sso.emulator)
    assert run_credproc("credential-process", "--profile", "dev").returncode == 0
    hit = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "credproc", "credential-process", "--profile", "dev"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=30,
        check=False,
    )
    assert hit.returncode == 0 and hit.stdout.startswith('{"Version":1')
    imported = {line.split("|")[-1].strip() for line in hit.stderr.splitlines() if "|" in line}
    slow = ("botocore", "credproc.sources.sso", "credproc.sources", "click")
    assert not {m for m in imported if m.startswith(slow)}
    assert sso.emulator.count("GetRoleCredentials") == 1


def test_a_token_refused_again_after_a_new_login_is_exit_4(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    import os

    from tests.support.sso_emulator import browser_script

    write_token(hermetic_env, sso.emulator)
    sso.emulator.refuse_bearer = True
    env = {**os.environ, "BROWSER": browser_script(tmp_path), "CREDPROC_SSO_LOGIN_TIMEOUT": "soon"}
    done = run_credproc("credential-process", "--auto-login", "--profile", "dev", env=env)
    assert done.returncode == 4
    assert "refused by the portal" in done.stderr
    assert sso.emulator.count("Authorize") == 1 and sso.emulator.count("GetRoleCredentials") == 2
