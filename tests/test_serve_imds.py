"""``credproc serve`` in aws_signing_helper's IMDSv2 shape: botocore's real IMDS fetcher reads it, and
the real helper's ``serve`` is the oracle for paths and status codes (issue 14)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN, Emulator, World
from tests.test_signing_helper_commands import ARNS, material  # noqa: F401 - the fixture
from tests.test_signing_helper_oracle import HELPER

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_machine_proxies")]
REPO = Path(__file__).resolve().parents[1]


def _start(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=REPO
    )
    assert proc.stderr is not None
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stderr.readline()
        found = re.search(r"started on port: (\d+)", line)
        if found:
            return proc, int(found.group(1))
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"server did not start: {proc.stderr.read()}")


@pytest.fixture(scope="module")
def servers(material: Path) -> Iterator[tuple[int, int | None]]:  # noqa: F811
    combo = material / "certs" / "ec-prime256v1-sha256-combo.pem"
    world = World(
        {TRUST_ANCHOR_ARN: x509.load_pem_x509_certificate(combo.read_bytes())}, {PROFILE_ARN: {ROLE_ARN}}
    )
    with Emulator(world) as emulator:
        flags = ["serve", "--certificate", str(combo), *ARNS, "--endpoint", emulator.url, "--port", "0"]
        ours, port = _start([sys.executable, "-m", "credproc", *flags], dict(os.environ))
        helper = helper_port = None
        if HELPER and os.access(HELPER, os.X_OK):
            helper, helper_port = _start([HELPER, *flags], {"PATH": os.environ.get("PATH", "/usr/bin")})
        try:
            yield port, helper_port
        finally:
            for p in (ours, helper):
                if p is not None:
                    p.terminate()
                    p.wait(10)


def _status(port: int, method: str, path: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _token(port: int) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/latest/api/token", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(answer.read().decode())


ROLE = ROLE_ARN.rsplit("/", 1)[-1]
REQUESTS = [
    ("PUT", "/latest/api/token", {}),
    ("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "0100"}),
    ("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "0"}),
    ("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "abc"}),
    ("PUT", "/latest/api/token", {"X-Forwarded-For": "1.2.3.4"}),
    ("GET", "/latest/api/token", {}),
    ("GET", "/latest/meta-data/iam/security-credentials/", {}),
    ("GET", "/latest/meta-data/iam/security-credentials/", {"X-aws-ec2-metadata-token": "nope"}),
    ("GET", "/latest/meta-data/iam/security-credentials/", {"TOKEN": ""}),
    ("GET", f"/latest/meta-data/iam/security-credentials/{ROLE}", {"TOKEN": ""}),
    ("GET", "/latest/meta-data/iam/security-credentials/other", {"TOKEN": ""}),
    ("POST", f"/latest/meta-data/iam/security-credentials/{ROLE}", {"TOKEN": ""}),
    ("GET", "/", {}),
    ("GET", "/latest/meta-data/", {}),
]


@pytest.mark.parametrize(
    ("method", "path", "headers"), REQUESTS, ids=[f"{m} {p} {h}" for m, p, h in REQUESTS]
)
def test_same_status_as_the_helper(
    method: str, path: str, headers: dict[str, str], servers: tuple[int, int | None]
) -> None:
    port, helper_port = servers
    if helper_port is None:
        pytest.skip("aws_signing_helper v1.4.0 not built")
    answers = []
    for p in (port, helper_port):
        h = {
            ("X-aws-ec2-metadata-token" if k == "TOKEN" else k): (_token(p) if k == "TOKEN" else v)
            for k, v in headers.items()
        }
        answers.append(_status(p, method, path, h))
    assert answers[0] == answers[1]


def test_botocore_reads_credentials_through_its_imds_fetcher(
    servers: tuple[int, int | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.utils import InstanceMetadataFetcher

    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)  # the hermetic env turns IMDS off
    port, _ = servers
    fetcher = InstanceMetadataFetcher(timeout=5, num_attempts=1, base_url=f"http://127.0.0.1:{port}")
    creds = fetcher.retrieve_iam_role_credentials()
    assert creds["role_name"] == ROLE and creds["access_key"] and creds["token"]
