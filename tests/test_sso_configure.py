"""`credproc configure sso`: one profile per account and role, appended, nothing else touched."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_credproc
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    SsoEmulator,
    sso_fixture,
    sso_server_fixture,
    write_token,
)

ROLES = ["dev-Admin", "dev-ReadOnly", "prod-ReadOnly", "sandbox-Admin"]


def test_dry_run_prints_the_profiles_and_writes_nothing(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    config = hermetic_env / ".aws" / "config"
    before = config.read_text()
    done = run_credproc("configure", "sso", "--sso-session", "corp", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert config.read_text() == before
    headers = [line for line in done.stdout.splitlines() if line.startswith("[profile")]
    assert headers == [h for name in ROLES for h in (f"[profile {name}]", f"[profile {name}.sso]")]
    assert "credential_process = credproc credential-process --profile dev-Admin.sso" in done.stdout
    # every page of accounts and roles was read
    assert sso.emulator.count("ListAccounts") == 2
    assert sso.emulator.count("ListAccountRoles") == 3


def test_profiles_are_appended_and_resolve(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    config = hermetic_env / ".aws" / "config"
    config.write_text("# my settings, keep me\n" + config.read_text())
    before = config.read_text()
    done = run_credproc(
        "configure",
        "sso",
        "--sso-session",
        "corp",
        "--name-template",
        "{session}.{account_id}.{role_name}",
        "--region",
        "eu-central-1",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    after = config.read_text()
    assert after.startswith(before)
    assert "[profile corp.111111111111.Admin]" in after and "region = eu-central-1" in after
    answer = run_credproc("credential-process", "--profile", "corp.222222222222.ReadOnly")
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["AccessKeyId"].startswith("ASIA")

    again = run_credproc(
        "configure", "sso", "--sso-session", "corp", "--name-template", "{session}.{account_id}.{role_name}"
    )
    assert again.returncode == 0
    assert config.read_text() == after
    assert "exists; left as it is" in again.stderr


def test_botocore_reads_the_written_profiles(sso: SsoEmulator, hermetic_env: Path) -> None:
    import botocore.session

    write_token(hermetic_env, sso.emulator)
    assert run_credproc("configure", "sso", "--sso-session", "corp").returncode == 0
    profiles = botocore.session.Session().full_config["profiles"]
    assert profiles["sandbox-Admin.sso"]["sso_account_id"] == "333333333333"
    assert profiles["sandbox-Admin"]["credential_process"].endswith("--profile sandbox-Admin.sso")


def test_without_a_session_it_asks_for_a_login(sso: SsoEmulator) -> None:
    done = run_credproc("configure", "sso", "--sso-session", "corp")
    assert done.returncode == 4
    assert "run `credproc login --sso-session corp`" in done.stderr


def test_a_bad_name_template_is_bad_input(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    done = run_credproc("configure", "sso", "--sso-session", "corp", "--name-template", "{nope}")
    assert done.returncode == 1
    assert "--name-template" in done.stderr


def test_append_creates_a_missing_file_and_ends_the_last_line(tmp_path: Path) -> None:
    from credproc.commands.configure import append

    fresh = tmp_path / "new" / "config"
    append(str(fresh), "[profile a]\nregion = x\n")
    assert fresh.read_text() == "[profile a]\nregion = x\n"
    assert fresh.stat().st_mode & 0o777 == 0o600
    old = tmp_path / "config"
    old.write_text("[default]\nregion = y")
    old.chmod(0o644)
    append(str(old), "[profile b]\n")
    assert old.read_text() == "[default]\nregion = y\n[profile b]\n"
    assert old.stat().st_mode & 0o777 == 0o644
