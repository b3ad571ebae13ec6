"""moto's real server on 127.0.0.1 port 0, with a WSGI middleware that counts calls by Action
and can inject faults.

Counting in a middleware sees every request exactly as it crossed the wire, which is what
"exactly one AssumeRole per hop" is about. Faults (``Fault``) are what a real STS endpoint or the
network between does on a bad day: 5xx, throttling, slow answers, reset connections, bodies cut
short or garbled, and answers whose Expiration a skewed clock put in the past or far future.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler, make_server

from tests.support.faults import Fault, pick
from tests.support.loopback import LoopbackServer, answer_fault, reset_connection


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # a connection the "reset" fault closed under keep-alive
            super().handle()


class CountingApp:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.calls: Counter[str] = Counter()
        self.fail_with: int | None = None  # answer every STS call with this HTTP status
        self.faults: list[Fault] = []  # answered first, one per STS call, in order
        self.always: Fault | None = None  # then this one on every STS call
        self.arrivals: list[float] = []  # monotonic time of each STS call (retry spacing)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        fault = None
        if action:
            with self._lock:
                self.calls[action] += 1
                self.arrivals.append(time.monotonic())
                fault = pick(self.faults, self.always, action)
        if self.fail_with is not None and action:
            return _error(start_response, self.fail_with, "ServiceUnavailable")
        if fault is None:
            return self.app(environ, start_response)
        return self._inject(fault, environ, start_response)

    def _inject(
        self, fault: Fault, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        replaced = _StsFaults(environ, start_response)
        if answer_fault(fault, replaced):
            return replaced.body
        if fault.kind == "slow":  # answer_fault has slept
            return self.app(environ, start_response)
        status, headers, body = _capture(self.app, environ)
        if fault.kind == "truncate":
            start_response(
                status,
                [
                    *(h for h in headers if h[0].lower() != "content-length"),
                    ("Content-Length", str(len(body))),
                ],
            )
            return [body[: len(body) // 2]]
        when = datetime.now(timezone.utc) + timedelta(seconds=fault.value)  # "expiration"
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        body = re.sub(rb"<Expiration>[^<]*</Expiration>", b"<Expiration>" + stamp + b"</Expiration>", body)
        start_response(
            status,
            [*(h for h in headers if h[0].lower() != "content-length"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faults.clear()
            self.always = None
            self.arrivals.clear()


class _StsFaults:
    """STS's words for an injected fault (XML), as the WSGI answer to return."""

    def __init__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> None:
        self.environ, self.start_response = environ, start_response
        self.body: Iterable[bytes] = []

    def error(self, status: int, code: str, message: str) -> None:
        self.body = _error(self.start_response, status, code)

    def throttle(self) -> None:
        self.body = _error(self.start_response, 400, "Throttling", "Rate exceeded")

    def malformed(self) -> None:
        self.start_response("200 OK", [("Content-Type", "text/xml")])
        self.body = [b"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>"]

    def nested(self, depth: int) -> None:
        self.start_response("200 OK", [("Content-Type", "text/xml")])
        self.body = [b"<a>" * depth + b"</a>" * depth]

    def reset(self) -> None:
        # werkzeug treats the ConnectionError as a client that went away, quietly.
        reset_connection(self.environ["werkzeug.socket"])
        raise ConnectionResetError("injected reset")


def _error(
    start_response: Callable[..., Any], status: int, code: str, message: str = "injected"
) -> Iterable[bytes]:
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
        "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    ).encode()
    start_response(f"{status} Error", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _capture(
    app: Callable[..., Iterable[bytes]], environ: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        seen.update(status=status, headers=headers)

    body = b"".join(app(environ, start))
    return seen["status"], list(seen["headers"]), body


class MotoSTS(LoopbackServer):
    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app

        self.app = CountingApp(DomainDispatcherApplication(create_backend_app))
        super().__init__(
            make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=QuietHandler),
            poll_interval=0.5,
        )

    def __enter__(self) -> MotoSTS:
        super().__enter__()
        return self

    @property
    def calls(self) -> Counter[str]:
        return self.app.calls
