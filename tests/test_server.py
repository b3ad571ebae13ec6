"""The loopback endpoint: real HTTP over 127.0.0.1, good and hostile clients."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from credproc import server
from credproc.credentials import Credentials
from credproc.errors import CredprocError, UpstreamError

EXPIRES = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
CREDS = Credentials("ASIAEXAMPLE", "s3cr3t", "tok3n", EXPIRES, "eu-west-1")


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> Iterator[server.RunningServer]:
    monkeypatch.setattr(server, "CONNECTION_DEADLINE_SECONDS", 1.0)  # idle garbage clients end fast
    with server.start(lambda: CREDS) as srv:
        yield srv


def get(
    srv: server.RunningServer, headers: dict[str, str], path: str = server.PATH, method: str = "GET"
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.putrequest(method, path, skip_host=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def good(srv: server.RunningServer) -> dict[str, str]:
    return {"Host": f"127.0.0.1:{srv.port}", "Authorization": srv.endpoint.token}


def test_serves_container_credentials_json_to_the_exact_token(running: server.RunningServer) -> None:
    status, body = get(running, good(running))
    assert status == 200
    assert json.loads(body) == {
        "AccessKeyId": "ASIAEXAMPLE",
        "SecretAccessKey": "s3cr3t",
        "Token": "tok3n",
        "Expiration": "2031-05-06T07:08:09Z",
    }
    assert running.endpoint.url == f"http://127.0.0.1:{running.port}{server.PATH}"


def test_binds_loopback_only_with_a_256_bit_token(running: server.RunningServer) -> None:
    assert running.server.server_address[0] == "127.0.0.1"
    assert len(running.endpoint.token) >= 43  # 32 random bytes, base64url
    with server.start(lambda: CREDS) as other:
        assert other.endpoint.token != running.endpoint.token


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"Authorization": None}, 401),
        ({"Authorization": "wrong"}, 403),
        ({"Authorization": ""}, 403),
        ({"Host": "evil.example:{port}"}, 403),
        ({"Host": "127.0.0.1:1"}, 403),
        ({"Host": None}, 403),
        ({"Host": "localhost:{port}"}, 200),
    ],
)
def test_rejects_missing_or_wrong_token_and_foreign_host_without_detail(
    running: server.RunningServer, change: dict[str, str | None], status: int
) -> None:
    headers = good(running)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value.format(port=running.port)
    got, body = get(running, headers)
    assert got == status
    if status != 200:
        assert body == b""


def test_wrong_token_of_the_right_length_is_refused(running: server.RunningServer) -> None:
    token = running.endpoint.token
    headers = {**good(running), "Authorization": token[:-1] + ("A" if token[-1] != "A" else "B")}
    assert get(running, headers)[0] == 403


def test_other_paths_and_methods_get_nothing(running: server.RunningServer) -> None:
    assert get(running, good(running), "/latest/meta-data/")[0] == 404
    assert get(running, good(running), method="POST")[0] == 405
    assert get(running, good(running), method="DELETE")[0] == 405
    assert get(running, good(running), method="HEAD") == (405, b"")


def test_a_failing_resolution_is_a_500_with_the_reason_and_a_warning() -> None:
    warnings: list[str] = []

    def broken() -> Credentials:
        raise UpstreamError("AssumeRole arn:aws:iam::1:role/x failed: AccessDenied")

    with server.start(broken, warn=warnings.append) as srv:
        status, body = get(srv, good(srv))
    assert status == 500
    assert json.loads(body)["Message"].startswith("AssumeRole")
    assert warnings and "AccessDenied" in warnings[0]


def test_an_unexpected_failure_is_a_bare_500_and_the_server_lives_on() -> None:
    warnings: list[str] = []

    def buggy() -> Credentials:
        raise KeyError("secret-looking detail")

    with server.start(buggy, warn=warnings.append) as srv:
        assert get(srv, good(srv)) == (500, b'{"Code": "InternalError"}')
        assert get(srv, good(srv))[0] == 500
    assert warnings == ["credential server: unexpected KeyError"] * 2


def test_long_term_keys_get_an_empty_token_and_an_advisory_expiration() -> None:
    data = server.payload(Credentials("AKIAEXAMPLE", "s"), now=1_000_000_000)
    assert data["Token"] == ""
    assert data["Expiration"] == "2001-09-09T02:46:40Z"  # 1e9 + 3600


def test_max_ttl_caps_the_advertised_expiration() -> None:
    now = EXPIRES.timestamp() - 3000
    capped = server.payload(CREDS, now, max_ttl=303)
    assert capped["Expiration"] == datetime.fromtimestamp(int(now + 303), tz=timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert server.payload(CREDS, now, max_ttl=10**6)["Expiration"] == "2031-05-06T07:08:09Z"


def raw(srv: server.RunningServer, data: bytes, wait: float = 5) -> bytes:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n",  # a TLS hello
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET " + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n",
        b"GET /credproc/v1/credentials HTTP/1.1\r\n" + b"X: y\r\n" * 500 + b"\r\n",
        b"GET /credproc/v1/credentials HTTP/1.1\r\n" + b"X: y\r\n" * 80 + b"\r\n",
        b"GET /credproc/v1/credentials HTTP/1.1\r\nHost: \xff\xfe\r\nAuthorization: \xff\r\n\r\n",
        b"\r\n" * 10,
        b"",
    ],
    ids=[
        "tls",
        "no-target",
        "bad-version",
        "huge-line",
        "many-headers",
        "80-headers",
        "binary-headers",
        "blank",
        "silent",
    ],
)
def test_malformed_requests_get_an_error_or_a_close_and_the_server_keeps_serving(
    running: server.RunningServer, garbage: bytes
) -> None:
    answer = raw(running, garbage)
    assert answer == b"" or answer.startswith(b"HTTP/1.")
    assert not answer.startswith(b"HTTP/1.1 200")
    assert get(running, good(running))[0] == 200


def test_a_slow_client_is_cut_off_at_the_deadline_and_does_not_stall_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server, "CONNECTION_DEADLINE_SECONDS", 1.0)
    with server.start(lambda: CREDS) as srv, socket.create_connection(("127.0.0.1", srv.port)) as slow:
        started = time.monotonic()
        slow.sendall(b"GET /credproc/v1/credentials HTTP/1.1\r\n")
        assert get(srv, good(srv))[0] == 200  # served while the slow one dawdles
        slow.settimeout(5)
        try:
            while True:  # drip a byte at a time; the server must hang up on its own
                slow.sendall(b"X")
                time.sleep(0.1)
                if time.monotonic() - started > 4:
                    pytest.fail("the server kept a dripping client past its deadline")
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert time.monotonic() - started < 3


def test_connections_beyond_the_limit_are_closed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every slot holding a request being answered, a new connection is hung up on."""
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 2)
    release = threading.Event()

    def slow() -> Credentials:
        release.wait(10)
        return CREDS

    with server.start(slow) as srv:
        answers: list[int] = []
        busy = [threading.Thread(target=lambda: answers.append(get(srv, good(srv))[0])) for _ in range(2)]
        for thread in busy:
            thread.start()
        deadline = time.monotonic() + 5
        while len(srv.server.slots.busy) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            assert raw(srv, b"GET / HTTP/1.1\r\n\r\n", wait=1) == b""  # full: hung up
        finally:
            release.set()
            for thread in busy:
                thread.join(10)
        assert answers == [200, 200]
        assert get(srv, good(srv))[0] == 200  # slots come back


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_idle_sockets_holding_every_slot_are_evicted_for_real_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """40 sockets that connect and say nothing (more than the 32 slots), then 15 real requests,
    each with no retry: every one is answered, and the oldest idle sockets are the ones hung up on.
    The deadlines are stretched so that only eviction can explain it."""
    monkeypatch.setattr(server, "REQUEST_LINE_SECONDS", 60.0)
    monkeypatch.setattr(server, "CONNECTION_DEADLINE_SECONDS", 60.0)
    with server.start(lambda: CREDS) as srv:
        idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(40)]
        try:
            time.sleep(0.3)  # all accepted, every slot taken
            assert [get(srv, good(srv))[0] for _ in range(15)] == [200] * 15
            assert _closed_by_server(idle[0], within=5)  # the oldest went first
            assert not _closed_by_server(idle[-1], within=0.2)  # the newest is still waiting
        finally:
            for sock in idle:
                sock.close()


def test_a_connection_that_sends_no_request_line_is_closed_soon() -> None:
    with server.start(lambda: CREDS) as srv, socket.create_connection(("127.0.0.1", srv.port)) as sock:
        started = time.monotonic()
        # well before the connection's whole deadline (10 s): the request line's (2 s) ended it
        assert _closed_by_server(sock, within=server.CONNECTION_DEADLINE_SECONDS - 3)
        assert time.monotonic() - started < server.CONNECTION_DEADLINE_SECONDS - 3
        assert get(srv, good(srv))[0] == 200


def test_concurrent_clients_resolve_one_at_a_time() -> None:
    inside, most = 0, 0
    lock = threading.Lock()

    def provider() -> Credentials:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.02)
        with lock:
            inside -= 1
        return CREDS

    with server.start(provider) as srv:
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(get(srv, good(srv))[0])) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [200] * 8
        assert most == 1
        assert srv.requests == 8


def test_a_port_in_use_is_a_clear_error() -> None:
    with server.start(lambda: CREDS) as srv, pytest.raises(CredprocError, match="cannot listen"):
        server.start(lambda: CREDS, srv.port)


def test_a_flood_of_bad_tokens_does_not_stop_the_child_being_served(running: server.RunningServer) -> None:
    """1,000 requests with wrong tokens from 8 threads; the child's own requests keep getting
    answers (an SDK retries a dropped connection, so one retry is allowed, as it would do)."""
    stop = threading.Event()
    refused: list[int] = []

    def flood() -> None:
        bad = {"Host": f"127.0.0.1:{running.port}", "Authorization": "x" * 64}
        for _ in range(125):
            try:
                refused.append(get(running, bad)[0])
            except OSError:  # closed at the connection limit: also a refusal
                refused.append(0)
            if stop.is_set():
                return

    threads = [threading.Thread(target=flood) for _ in range(8)]
    for thread in threads:
        thread.start()
    served = 0
    try:
        while any(t.is_alive() for t in threads):
            for _attempt in range(3):
                try:
                    status, body = get(running, good(running))
                except OSError:
                    continue
                assert status == 200
                assert json.loads(body)["AccessKeyId"] == "ASIAEXAMPLE"
                served += 1
                break
            else:
                pytest.fail("the child could not get credentials during the flood")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert served > 0
    assert len(refused) == 1000
    assert set(refused) <= {403, 0}
    assert refused.count(403) > 900  # nearly all answered, not dropped
    assert get(running, good(running))[0] == 200
