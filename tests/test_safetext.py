"""No text from the network reaches a terminal with control characters in it: a hostile portal's
error message is shown with its escape sequences written out, and credproc's own text is unchanged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from credproc.safetext import printable
from tests.conftest import run_credproc
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    SsoEmulator,
    sso_fixture,
    sso_server_fixture,
    write_token,
)

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b[31mfake\r\ncredproc: hint: run rm -rf ~\u202e\x9b"


def test_control_and_invisible_characters_are_written_as_escapes() -> None:
    assert printable(HOSTILE) == (
        "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mfake\\x0d\\x0acredproc: hint: run rm -rf ~\\u202e\\x9b"
    )
    own = "profile 'dev' in ~/.aws/config: région “eu-west-3” is fine — 100%"
    assert printable(own) == own


class _Hostile(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"message": HOSTILE}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", "InvalidRequestException")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def hostile_portal() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_hostile_portal_error_reaches_stderr_without_control_characters(
    sso: SsoEmulator, hermetic_env: Path, hostile_portal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_token(hermetic_env, sso.emulator)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", hostile_portal)
    done = run_credproc("credential-process", "--profile", "dev")
    assert done.returncode != 0
    assert "owned" in done.stderr  # the message is shown, written out
    assert not any(ch in done.stderr for ch in "\x1b\x07\r\u202e\x9b"), repr(done.stderr)
    assert "\\x1b]0;owned\\x07" in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("credproc: hint: run rm")] == []
