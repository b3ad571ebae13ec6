"""moto's real server on 127.0.0.1 port 0, with a WSGI middleware that counts calls by Action
and can inject faults.

Counting in a middleware sees every request exactly as it crossed the wire, which is what
"exactly one AssumeRole per hop" is about. Faults (``Fault``) are what a real STS endpoint or the
network between does on a bad day: 5xx, throttling, slow answers, reset connections, bodies cut
short or garbled, and answers whose Expiration a skewed clock put in the past or far future.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler, make_server

from tests.support.faults import Fault, pick


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

    def _inject(self, fault: Fault, environ: dict[str, Any],
                start_response: Callable[..., Any]) -> Iterable[bytes]:
        if fault.kind == "status":
            return _error(start_response, int(fault.value), fault.code)
        if fault.kind == "throttle":
            return _error(start_response, 400, "Throttling", "Rate exceeded")
        if fault.kind == "malformed":
            start_response("200 OK", [("Content-Type", "text/xml")])
            return [b"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>"]
        if fault.kind == "reset":
            conn: socket.socket = environ["werkzeug.socket"]
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Close the descriptor itself (the handler's files still hold the socket object, whose
            # close() would wait for them): linger 0 makes the kernel answer with RST. werkzeug
            # treats the ConnectionError as a client that went away, quietly.
            os.close(conn.detach())
            raise ConnectionResetError("injected reset")
        if fault.kind == "slow":
            time.sleep(fault.value)
            return self.app(environ, start_response)
        status, headers, body = _capture(self.app, environ)
        if fault.kind == "truncate":
            start_response(status, [*(h for h in headers if h[0].lower() != "content-length"),
                                    ("Content-Length", str(len(body)))])
            return [body[: len(body) // 2]]
        if fault.kind == "expiration":
            when = datetime.now(timezone.utc) + timedelta(seconds=fault.value)
            stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
            body = re.sub(rb"<Expiration>[^<]*</Expiration>", b"<Expiration>" + stamp + b"</Expiration>", body)
            start_response(status, [*(h for h in headers if h[0].lower() != "content-length"),
                                    ("Content-Length", str(len(body)))])
            return [body]
        raise ValueError(f"unknown fault {fault.kind}")

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faults.clear()
            self.always = None
            self.arrivals.clear()


def _error(start_response: Callable[..., Any], status: int, code: str,
           message: str = "injected") -> Iterable[bytes]:
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>").encode()
    start_response(f"{status} Error", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _capture(app: Callable[..., Iterable[bytes]],
             environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        seen.update(status=status, headers=headers)

    body = b"".join(app(environ, start))
    return seen["status"], list(seen["headers"]), body


class MotoSTS:
    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app

        self.app = CountingApp(DomainDispatcherApplication(create_backend_app))
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=QuietHandler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MotoSTS:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)

    @property
    def calls(self) -> Counter[str]:
        return self.app.calls
