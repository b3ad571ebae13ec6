"""The PKCE redirect listener against other local clients: a forged callback (wrong ``state``), an
idle connection, an error code full of escape sequences. Real sockets, real HTTP, the emulator."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from credproc.errors import NeedsHumanError, UpstreamError
from credproc.sources.sso import pkce
from credproc.sources.sso.login import LoginOptions, login
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    START_URL,
    SsoEmulator,
    browse,
    sso_fixture,
    sso_server_fixture,
    token_file,
)


def _session(sso: SsoEmulator) -> SsoSession:
    return SsoSession("corp", START_URL, "us-east-1", ("sso:account:access",), sso.url, sso.url)


def _callback(url: str) -> tuple[str, int, str]:
    """The listener's host, port and callback path from an /authorize URL, and its state."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    redirect = urlsplit(query["redirect_uri"])
    assert redirect.hostname is not None and redirect.port is not None
    return redirect.hostname, redirect.port, query["state"]


def _get(host: str, port: int, query: dict[str, str]) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/oauth/callback?" + urlencode(query))
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def _idle(host: str, port: int, held: list[socket.socket]) -> None:
    """A local client that connects and then says nothing."""
    held.append(socket.create_connection((host, port), timeout=5))


@pytest.fixture
def patient_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle connections are kept for a minute, so only serving them side by side can explain a
    login that ends sooner (the real per-connection deadline would end them after 5 s)."""
    monkeypatch.setattr(pkce._Handler, "timeout", 60.0)


def test_a_forged_callback_gets_a_400_and_the_real_one_still_signs_in(
    sso: SsoEmulator, hermetic_env: Path, patient_listener: None
) -> None:
    held: list[socket.socket] = []
    statuses: list[int] = []

    def attacker_then_browser(url: str) -> bool:
        host, port, _state = _callback(url)

        def run() -> None:
            _idle(host, port, held)  # sits idle for the whole login
            statuses.append(_get(host, port, {"error": "access_denied", "state": "guessed"}))
            statuses.append(_get(host, port, {"code": "forged", "state": "guessed"}))
            statuses.append(_get(host, port, {"code": "forged"}))
            browse(url)  # the real browser, after all that

        threading.Thread(target=run, daemon=True).start()
        return True

    try:
        login(
            Runtime(environ=dict(os.environ)),
            _session(sso),
            LoginOptions(open_browser=attacker_then_browser, timeout=30),
            replace=None,
        )
        [idle] = held
        idle.setblocking(False)
        with pytest.raises(BlockingIOError):  # still open and silent: it was served beside the browser
            idle.recv(1)
    finally:
        for sock in held:
            sock.close()
    assert statuses == [400, 400, 400]
    assert token_file(hermetic_env, "corp").exists()
    assert sso.emulator.count("CreateToken") == 1


@pytest.mark.parametrize("timeout", [1, 2])
def test_an_idle_local_connection_cannot_stretch_the_timeout(
    sso: SsoEmulator, hermetic_env: Path, timeout: int, patient_listener: None
) -> None:
    held: list[socket.socket] = []

    def idle_only(url: str) -> bool:
        host, port, _state = _callback(url)
        _idle(host, port, held)
        return True  # a tab the person closed

    outcome: list[BaseException] = []

    def run() -> None:
        try:
            login(
                Runtime(environ=dict(os.environ)),
                _session(sso),
                LoginOptions(open_browser=idle_only, timeout=timeout),
                replace=None,
            )
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout + 30)  # bounded even when the listener hangs
    elapsed = time.monotonic() - started
    for sock in held:
        sock.close()
    assert not worker.is_alive(), "login hung on an idle connection"
    assert elapsed < timeout + 20  # the idle connection would hold it for 60 s (or for ever before)
    assert len(outcome) == 1 and isinstance(outcome[0], NeedsHumanError)
    assert outcome[0].message == f"no answer from the browser within {timeout}s (was the tab closed?)"


def test_an_error_code_with_escape_sequences_is_not_shown(sso: SsoEmulator, hermetic_env: Path) -> None:
    def hostile(url: str) -> bool:
        host, port, state = _callback(url)
        threading.Thread(
            target=_get,
            args=(host, port, {"error": "\x1b]0;owned\x07\x1b[2Jevil", "state": state}),
            daemon=True,
        ).start()
        return True

    with pytest.raises(UpstreamError) as caught:
        login(
            Runtime(environ=dict(os.environ)),
            _session(sso),
            LoginOptions(open_browser=hostile, timeout=10),
            replace=None,
        )
    assert caught.value.message == "the sign-in was refused (with an unreadable error code)"
    assert not token_file(hermetic_env, "corp").exists()
