"""What every emulator of the tests shares: a server on 127.0.0.1 port 0 in a thread, and the
answer to an injected fault (tests/support/faults.py). (Each emulator still counts its own
operations: the STS middleware by Action, the others by route.)

The STS (moto behind a WSGI middleware), SSO/OIDC and Roles Anywhere emulators differ in how a
service says "error" (XML, JSON with ``x-amzn-ErrorType``); ``answer_fault`` holds the one decision
of what each fault kind does, and asks the emulator's ``Dialect`` only for the words.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from typing import Any, Protocol

from tests.support.faults import Fault

HOST = "127.0.0.1"
# The faults that let the real answer follow (after a pause, cut short, or with a moved Expiration).
PASS_THROUGH = frozenset({"slow", "truncate", "expiration"})


class Served(Protocol):
    """What ``LoopbackServer`` needs of a server: socketserver's or werkzeug's."""

    server_address: Any

    def serve_forever(self, poll_interval: float = ...) -> None: ...

    def shutdown(self) -> None: ...

    def server_close(self) -> None: ...


class LoopbackServer:
    """``with LoopbackServer(server, scheme) as s: s.url``: the server's loop in a daemon thread,
    stopped and closed on exit."""

    def __init__(self, server: Served, scheme: str = "http", poll_interval: float = 0.05) -> None:
        self.server = server
        self.port = int(server.server_address[1])
        self.url = f"{scheme}://{HOST}:{self.port}"
        self.thread = threading.Thread(target=server.serve_forever, args=(poll_interval,), daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def reset_connection(conn: socket.socket) -> None:
    """Close ``conn`` so that the kernel answers with RST (linger 0), not a clean FIN.

    The descriptor itself is closed: the handler's files still hold the socket object, whose
    close() would wait for them."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    os.close(conn.detach())


class Dialect(Protocol):
    """How one emulated service answers a fault that replaces its answer."""

    def error(self, status: int, code: str, message: str) -> None: ...

    def throttle(self) -> None: ...

    def malformed(self) -> None: ...

    def nested(self, depth: int) -> None: ...

    def reset(self) -> None: ...


def answer_fault(fault: Fault, dialect: Dialect) -> bool:
    """Answer for ``fault`` through ``dialect`` and return True; or return False when the real
    answer must follow (``slow`` has slept by then; ``truncate`` and ``expiration`` are the
    emulator's to apply to that answer)."""
    if fault.kind in PASS_THROUGH:
        if fault.kind == "slow":
            time.sleep(fault.value)
        return False
    if fault.kind == "status":
        dialect.error(int(fault.value), fault.code, "injected")
    elif fault.kind == "throttle":
        dialect.throttle()
    elif fault.kind == "malformed":
        dialect.malformed()
    elif fault.kind == "nested":
        dialect.nested(int(fault.value))
    elif fault.kind == "reset":
        dialect.reset()
    else:
        raise ValueError(f"unknown fault {fault.kind}")
    return True
