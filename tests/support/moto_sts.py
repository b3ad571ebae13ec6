"""moto's real server on 127.0.0.1 port 0, with a WSGI middleware that counts calls by Action.

Counting in a middleware sees every request exactly as it crossed the wire, which is what
"exactly one AssumeRole per hop" is about.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


class CountingApp:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.calls: Counter[str] = Counter()
        self.fail_with: int | None = None  # answer every STS call with this HTTP status
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        if action:
            with self._lock:
                self.calls[action] += 1
        if self.fail_with is not None and action:
            start_response(f"{self.fail_with} Error", [("Content-Type", "text/xml")])
            return [b"<ErrorResponse><Error><Code>ServiceUnavailable</Code>"
                    b"<Message>injected</Message></Error></ErrorResponse>"]
        return self.app(environ, start_response)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


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
