"""The PKCE authorization-code flow: S256 challenge, a one-shot redirect listener on 127.0.0.1
port 0, ``state`` checked, a bounded wait.

The listener answers the browser with a short page and hands the first callback carrying this
login's ``state`` to the waiting thread. ``state`` is checked first, in constant time, before
anything else in the callback is read: another local user who guesses the port can neither end the
login nor put text on the victim's terminal. A callback with the wrong ``state`` gets a 400 and the
wait goes on; anything else (favicon requests, a second callback) gets a 404 and changes nothing.
Each connection is served on its own thread with a read deadline, so an idle local connection
cannot hold up the browser's, and closing the listener never waits for a stuck handler.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from credproc import launch
from credproc.errors import NeedsHumanError, UpstreamError
from credproc.sources.sso import oidc
from credproc.sources.sso.oidc import Grant
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from credproc.sources.sso.token_cache import Registration

CALLBACK_PATH = "/oauth/callback"
TICK_SECONDS = 0.1
CONNECTION_SECONDS = 5.0  # a connection that sends nothing for this long is dropped
ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # OAuth error codes; anything else is not shown
PAGE_OK = b"<html><body><h1>credproc: signed in</h1><p>You can close this tab.</p></body></html>"
PAGE_BAD = b"<html><body><h1>credproc: sign-in failed</h1><p>Return to the terminal.</p></body></html>"


class NoBrowser(Exception):
    """The opener could not show the page; the caller falls back to the device code flow."""


def make_verifier() -> str:
    return secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-], within RFC 7636's 43..128


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Callback:
    code: str | None
    state: str | None
    error: str | None


class _Handler(BaseHTTPRequestHandler):
    server: _Listener

    timeout = CONNECTION_SECONDS  # per read, on this connection only

    def log_message(self, format: str, *args: Any) -> None:  # keep codes out of logs
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH or self.server.done.is_set():
            self._page(404, b"not found")
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not _same(query.get("state"), self.server.state):
            with self.server.lock:
                self.server.refused += 1
            self._page(400, PAGE_BAD)
            return
        result = Callback(query.get("code"), query.get("state"), query.get("error"))
        good = result.code is not None and result.error is None
        with self.server.lock:
            if self.server.done.is_set():
                self._page(404, b"not found")
                return
            self.server.result = result
            self.server.done.set()
        self._page(200 if good else 400, PAGE_OK if good else PAGE_BAD)

    def _page(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def _same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a callback's ``state`` with this login's."""
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class _Listener(ThreadingHTTPServer):
    daemon_threads = True  # a stuck handler never keeps the process alive
    block_on_close = False  # and server_close() never waits for one

    def __init__(self, state: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.result: Callback | None = None
        self.refused = 0  # callbacks whose state did not belong to this login
        self.lock = threading.Lock()
        self.done = threading.Event()


def authorization_url(
    session: SsoSession, reg: Registration, redirect_uri: str, state: str, code_challenge: str
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": reg.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge_method": "S256",
            "scopes": " ".join(session.scopes),
            "code_challenge": code_challenge,
        }
    )
    return f"{oidc.authorize_base(session)}?{query}"


def login(
    rt: Runtime,
    session: SsoSession,
    reg: Registration,
    open_browser: Callable[[str], bool] | None,
    timeout: float,
    retry_hint: str,
) -> Grant:
    verifier, state = make_verifier(), secrets.token_urlsafe(24)
    listener = _Listener(state)
    thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    launch.start_without_signals(thread)  # Ctrl+C must reach the main thread, which waits
    try:
        redirect_uri = f"http://127.0.0.1:{listener.server_address[1]}{CALLBACK_PATH}"
        url = authorization_url(session, reg, redirect_uri, state, challenge(verifier))
        if open_browser is not None and not open_browser(url):
            raise NoBrowser
        rt.say(
            f"Sign in to {session.start_url} in your browser"
            + (":" if open_browser is None else " (if it did not open, visit this page):")
        )
        rt.say(url)
        result = _wait(rt, listener, timeout, retry_hint)
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join(5)
    if result.error is not None:
        readable = ERROR_CODE.fullmatch(result.error)
        shown = f": {result.error}" if readable else " (with an unreadable error code)"
        raise UpstreamError(f"the sign-in was refused{shown}", f"run `{retry_hint}` to try again")
    if result.code is None:
        raise UpstreamError(
            "the browser's answer carried no authorization code; nothing was saved",
            f"run `{retry_hint}` to try again",
        )
    return oidc.exchange_code(rt, session, reg, result.code, redirect_uri, verifier)


def _wait(rt: Runtime, listener: _Listener, timeout: float, retry_hint: str) -> Callback:
    deadline = rt.clock() + timeout
    while not listener.done.wait(TICK_SECONDS):
        rt.tick("waiting for the browser")
        if rt.clock() > deadline:
            if listener.refused:
                raise NeedsHumanError(
                    f"no answer from the browser within {timeout:.0f}s; {listener.refused} answer(s) that "
                    "did not belong to this login (state mismatch) were refused; nothing was saved",
                    f"run `{retry_hint}` again and finish it in the browser it opens",
                )
            raise NeedsHumanError(
                f"no answer from the browser within {timeout:.0f}s (was the tab closed?)",
                f"run `{retry_hint}` again, or add --device-code to sign in on another device",
            )
    assert listener.result is not None  # noqa: S101 - set before done
    return listener.result
