"""The loopback container-credentials endpoint (``exec --server`` and ``serve``).

It speaks the protocol of the SDKs' container provider (``AWS_CONTAINER_CREDENTIALS_FULL_URI`` +
``AWS_CONTAINER_AUTHORIZATION_TOKEN``): GET on one path, the token in ``Authorization``, JSON
``AccessKeyId``/``SecretAccessKey``/``Token``/``Expiration`` back.

Defences, each cheap:
- binds 127.0.0.1 only; a ``Host`` header naming anything but this loopback address and port is
  refused (DNS rebinding from a browser page);
- a random 256-bit token, compared in constant time; 401 when missing, 403 when wrong, no detail;
- every connection has an absolute deadline (a client dripping one byte at a time is cut off),
  and a much shorter one for its request line (a client that connects and says nothing is gone
  within ``REQUEST_LINE_SECONDS``); at most ``MAX_CONNECTIONS`` are served at once, and when all
  are taken a new connection evicts the oldest one that has not yet sent a whole request (idle
  sockets cannot crowd out real requests); only when every slot holds a request being answered is
  the new one closed at once. Request lines and headers are bounded, bodies are never read, and
  each connection carries one request.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from credproc import launch
from credproc.credentials import Credentials, format_expiration
from credproc.envbuild import Endpoint
from credproc.errors import CredprocError

HOST = "127.0.0.1"
PATH = "/credproc/v1/credentials"
TOKEN_BYTES = 32  # 256 bits
CONNECTION_DEADLINE_SECONDS = 10.0
REQUEST_LINE_SECONDS = 2.0  # SDKs send the whole request at once; an idle socket is dropped soon
MAX_CONNECTIONS = 32
MAX_LINE = 8192
MAX_HEADERS = 64
LONG_TERM_TTL = 3600

Provider = Callable[[], Credentials]


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def payload(creds: Credentials, now: float, max_ttl: float | None = None) -> dict[str, str]:
    """The container-provider JSON.

    ``Token`` and ``Expiration`` are always present: botocore and the JavaScript SDK reject a
    response without them. Long-term keys get an empty token (no header is signed) and an
    advisory expiration ``LONG_TERM_TTL`` ahead, so clients come back and see rotated keys.
    ``max_ttl`` caps the advertised expiration so clients ask again sooner
    (CREDPROC_SERVER_MAX_TTL; for tests and debugging).
    """
    from datetime import datetime, timezone

    expiration = creds.expiration.timestamp() if creds.expiration is not None else now + LONG_TERM_TTL
    if max_ttl is not None:
        expiration = min(expiration, now + max_ttl)
    return {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token or "",
        "Expiration": format_expiration(datetime.fromtimestamp(int(expiration), tz=timezone.utc)),
    }


class _DeadlineReader:
    """``readline`` over a socket that never blocks past the connection's absolute deadline.

    A buffered file's readline may call recv many times, each with the full socket timeout;
    reading here sets the timeout to what is left before every recv.
    """

    def __init__(self, sock: socket.socket, deadline: float, first_line_deadline: float) -> None:
        self.sock, self.deadline, self.buf = sock, deadline, b""
        self.first_line_deadline = first_line_deadline  # the request line's, then ``deadline``

    def readline(self, limit: int = MAX_LINE) -> bytes:
        limit = MAX_LINE + 1 if limit < 0 else min(limit, MAX_LINE + 1)
        deadline, self.first_line_deadline = self.first_line_deadline, self.deadline
        while b"\n" not in self.buf and len(self.buf) < limit:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("connection deadline")
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        end = self.buf.find(b"\n") + 1 or min(len(self.buf), limit)
        end = min(end, limit)
        line, self.buf = self.buf[:end], self.buf[end:]
        return line

    def read(self, n: int = -1) -> bytes:  # pragma: no cover - bodies are never read
        return b""

    def close(self) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "credproc"
    sys_version = ""

    def setup(self) -> None:
        self.connection = self.request
        self.command, self.request_version = "", "HTTP/1.1"  # for errors before the request line
        self.connection.settimeout(CONNECTION_DEADLINE_SECONDS)
        now = time.monotonic()
        self.rfile = _DeadlineReader(  # type: ignore[assignment]
            self.connection,
            now + CONNECTION_DEADLINE_SECONDS,
            now + min(REQUEST_LINE_SECONDS, CONNECTION_DEADLINE_SECONDS),
        )
        self.wfile = self.connection.makefile("wb", 0)

    def handle(self) -> None:
        # One request per connection: SDK credential fetches are rare, and a kept-alive idle
        # connection would only hold one of the bounded slots.
        try:
            self.handle_one_request()
        except (OSError, ValueError):
            self.close_connection = True

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if len(self.headers) > MAX_HEADERS:
            self.send_error(431)
            return False
        self.close_connection = True
        self.server.slots.answering(self.request)  # a whole request: no longer evictable
        return True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log: the Authorization header must never be written anywhere

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True
        self._send(code)

    def do_GET(self) -> None:
        self.server.count_request()
        if not self.server.host_ok(self.headers.get("Host")):
            return self._send(403)
        presented = self.headers.get("Authorization")
        if presented is None:
            return self._send(401)
        if not hmac.compare_digest(presented.encode("utf-8", "replace"), self.server.token.encode()):
            return self._send(403)
        if self.path.split("?", 1)[0] != PATH:
            return self._send(404)
        try:
            creds = self.server.credentials()
        except CredprocError as exc:
            self.server.warn(f"credential server: {exc.message}")
            body = json.dumps({"Code": type(exc).__name__, "Message": exc.message}).encode()
            return self._send(500, body, "application/json")
        except Exception as exc:  # never a traceback or a half-written answer to the client
            self.server.warn(f"credential server: unexpected {type(exc).__name__}")
            return self._send(500, b'{"Code": "InternalError"}', "application/json")
        data = payload(creds, time.time(), self.server.max_ttl)
        self._send(200, json.dumps(data).encode(), "application/json")
        return None

    def _refuse_method(self) -> None:
        self._send(405)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse_method


class _Slots:
    """The bounded set of connections being served, oldest first.

    A connection is *waiting* until its whole request has arrived, then *answering*. When every
    slot is taken, a new connection takes the slot of the oldest waiting one, whose socket is shut
    down so its handler ends at once; with no waiting one to evict, the new connection is refused.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.waiting: dict[socket.socket, None] = {}  # insertion order: oldest first
        self.busy: set[socket.socket] = set()

    def take(self, sock: socket.socket) -> bool:
        with self.lock:
            if len(self.waiting) + len(self.busy) >= self.limit:
                if not self.waiting:
                    return False
                oldest = next(iter(self.waiting))
                del self.waiting[oldest]
                _hang_up(oldest)
            self.waiting[sock] = None
            return True

    def answering(self, sock: socket.socket) -> None:
        with self.lock:
            if sock in self.waiting:  # not evicted meanwhile
                del self.waiting[sock]
                self.busy.add(sock)

    def release(self, sock: socket.socket) -> None:
        with self.lock:
            self.waiting.pop(sock, None)
            self.busy.discard(sock)


def _hang_up(sock: socket.socket) -> None:
    """Wake the handler blocked reading ``sock``: its read ends, and so does it."""
    with contextlib.suppress(OSError):  # already closed by its client: nothing to wake
        sock.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self, provider: Provider, token: str, port: int, warn: Callable[[str], None], max_ttl: float | None
    ) -> None:
        super().__init__((HOST, port), _Handler)
        self.provider, self.token, self.warn, self.max_ttl = provider, token, warn, max_ttl
        self.requests = 0
        self.slots = _Slots(MAX_CONNECTIONS)
        self.resolve_lock = threading.Lock()
        self.count_lock = threading.Lock()
        port_now = self.server_address[1]
        self.allowed_hosts = {f"{HOST}:{port_now}", f"localhost:{port_now}"}

    def count_request(self) -> None:
        with self.count_lock:
            self.requests += 1

    def host_ok(self, host: str | None) -> bool:
        return host is not None and host.strip().lower() in self.allowed_hosts

    def credentials(self) -> Credentials:
        # One resolution at a time: a cache hit is cheap, and a miss must not prompt twice.
        with self.resolve_lock:
            return self.provider()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.take(request):
            self.shutdown_request(request)  # every slot answering: close at once, never queue
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a broken client is its own problem; never print a traceback or the request


@dataclass
class RunningServer:
    """A started endpoint: ``endpoint`` is what a child needs; ``close`` stops it."""

    server: _Server
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(f"http://{HOST}:{self.port}{PATH}", self.server.token)

    @property
    def requests(self) -> int:
        return self.server.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start(
    provider: Provider,
    port: int = 0,
    *,
    token: str | None = None,
    warn: Callable[[str], None] = lambda message: None,
    max_ttl: float | None = None,
) -> RunningServer:
    """Serve ``provider``'s credentials on 127.0.0.1:``port`` (0: any free port) in a thread."""
    try:
        server = _Server(provider, token or new_token(), port, warn, max_ttl)
    except OSError as exc:
        raise CredprocError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="credproc-server", daemon=True
    )
    launch.start_without_signals(thread)  # exec relays signals from the main thread
    return RunningServer(server, thread)
