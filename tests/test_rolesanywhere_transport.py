"""The CreateSession transport: TLS verification and AWS_CA_BUNDLE, --no-verify-ssl, proxies,
the endpoint rule, bounded retries, and how AWS's answers become exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from credproc.errors import ConfigError, UpstreamError
from credproc.sources.rolesanywhere import client, endpoint, transport
from tests.conftest import run_credproc
from tests.support.connect_proxy import ConnectProxy
from tests.support.ra_world import RaWorld, running, without_proxies


@pytest.fixture(autouse=True)
def _no_machine_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    without_proxies(monkeypatch)


@pytest.fixture
def tls_ra(tmp_path: Path) -> Iterator[RaWorld]:
    with running(tmp_path, tls=True) as world:
        yield world


@pytest.fixture
def ra(tmp_path: Path) -> Iterator[RaWorld]:
    with running(tmp_path) as world:
        yield world


def ok(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_tls_is_verified_against_the_system_store_by_default(tls_ra: RaWorld) -> None:
    files = tls_ra.identity("p256")
    result = run_credproc("credential-process", *tls_ra.flags(files))
    assert result.returncode == 3 and result.stdout == ""
    assert "TLS certificate not trusted" in result.stderr and "AWS_CA_BUNDLE" in result.stderr
    assert tls_ra.world.received == []


def test_aws_ca_bundle_makes_a_private_ca_trusted(tls_ra: RaWorld) -> None:
    files = tls_ra.identity("p256")
    env = {**os.environ, "AWS_CA_BUNDLE": str(tls_ra.directory / "tls" / "ca.pem")}
    ok(run_credproc("credential-process", *tls_ra.flags(files), env=env))
    assert tls_ra.world.calls == 1


def test_no_verify_ssl_skips_verification(tls_ra: RaWorld) -> None:
    files = tls_ra.identity("p256")
    ok(run_credproc("credential-process", *tls_ra.flags(files), "--no-verify-ssl"))


def test_an_unreadable_ca_bundle_is_bad_input(tls_ra: RaWorld, tmp_path: Path) -> None:
    files = tls_ra.identity("p256")
    (tmp_path / "junk.pem").write_text("junk")
    env = {**os.environ, "AWS_CA_BUNDLE": str(tmp_path / "junk.pem")}
    result = run_credproc("credential-process", *tls_ra.flags(files), env=env)
    assert result.returncode == 1 and "AWS_CA_BUNDLE" in result.stderr


def test_https_proxy_carries_the_call(tls_ra: RaWorld) -> None:
    files = tls_ra.identity("p256")
    with ConnectProxy() as proxy:
        env = {
            **os.environ,
            "AWS_CA_BUNDLE": str(tls_ra.directory / "tls" / "ca.pem"),
            "HTTPS_PROXY": proxy.url,
        }
        ok(run_credproc("credential-process", *tls_ra.flags(files), "--with-proxy", env=env))
        assert proxy.tunnels == [f"127.0.0.1:{tls_ra.emulator.port}"]


def test_flags_use_the_proxy_only_with_with_proxy(tls_ra: RaWorld) -> None:
    """As aws_signing_helper: on the command line, HTTPS_PROXY is used only with --with-proxy."""
    files = tls_ra.identity("p256")
    with ConnectProxy() as proxy:
        env = {
            **os.environ,
            "AWS_CA_BUNDLE": str(tls_ra.directory / "tls" / "ca.pem"),
            "HTTPS_PROXY": proxy.url,
        }
        ok(run_credproc("credential-process", *tls_ra.flags(files), env=env))
        assert proxy.tunnels == []


def test_no_proxy_bypasses_the_proxy(tls_ra: RaWorld) -> None:
    files = tls_ra.identity("p256")
    with ConnectProxy() as proxy:
        env = {
            **os.environ,
            "AWS_CA_BUNDLE": str(tls_ra.directory / "tls" / "ca.pem"),
            "https_proxy": proxy.url,
            "no_proxy": "localhost,127.0.0.1",
        }
        ok(run_credproc("credential-process", *tls_ra.flags(files), "--with-proxy", env=env))
        assert proxy.tunnels == []


def test_http_proxy_carries_a_plain_http_endpoint(ra: RaWorld) -> None:
    files = ra.identity("p256")
    with ConnectProxy() as proxy:
        ok(
            run_credproc(
                "credential-process",
                *ra.flags(files),
                "--with-proxy",
                env={**os.environ, "HTTP_PROXY": proxy.url},
            )
        )
        assert proxy.forwarded == [f"{ra.url}/sessions"]


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypassed"),
    [
        ("rolesanywhere.us-east-1.amazonaws.com", "*", True),
        ("rolesanywhere.us-east-1.amazonaws.com", ".amazonaws.com", True),
        ("rolesanywhere.us-east-1.amazonaws.com", "amazonaws.com", True),
        ("rolesanywhere.us-east-1.amazonaws.com", "example.com, internal:8080", False),
        ("notamazonaws.com", "amazonaws.com", False),
        ("127.0.0.1", "localhost,127.0.0.1:443", True),
        ("::1", "[::1]", True),
        ("example.com", " , ", False),
    ],
)
def test_no_proxy_follows_curl(host: str, no_proxy: str, bypassed: bool) -> None:
    assert transport.bypasses(host, no_proxy) is bypassed


def test_only_the_schemes_proxy_is_used() -> None:
    env = {"HTTPS_PROXY": "http://proxy:3128"}
    assert transport.proxies_for("https://x.example/sessions", env) == {"https": "http://proxy:3128"}
    assert transport.proxies_for("http://x.example/sessions", env) == {}


@pytest.mark.parametrize(
    ("flag", "environ", "expected"),
    [
        (
            "https://flag.example",
            {"AWS_ENDPOINT_URL_ROLESANYWHERE": "https://svc", "AWS_ENDPOINT_URL": "https://all"},
            "https://flag.example",
        ),
        (
            None,
            {"AWS_ENDPOINT_URL_ROLESANYWHERE": "https://svc/", "AWS_ENDPOINT_URL": "https://all"},
            "https://svc",
        ),
        (None, {"AWS_ENDPOINT_URL": "https://all"}, "https://all"),
        (None, {}, "https://rolesanywhere.eu-west-1.amazonaws.com"),
        (
            None,
            {"AWS_ENDPOINT_URL": "https://all", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
            "https://rolesanywhere.eu-west-1.amazonaws.com",
        ),
        ("rolesanywhere.eu-west-1.amazonaws.com", {}, "https://rolesanywhere.eu-west-1.amazonaws.com"),
    ],
)
def test_the_endpoint_rule_of_the_contract(flag: str | None, environ: dict[str, str], expected: str) -> None:
    assert endpoint.endpoint_for(flag, environ, "eu-west-1") == expected


def test_a_non_http_endpoint_is_refused() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        endpoint.endpoint_for("ftp://x", {}, "us-east-1")


def test_host_header_drops_only_default_ports() -> None:
    assert transport.host_header("https://h.example:443/s") == "h.example"
    assert transport.host_header("http://h.example:80/s") == "h.example"
    assert transport.host_header("https://h.example:8443/s") == "h.example:8443"
    assert transport.host_header("http://[::1]:9000/s") == "[::1]:9000"


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def test_backoff_is_jittered_capped_and_bounded_by_the_deadline(ra: RaWorld) -> None:
    ra.world.fail_next = [(503, "ServiceUnavailableException")] * 20
    fake = FakeClock()
    policy = transport.RetryPolicy(attempts=10, base=1.0, cap=4.0, deadline=9.0)
    answer = transport.post(
        ra.url + "/sessions",
        lambda: ({}, b"{}"),
        environ={},
        policy=policy,
        clock=transport.Clock(fake.now, fake.sleep, lambda: 1.0),
    )
    assert answer.status == 503
    assert fake.sleeps == [1.0, 2.0, 4.0]  # the next 4.0 would pass the 9 s deadline
    assert len(ra.world.received) == 4


def test_jitter_scales_the_delay() -> None:
    policy = transport.RetryPolicy(base=1.0, cap=8.0)
    assert policy.delay(2, lambda: 0.5) == 2.0
    assert policy.delay(10, lambda: 1.0) == 8.0


def response(status: int, body: object, headers: dict[str, str] | None = None) -> transport.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return transport.Response(status, headers or {}, raw)


def test_aws_error_shapes_become_credproc_errors() -> None:
    with pytest.raises(UpstreamError, match="CreateSession refused: AccessDeniedException: nope"):
        client.interpret(
            response(403, {"message": "nope"}, {"X-Amzn-ErrorType": "AccessDeniedException:http://x"})
        )
    with pytest.raises(ConfigError, match="ValidationException: bad"):
        client.interpret(response(400, {"__type": "com.amazon#ValidationException", "Message": "bad"}))
    with pytest.raises(UpstreamError, match="ResourceNotFoundException"):
        client.interpret(response(404, {"code": "ResourceNotFoundException"}))
    with pytest.raises(UpstreamError, match=r"HTTP 500: no message \(HTTP 500\); gave up"):
        client.interpret(response(500, b"<html>"))


@pytest.mark.parametrize(
    "body", [{}, {"credentialSet": []}, {"credentialSet": [{"credentials": {}}]}, b"[1]"]
)
def test_a_success_without_credentials_is_an_upstream_error(body: object) -> None:
    with pytest.raises(UpstreamError, match="without a credential set"):
        client.interpret(response(201, body))


def test_a_silent_endpoint_cannot_hold_the_run_past_the_deadline() -> None:
    import socket
    import time

    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/sessions"
        policy = transport.RetryPolicy(attempts=10, base=0.05, cap=0.1, deadline=1.5, timeout=0.4)
        started = time.monotonic()
        with pytest.raises(UpstreamError, match=r"cannot reach .* attempts: timed out"):
            transport.post(url, lambda: ({}, b"{}"), environ={}, policy=policy)
        assert time.monotonic() - started < 2.5


def test_the_default_policy_ends_well_under_a_minute() -> None:
    policy = transport.RetryPolicy()
    worst = policy.deadline + policy.timeout  # the last socket operation may start just in time
    assert worst <= 45
