"""`credproc login`: PKCE on a 127.0.0.1 redirect by default, device code on request, both
completed against the emulator the way a person's browser would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from credproc.errors import NeedsHumanError
from credproc.sources.sso import token_cache
from credproc.sources.sso.login import LoginOptions, login
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from tests.conftest import CREDPROC, run_credproc
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    START_URL,
    SsoEmulator,
    browse,
    browser_script,
    sso_fixture,
    sso_server_fixture,
    token_file,
    write_token,
)


def _env(tmp_path: Path, mode: str = "follow") -> dict[str, str]:
    return {**os.environ, "BROWSER": browser_script(tmp_path, mode)}


def test_pkce_login_completes_through_the_browser_and_writes_the_token(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    done = run_credproc("login", "--sso-session", "corp", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    data = json.loads(token_file(hermetic_env, "corp").read_text())
    assert data["startUrl"] == START_URL and data["region"] == "us-east-1"
    assert {
        "accessToken",
        "expiresAt",
        "refreshToken",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
    } <= set(data)
    assert data["accessToken"] in sso.emulator.tokens
    assert data["accessToken"] not in done.stderr and data["refreshToken"] not in done.stderr
    assert "signed in to sso-session corp" in done.stderr
    assert sso.emulator.count("Authorize") == 1 and sso.emulator.count("CreateToken") == 1
    assert token_file(hermetic_env, "corp").stat().st_mode & 0o777 == 0o600
    url = (tmp_path / "browser.log").read_text().strip()
    assert "code_challenge_method=S256" in url and "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url
    # and the new session serves credentials
    assert run_credproc("credential-process", "--profile", "dev").returncode == 0


def test_client_registration_is_reused_until_it_expires(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    for _ in range(2):
        assert run_credproc("login", "--sso-session", "corp", env=env).returncode == 0
    assert sso.emulator.count("RegisterClient") == 1
    assert sso.emulator.count("Authorize") == 2
    for client in sso.emulator.clients.values():
        client.expires = time.time() - 1  # the server forgets it; the cached copy says "valid"
    for path in (hermetic_env / ".aws" / "sso" / "cache").glob("*.json"):
        data = json.loads(path.read_text())
        if "expiresAt" in data and "accessToken" not in data:
            data["expiresAt"] = "2000-01-01T00:00:00Z"
            path.write_text(json.dumps(data))
    assert run_credproc("login", "--sso-session", "corp", env=env).returncode == 0
    assert sso.emulator.count("RegisterClient") == 2


def test_no_browser_prints_the_url_on_stderr_and_completes_when_it_is_visited(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    proc = subprocess.Popen(
        [*CREDPROC, "login", "--profile", "dev", "--no-browser", "--timeout", "30"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    url = ""
    while not url:
        line = proc.stderr.readline()
        assert line, "credproc ended before printing the URL"
        if line.startswith("http"):
            url = line.strip()
    browse(url)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out == ""
    assert sso.emulator.count("Authorize") == 1
    assert token_file(hermetic_env, "corp").exists()


def test_wrong_state_in_the_redirect_is_refused_and_nothing_is_saved(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    # A forged redirect gets a 400 and the wait goes on (the real one may still come), so the login
    # ends at its timeout, saying why.
    sso.emulator.tamper_state = True
    done = run_credproc("login", "--sso-session", "corp", "--timeout", "2", env=_env(tmp_path))
    assert done.returncode == 4
    assert "state mismatch" in done.stderr.splitlines()[-2]
    assert not token_file(hermetic_env, "corp").exists()
    assert sso.emulator.count("CreateToken") == 0


def test_closed_browser_tab_times_out_with_a_clear_message(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    done = run_credproc("login", "--sso-session", "corp", "--timeout", "1", env=_env(tmp_path, "close"))
    assert time.monotonic() - started < 20
    assert done.returncode == 4
    lines = done.stderr.splitlines()
    assert lines[-2] == "credproc: error: no answer from the browser within 1s (was the tab closed?)"
    assert lines[-1].startswith("credproc: hint: run `credproc login --sso-session corp` again")
    assert not token_file(hermetic_env, "corp").exists()


def test_login_needs_an_sso_profile(sso: SsoEmulator) -> None:
    done = run_credproc("login", "--profile", "static")
    assert done.returncode == 1
    assert "does not use IAM Identity Center" in done.stderr


def test_profile_and_session_together_is_a_usage_error(sso: SsoEmulator) -> None:
    done = run_credproc("login", "--profile", "dev", "--sso-session", "corp")
    assert done.returncode == 2


# ---- the device code flow, in process with one clock shared by client and server -------------


class FakeTime:
    def __init__(self) -> None:
        self.now = time.time()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _session(sso: SsoEmulator) -> SsoSession:
    return SsoSession("corp", START_URL, "us-east-1", ("sso:account:access",), sso.url, sso.url)


def _device_runtime(fake: FakeTime, said: list[str]) -> Runtime:
    return Runtime(environ=dict(os.environ), clock=fake.clock, sleep=fake.sleep, say=said.append)


def test_device_code_login_honours_slow_down(sso: SsoEmulator, hermetic_env: Path) -> None:
    fake = FakeTime()
    sso.emulator.clock = fake.clock
    sso.emulator.advertised_interval, sso.emulator.device_interval = 1, 3  # a busy server
    said: list[str] = []
    token = login(
        _device_runtime(fake, said),
        _session(sso),
        LoginOptions(device_code=True, open_browser=browse),
        replace=None,
    )
    assert token.access_token in sso.emulator.tokens
    assert sso.emulator.count("DeviceApproval") == 1
    # polled once too fast, was told to slow down, waited 5 s longer, then got the token
    assert sso.emulator.count("CreateToken") == 2
    assert round(sum(fake.sleeps)) == 1 + 6
    assert any("enter the code" in line for line in said)
    assert token_file(hermetic_env, "corp").exists()


def test_expired_device_code_ends_the_login_with_exit_4(sso: SsoEmulator, hermetic_env: Path) -> None:
    fake = FakeTime()
    sso.emulator.clock = fake.clock
    sso.emulator.device_ttl = 4
    with pytest.raises(NeedsHumanError) as caught:
        login(_device_runtime(fake, []), _session(sso), LoginOptions(device_code=True), replace=None)
    assert caught.value.message == "the device code expired before it was approved"
    assert not token_file(hermetic_env, "corp").exists()


def test_no_browser_available_falls_back_to_a_device_code(sso: SsoEmulator, hermetic_env: Path) -> None:
    fake = FakeTime()
    sso.emulator.clock = fake.clock
    said: list[str] = []

    def approve_then_sleep(seconds: float) -> None:
        code = next(line.split("the code ")[1] for line in said if "the code " in line)
        sso.emulator.approve(code)
        fake.sleep(seconds)

    rt = Runtime(environ=dict(os.environ), clock=fake.clock, sleep=approve_then_sleep, say=said.append)
    token = login(rt, _session(sso), LoginOptions(open_browser=lambda url: False), replace=None)
    assert token.refresh_token
    assert "No browser could be opened; using a device code instead." in said
    assert sso.emulator.count("Authorize") == 0


def test_no_browser_and_no_terminal_fails_fast(sso: SsoEmulator, hermetic_env: Path) -> None:
    rt = Runtime(environ=dict(os.environ))
    with pytest.raises(NeedsHumanError) as caught:
        options = LoginOptions(open_browser=lambda url: False, interactive=False)
        login(rt, _session(sso), options, replace=None)
    assert "no browser could be opened and there is no terminal" in caught.value.message
    assert sso.emulator.count("StartDeviceAuthorization") == 0


def test_a_valid_token_written_by_someone_else_is_reused(sso: SsoEmulator, hermetic_env: Path) -> None:
    written = write_token(hermetic_env, sso.emulator)
    token = login(Runtime(environ=dict(os.environ)), _session(sso), LoginOptions(), replace="older-token")
    assert token.access_token == written["accessToken"]
    assert sso.emulator.count("RegisterClient") == 0


def test_registration_file_is_not_a_token(sso: SsoEmulator, hermetic_env: Path, tmp_path: Path) -> None:
    assert run_credproc("login", "--sso-session", "corp", env=_env(tmp_path)).returncode == 0
    tokens = token_cache.all_tokens(dict(os.environ))
    assert [path for path, _ in tokens] == [str(token_file(hermetic_env, "corp"))]


def test_a_denied_device_code_is_a_clear_refusal(sso: SsoEmulator, hermetic_env: Path) -> None:
    from credproc.errors import UpstreamError

    fake = FakeTime()
    sso.emulator.clock = fake.clock
    sso.emulator.deny_devices = True
    with pytest.raises(UpstreamError) as caught:
        login(_device_runtime(fake, []), _session(sso), LoginOptions(device_code=True), replace=None)
    assert caught.value.message == "the sign-in was denied in the browser"


def test_an_unknown_device_code_error_is_reported_as_aws_said_it(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    from credproc.errors import UpstreamError

    fake = FakeTime()
    sso.emulator.clock = fake.clock
    sso.emulator.devices.clear()

    def forget_codes(seconds: float) -> None:
        sso.emulator.devices.clear()  # the server lost the code: InvalidGrantException
        fake.sleep(seconds)

    rt = Runtime(environ=dict(os.environ), clock=fake.clock, sleep=forget_codes)
    with pytest.raises(UpstreamError) as caught:
        login(rt, _session(sso), LoginOptions(device_code=True), replace=None)
    assert "InvalidGrantException" in caught.value.message


def test_the_spinner_draws_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from credproc.terminal import Spinner

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, drawn in ((Tty(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        spinner = Spinner()
        spinner.tick("waiting for the browser")
        spinner.say("done")
        assert ("waiting for the browser" in stream.getvalue()) is drawn
        assert stream.getvalue().endswith("done\n")


def test_a_refusal_in_the_browser_is_reported_and_stray_requests_change_nothing(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    from urllib.parse import parse_qs, urlencode, urlsplit

    from credproc.errors import UpstreamError

    def refuse(url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        callback = query["redirect_uri"]
        browse(callback.replace("/oauth/callback", "/favicon.ico"))
        browse(callback + "?" + urlencode({"error": "access_denied", "state": query["state"]}))
        return True

    with pytest.raises(UpstreamError) as caught:
        login(
            Runtime(environ=dict(os.environ)), _session(sso), LoginOptions(open_browser=refuse), replace=None
        )
    assert caught.value.message == "the sign-in was refused: access_denied"
    assert not token_file(hermetic_env, "corp").exists()


def test_login_with_an_assume_role_profile_signs_in_to_the_session_at_its_root(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    done = run_credproc("login", "--profile", "chained", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "signed in to sso-session corp" in done.stderr
    assert token_file(hermetic_env, "corp").exists()


def test_login_with_a_profile_built_on_a_legacy_sso_profile(sso: SsoEmulator, hermetic_env: Path) -> None:
    from credproc import config
    from credproc.commands.login import target

    config_file = hermetic_env / ".aws" / "config"
    config_file.write_text(
        config_file.read_text() + "\n[profile on-legacy]\n"
        "credential_process = credproc credential-process --profile legacy\n"
    )
    env = dict(os.environ)
    session = target(env, config.load(env), "on-legacy", None)
    assert session.name is None and session.start_url.startswith("https://legacy.")
