"""A minimal HTTP proxy on 127.0.0.1 port 0: CONNECT tunnels (HTTPS) and absolute-URI requests
(plain HTTP), counting what went through, so tests can prove HTTPS_PROXY/NO_PROXY are honoured."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class _Handler(BaseHTTPRequestHandler):
    proxy: ConnectProxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        self.proxy.tunnels.append(self.path)
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.send_response(200, "Connection established")
        self.end_headers()
        sockets = [self.connection, upstream]
        with contextlib.suppress(OSError), upstream:
            while True:
                readable, _, _ = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)

    def do_POST(self) -> None:
        target = urlsplit(self.path)
        self.proxy.forwarded.append(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with socket.create_connection((target.hostname or "", target.port or 80), timeout=10) as upstream:
            head = [f"POST {target.path or '/'} HTTP/1.1"]
            head += [
                f"{k}: {v}"
                for k, v in self.headers.items()
                if k.lower() not in ("connection", "proxy-connection")
            ]
            upstream.sendall(("\r\n".join([*head, "Connection: close", "", ""])).encode() + body)
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        self.connection.sendall(answer)
        self.close_connection = True


class ConnectProxy:
    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self.forwarded: list[str] = []
        handler = type("BoundProxyHandler", (_Handler,), {"proxy": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> ConnectProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
