"""`configure sso` against a hostile portal: text from the portal never becomes config lines.

A role name with a line break once added a `[profile default]` block with a `credential_process`
line, which then ran (issue 12, must-not-happen #1). Every account id, role name, region and
session name is checked against its strict shape first; anything else refuses the whole run, the
file stays byte-identical and no command it could carry ever runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from credproc.commands.configure import plan_sso
from credproc.errors import ConfigError, UpstreamError
from credproc.sources.sso.portal import Assignment
from tests.support.runner import run_credproc, run_in_process
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    Account,
    SsoEmulator,
    sso_fixture,
    sso_server_fixture,
    write_token,
)


def _injection(canary: Path) -> str:
    return f"Admin\n\n[profile default]\ncredential_process = sh -c 'touch {canary}'\nregion = x"


def test_a_role_name_with_a_profile_block_inside_is_refused_and_nothing_runs(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    sso.emulator.accounts = [Account("111111111111", "dev", ("ReadOnly", _injection(canary)))]
    write_token(hermetic_env, sso.emulator)
    config = hermetic_env / ".aws" / "config"
    before = config.read_bytes()
    for extra in ((), ("--dry-run",)):
        done = run_credproc("configure", "sso", "--sso-session", "corp", *extra, timeout=30)
        assert done.returncode == 3, done.stderr
        assert done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "role name" in done.stderr and "nothing was written" in done.stderr
        assert "\n[profile default]" not in done.stderr  # the value is shown escaped
        assert config.read_bytes() == before
    # the profile the attack targeted resolves as before (it does not exist), and nothing ran
    answer = run_credproc("credential-process", "--profile", "default", timeout=30)
    assert answer.returncode != 0
    assert not canary.exists()


@pytest.mark.parametrize(
    ("account", "role", "what"),
    [
        ("11111111111", "Admin", "account id"),  # 11 digits
        ("1111111111111", "Admin", "account id"),
        ("11111111111a", "Admin", "account id"),
        ("111111111111\n", "Admin", "account id"),
        ("111111111111", "", "role name"),
        ("111111111111", "a" * 65, "role name"),
        ("111111111111", "Admin ReadOnly", "role name"),
        ("111111111111", "Admin]", "role name"),
        ("111111111111", "Adm\u0131n", "role name"),  # not ASCII
        ("111111111111", "Admin\r", "role name"),
    ],
)
def test_portal_values_of_the_wrong_shape_are_refused(account: str, role: str, what: str) -> None:
    with pytest.raises(UpstreamError, match=what):
        plan_sso([Assignment(account, "dev", role)], "corp", "{account_name}-{role_name}", "us-east-1", ())


@pytest.mark.parametrize("region", ["us-east-1\n[profile x]", "us east 1", "", "eu-west-1\x00"])
def test_a_region_of_the_wrong_shape_is_refused(region: str) -> None:
    with pytest.raises(ConfigError, match="region"):
        plan_sso([Assignment("111111111111", "dev", "Admin")], "corp", "{role_name}", region, ())


@pytest.mark.parametrize("session", ["corp\n[profile x]", "my corp", "corp]"])
def test_a_session_name_of_the_wrong_shape_is_refused(session: str) -> None:
    with pytest.raises(ConfigError, match="session name"):
        plan_sso([Assignment("111111111111", "dev", "Admin")], session, "{role_name}", "us-east-1", ())


def test_iam_shaped_names_are_written(sso: SsoEmulator, hermetic_env: Path) -> None:
    sso.emulator.accounts = [Account("111111111111", "dev", ("a+b=c,d.e@f-g_h", "x" * 64))]
    write_token(hermetic_env, sso.emulator)
    done = run_in_process("configure", "sso", "--sso-session", "corp", "--region", "us-gov-west-1")
    assert done.returncode == 0, done.stderr
    text = (hermetic_env / ".aws" / "config").read_text()
    assert "sso_role_name = a+b=c,d.e@f-g_h\n" in text and "region = us-gov-west-1\n" in text
    assert [line for line in text.splitlines() if line.startswith("[profile ")][5:] == [
        "[profile dev-a+b=c,d.e@f-g_h]",
        "[profile dev-a+b=c,d.e@f-g_h.sso]",
        f"[profile dev-{'x' * 64}]",
        f"[profile dev-{'x' * 64}.sso]",
    ]
