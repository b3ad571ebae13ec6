"""Many credential_process runs at once, as a parallel test suite or Terraform starts them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CREDPROC
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    SsoEmulator,
    browser_script,
    sso_fixture,
    sso_server_fixture,
    write_token,
)


def _run_all(argvs: list[list[str]], env: dict[str, str]) -> list[tuple[int, str, str]]:
    procs = [
        subprocess.Popen(
            [*CREDPROC, *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for argv in argvs
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    return results


@pytest.mark.slow
def test_32_parallel_cold_runs_make_one_get_role_credentials(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    results = _run_all([["credential-process", "--profile", "dev"]] * 32, dict(os.environ))
    assert [code for code, _, _ in results] == [0] * 32, [err for _, _, err in results if err]
    assert len({out for _, out, _ in results}) == 1
    assert sso.emulator.count("GetRoleCredentials") == 1


@pytest.mark.slow
def test_30_parallel_auto_logins_open_one_browser(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    write_token(hermetic_env, sso.emulator, expires_in=-60)  # an expired session, no refresh token
    env = {**os.environ, "BROWSER": browser_script(tmp_path)}
    # two profiles of one session: the per-profile cache lock alone would allow two logins
    argvs = [["credential-process", "--auto-login", "--profile", p] for p in ("dev", "dev-ro") * 15]
    results = _run_all(argvs, env)
    assert [code for code, _, _ in results] == [0] * 30, [err for _, _, err in results if err]
    assert len((tmp_path / "browser.log").read_text().splitlines()) == 1
    assert sso.emulator.count("Authorize") == 1
    assert sso.emulator.count("CreateToken") == 1
    assert sso.emulator.count("GetRoleCredentials") == 2


def test_auto_login_without_browser_or_terminal_exits_4_at_once(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "BROWSER": browser_script(tmp_path, "fail")}
    [(code, out, err)] = _run_all([["credential-process", "--auto-login", "--profile", "dev"]], env)
    assert code == 4 and out == ""
    assert "no browser could be opened and there is no terminal" in err
    assert "run `credproc login --sso-session corp` in a terminal" in err
