"""Choosing, refreshing or refusing the access token (in process, against the emulator)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from credproc.errors import NeedsHumanError, UpstreamError
from credproc.sources.sso import access
from credproc.sources.sso.login import LoginOptions
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    START_URL,
    SsoEmulator,
    browse,
    sso_fixture,
    sso_server_fixture,
    token_file,
    write_token,
)

CMD = "credproc login --sso-session corp"


def _session(sso: SsoEmulator, oidc: str | None = None) -> SsoSession:
    return SsoSession("corp", START_URL, "us-east-1", ("sso:account:access",), oidc or sso.url, sso.url)


def _rt(warned: list[str] | None = None) -> Runtime:
    return Runtime(environ=dict(os.environ), warn=(warned if warned is not None else []).append)


def _dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_token_with_more_than_15_minutes_left_is_used_as_is(sso: SsoEmulator, hermetic_env: Path) -> None:
    data = write_token(hermetic_env, sso.emulator, expires_in=16 * 60, refreshable=True)
    assert access.valid_token(_rt(), _session(sso), CMD).access_token == data["accessToken"]
    assert sso.emulator.count("CreateToken") == 0


def test_a_short_token_that_cannot_refresh_is_still_used(sso: SsoEmulator, hermetic_env: Path) -> None:
    data = write_token(hermetic_env, sso.emulator, expires_in=5 * 60)
    assert access.valid_token(_rt(), _session(sso), CMD).access_token == data["accessToken"]


def test_a_refused_refresh_means_a_login_is_needed(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator, expires_in=-5, refreshable=True)
    sso.emulator.refresh_tokens.clear()  # the refresh token was revoked
    with pytest.raises(NeedsHumanError) as caught:
        access.valid_token(_rt(), _session(sso), CMD)
    assert caught.value.message == "the SSO session sso-session corp has expired"
    assert caught.value.hint == f"run `{CMD}`"
    assert sso.emulator.count("CreateToken") == 1


def test_an_unreachable_oidc_endpoint_keeps_a_still_valid_token_with_a_warning(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    data = write_token(hermetic_env, sso.emulator, expires_in=10 * 60, refreshable=True)
    warned: list[str] = []
    token = access.valid_token(_rt(warned), _session(sso, _dead_url()), CMD)
    assert token.access_token == data["accessToken"]
    assert warned and warned[0].startswith("could not refresh the SSO token")
    assert data["accessToken"] not in warned[0] and data["refreshToken"] not in warned[0]


def test_an_unreachable_oidc_endpoint_with_an_expired_token_is_exit_3(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    write_token(hermetic_env, sso.emulator, expires_in=-5, refreshable=True)
    with pytest.raises(UpstreamError):
        access.valid_token(_rt(), _session(sso, _dead_url()), CMD)


def test_a_refused_token_is_refreshed_instead_of_reused(sso: SsoEmulator, hermetic_env: Path) -> None:
    data = write_token(hermetic_env, sso.emulator, refreshable=True)
    token = access.valid_token(_rt(), _session(sso), CMD, bad=data["accessToken"])
    assert token.access_token != data["accessToken"]
    assert sso.emulator.count("CreateToken") == 1


def test_a_refused_token_without_refresh_needs_a_login(sso: SsoEmulator, hermetic_env: Path) -> None:
    data = write_token(hermetic_env, sso.emulator)
    with pytest.raises(NeedsHumanError) as caught:
        access.valid_token(_rt(), _session(sso), CMD, bad=data["accessToken"])
    assert "refused by the portal" in caught.value.message


def test_an_expired_session_with_login_allowed_signs_in(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator, expires_in=-5)
    token = access.valid_token(_rt(), _session(sso), CMD, LoginOptions(open_browser=browse))
    assert token.access_token in sso.emulator.tokens
    assert json.loads(token_file(hermetic_env, "corp").read_text())["accessToken"] == token.access_token
    assert sso.emulator.count("Authorize") == 1


def test_a_missing_token_file_says_there_is_no_sign_in(sso: SsoEmulator) -> None:
    with pytest.raises(NeedsHumanError) as caught:
        access.valid_token(_rt(), _session(sso), CMD)
    assert caught.value.message == "the SSO session sso-session corp has no sign-in yet"


def test_a_token_refreshed_by_another_process_meanwhile_is_taken(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    from credproc.sources.sso import token_cache

    old = write_token(hermetic_env, sso.emulator, expires_in=60, refreshable=True)
    path = str(token_file(hermetic_env, "corp"))
    seen = token_cache.load(path)
    assert seen is not None
    newer = write_token(hermetic_env, sso.emulator, expires_in=3600, refreshable=True)
    got = access._refresh(_rt(), _session(sso), path, seen, None)
    assert got is not None and got.access_token == newer["accessToken"] != old["accessToken"]
    assert sso.emulator.count("CreateToken") == 0
    token_cache.remove(path)
    assert access._refresh(_rt(), _session(sso), path, seen, None) is None
