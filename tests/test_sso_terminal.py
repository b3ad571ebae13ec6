"""`--auto-login` talks to the person on the controlling terminal, never on stdout."""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

from tests.conftest import require
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    SsoEmulator,
    browse,
    browser_script,
    sso_fixture,
    sso_server_fixture,
    write_token,
)


def test_auto_login_shows_a_device_code_on_the_terminal_when_no_browser_opens(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    try:
        import pexpect
    except ImportError:
        pexpect = None
    require("pexpect", pexpect is not None, "pexpect is in the [test] extra")
    assert pexpect is not None
    write_token(hermetic_env, sso.emulator, expires_in=-60)
    env = {**os.environ, "BROWSER": browser_script(tmp_path, "fail")}
    out = tmp_path / "stdout.json"
    # stdout goes to a file, as the AWS CLI captures it; the terminal stays the person's
    python = shlex.quote(sys.executable)
    command = f"{python} -m credproc credential-process --auto-login --profile dev > {out}"
    child = pexpect.spawn("/bin/sh", ["-c", command], env=env, encoding="utf-8", timeout=30)
    child.expect(r"\(or open (http\S+)\)")
    url = child.match.group(1)
    assert re.search(r"user_code=[0-9A-F]{4}-[0-9A-F]{4}$", url)
    browse(url)  # the person approves the code on another device
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert out.read_text().startswith('{"Version":1,"AccessKeyId":"ASIA')
    assert "code" not in out.read_text()
    assert sso.emulator.count("StartDeviceAuthorization") == 1
    assert sso.emulator.count("GetRoleCredentials") == 1
