"""aws_signing_helper ``serve``'s IMDSv2 shape: for tools that only speak the instance metadata service.

Routes and answers as the helper v1.4.0 (aws_signing_helper/serve.go): ``PUT /latest/api/token``
(TTL header 1..21600, default 21600, echoed back; X-Forwarded-For refused), then with
``X-aws-ec2-metadata-token``: ``GET /latest/meta-data/iam/security-credentials/`` (the role name)
and ``.../<role name>`` (the credentials JSON). 127.0.0.1 only; ``hop_limit`` is the IP TTL of every
accepted connection. Unlike the helper, a failed refresh answers 500, never empty credentials.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from credproc.credentials import Credentials

DEFAULT_PORT, DEFAULT_HOP_LIMIT = 9911, 64
TOKEN_PATH = "/latest/api/token"  # noqa: S105 - a path, not a secret
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105 - a header name
MAX_TTL, MAX_TOKENS = 21600, 256
REFRESH_LEFT = 600.0  # refresh when fewer seconds remain (as the helper: under 10 minutes)


class ImdsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, hop_limit: int, role: str, provider: Callable[[], Credentials]) -> None:
        self.hop_limit, self.role, self.provider = hop_limit, role, provider
        self.tokens: dict[str, float] = {}
        self.lock = threading.Lock()
        self.creds: Credentials | None = None
        self.updated = ""
        super().__init__(("127.0.0.1", port), Handler)

    def get_request(self) -> tuple[socket.socket, object]:
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, self.hop_limit)
        return conn, addr

    def current(self) -> Credentials:
        with self.lock:
            left = self.creds.seconds_left(time.time()) if self.creds else None
            if self.creds is None or (left is not None and left < REFRESH_LEFT):
                self.creds = self.provider()
                self.updated = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
            return self.creds


class Handler(BaseHTTPRequestHandler):
    server: ImdsServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        del format, args

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        if path == TOKEN_PATH:
            return self._token() if method == "PUT" else self._send(405)
        if path == CREDS_PATH.rstrip("/"):
            return self._send(307, headers={"Location": CREDS_PATH})
        if not path.startswith(CREDS_PATH):
            return self._send(404, b"404 page not found\n")
        if method != "GET":
            return self._send(405)
        token = self.headers.get(TOKEN_HEADER)
        if not token:
            return self._send(401, b"no token provided")
        with self.server.lock:
            expiry = self.server.tokens.get(token)
        if expiry is None or expiry < time.time():
            return self._send(401, b"invalid token provided")
        if path[len(CREDS_PATH) :] != self.server.role:
            return self._send(200, self.server.role.encode(), {TTL_HEADER: str(int(expiry - time.time()))})
        try:
            creds = self.server.current()
        except Exception:
            return self._send(500, b"credentials unavailable")
        body = {
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "Token": creds.session_token,
            "Code": "Success",
            "Type": "AWS-HMAC",
            "Expiration": creds.expiration.strftime("%Y-%m-%dT%H:%M:%SZ") if creds.expiration else "",
            "LastUpdated": self.server.updated,
        }
        return self._send(200, json.dumps(body, separators=(",", ":")).encode() + b"\n")

    def _token(self) -> None:
        if self.headers.get("X-Forwarded-For") is not None:
            return self._send(400, b"unable to process requests with X-Forwarded-For header")
        raw = self.headers.get(TTL_HEADER) or str(MAX_TTL)
        try:
            ttl = int(raw)
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= MAX_TTL:
            return self._send(400, b"invalid token TTL")
        token = secrets.token_urlsafe(75)[:100]
        with self.server.lock:
            if len(self.server.tokens) >= MAX_TOKENS:
                del self.server.tokens[min(self.server.tokens, key=self.server.tokens.__getitem__)]
            self.server.tokens[token] = time.time() + ttl
        return self._send(200, token.encode(), {TTL_HEADER: raw})

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")
