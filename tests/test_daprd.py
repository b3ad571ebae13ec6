"""The real daprd, launched by ``credproc exec``, storing state in DynamoDB (moto) with the credentials
credproc resolved (issue 13).

daprd is built from its Go module by .ci/install.d/70-go.sh (tests/go/daprd pins the version) and
found through CREDPROC_TEST_DAPRD or the same cache path. It runs standalone and loopback-only: APIs
and the internal gRPC server on 127.0.0.1, metrics off, no placement, scheduler or sentry, and a name
resolver that only fills in a template (the self-hosted default, mDNS, multicasts on every
interface). The state store component names the table, the region and moto as its endpoint, and no
credentials: daprd takes them from its environment, which is what credproc gives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BASE_KEY_ID, CREDPROC, REPO, AwsFiles, require, run_credproc
from tests.support.moto_sts import MotoSTS

GO_MODULE = REPO / "tests" / "go" / "daprd"
READY_WITHIN = 120.0  # seconds; a cold daprd on a busy 2-core machine takes a few
STOP_WITHIN = 30.0


def _daprd_version() -> str:
    match = re.search(r"^\s*github\.com/dapr/dapr (v\S+)", (GO_MODULE / "go.mod").read_text(), re.M)
    assert match, "tests/go/daprd/go.mod requires no github.com/dapr/dapr version"
    return match.group(1)


def _find_daprd() -> Path:
    # Read at import: the hermetic_env fixture hides every CREDPROC_* variable from the tests.
    given = os.environ.get("CREDPROC_TEST_DAPRD")
    if given:
        return Path(given)
    cache = Path(os.environ.get("CREDPROC_GO_CACHE", "/var/cache/credproc-go"))
    return cache / f"daprd-{_daprd_version()}" / "daprd"


DAPRD = _find_daprd()


@pytest.fixture
def daprd_bin() -> Path:
    require(
        "daprd",
        DAPRD.is_file() and os.access(DAPRD, os.X_OK),
        f"no executable at {DAPRD}: .ci/install.d/70-go.sh builds it (or set CREDPROC_TEST_DAPRD)",
    )
    return DAPRD


# ---- moto: DynamoDB beside STS on the same loopback server ---------------------------------------


@dataclass
class Signed:
    """Which access key ID signed each DynamoDB call that reached moto."""

    calls: list[tuple[str, str]] = field(default_factory=list)  # (operation, access key id)

    def keys(self) -> set[str]:
        return {key for _, key in self.calls}


def _recording(app: Callable[..., Iterable[bytes]], signed: Signed) -> Callable[..., Iterable[bytes]]:
    def record(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_"):
            found = re.search(r"Credential=([^/,\s]+)/", environ.get("HTTP_AUTHORIZATION", ""))
            signed.calls.append((target.split(".", 1)[-1], found.group(1) if found else ""))
        return app(environ, start_response)

    return record


@dataclass
class Table:
    name: str
    key_id: str  # the access key ID credproc resolves for the chain's top role
    signed: Signed


@pytest.fixture
def dynamodb(chain: AwsFiles, sts: MotoSTS, monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    """A fresh table on the session's moto server, in the top role's account (moto keeps one set of
    tables per account, and takes the account from the signing key), made with the keys credproc
    resolves for that role; and a record of who signed each DynamoDB call after that."""
    import boto3

    done = run_credproc("credential-process", "--profile", "top")
    assert done.returncode == 0, done.stderr
    keys = json.loads(done.stdout)
    assert keys["AccessKeyId"].startswith("ASIA") and keys["AccessKeyId"] != BASE_KEY_ID
    client = boto3.client(
        "dynamodb",
        endpoint_url=sts.url,
        region_name="us-east-1",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )
    name = f"credproc-daprd-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
    )
    signed = Signed()
    monkeypatch.setattr(sts.app, "app", _recording(sts.app.app, signed))
    yield Table(name, keys["AccessKeyId"], signed)
    client.delete_table(TableName=name)


# ---- daprd's files and command line --------------------------------------------------------------

COMPONENT = """\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.aws.dynamodb
  version: v1
  metadata:
  - name: table
    value: {table}
  - name: region
    value: us-east-1
  - name: endpoint
    value: {endpoint}
"""

# The kubernetes resolver only fills in this template (no lookups, no sockets); mDNS, the
# self-hosted default, would announce the app by multicast on every interface.
CONFIGURATION = """\
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: loopback
spec:
  nameResolution:
    component: kubernetes
    configuration:
      template: "127.0.0.1:{{{{.Port}}}}"
  metric:
    enabled: false
"""


def _free_ports(count: int) -> list[int]:
    held = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            held.append(s)
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


@dataclass
class Sidecar:
    http: int
    args: list[str]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http}{path}"


def _sidecar(tmp_path: Path, daprd: Path, table: str, endpoint: str) -> Sidecar:
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "statestore.yaml").write_text(COMPONENT.format(table=table, endpoint=endpoint))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIGURATION.format())
    http, grpc, internal = _free_ports(3)
    args = [
        str(daprd),
        "--app-id",
        "credproc-test",
        "--mode",
        "standalone",
        "--resources-path",
        str(resources),
        "--config",
        str(config),
        "--dapr-http-port",
        str(http),
        "--dapr-grpc-port",
        str(grpc),
        "--dapr-internal-grpc-port",
        str(internal),
        "--dapr-listen-addresses",
        "127.0.0.1",
        "--dapr-internal-grpc-listen-address",
        "127.0.0.1",
        "--enable-metrics=false",
        "--dapr-graceful-shutdown-seconds",
        "1",
        "--log-level",
        "info",
    ]
    return Sidecar(http, args)


def _env() -> dict[str, str]:
    # DAPR_HOST_IP: daprd otherwise finds "its" address by opening a UDP socket towards a public one.
    return {**os.environ, "DAPR_HOST_IP": "127.0.0.1"}


def _http(method: str, url: str, body: object = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextlib.contextmanager
def running(cmd: list[str], sidecar: Sidecar, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start cmd (credproc exec ... -- daprd ...), wait until daprd's healthz answers 204, and stop it
    with SIGTERM afterwards (credproc passes it on), killing the group if it hangs."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            if proc.poll() is not None:
                pytest.fail(f"daprd exited with {proc.returncode} before it was ready:\n{log.read_text()}")
            with contextlib.suppress(OSError):
                if _http("GET", sidecar.url("/v1.0/healthz"))[0] == 204:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"daprd not ready within {READY_WITHIN:.0f} s:\n{log.read_text()}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_WITHIN)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _state_round_trip(sidecar: Sidecar) -> None:
    """Save, get, delete and get again through daprd's HTTP state API."""
    value = {"greeting": "hello from credproc", "n": 42}
    status, body = _http("POST", sidecar.url("/v1.0/state/statestore"), [{"key": "k1", "value": value}])
    assert status == 204, body
    status, body = _http("GET", sidecar.url("/v1.0/state/statestore/k1"))
    assert status == 200, body
    assert json.loads(body) == value
    status, body = _http("DELETE", sidecar.url("/v1.0/state/statestore/k1"))
    assert status == 204, body
    status, body = _http("GET", sidecar.url("/v1.0/state/statestore/k1"))
    assert (status, body) == (204, b"")


# ---- sockets: everything daprd opened is on the loopback ----------------------------------------


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(stat.parent.name)
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(pid)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _daprd_pid(root: int, daprd: Path) -> int:
    for pid in sorted(_descendants(root)):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/exe").resolve() == daprd.resolve():
                return pid
    pytest.fail(f"no daprd process under pid {root}")


def _inet_sockets(pid: int) -> list[tuple[str, str, str]]:
    """(table, local address, remote address) of each internet socket the process holds, read
    from its own network namespace's tables. Unix and netlink sockets are not in these tables."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] in inodes:
                found.append((table, _address(cols[1]), _address(cols[2])))
    return found


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:  # /proc prints IPv6 as four little-endian 32-bit words
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
    return f"{ip}:{int(port, 16)}"


def _is_loopback(address: str) -> bool:
    ip = address.rsplit(":", 1)[0].strip("[]")  # ss writes [::1]:port, /proc's tables ::1:port
    return ip.startswith(("127.", "::ffff:127.")) or ip == "::1"


def _assert_loopback_only(pid: int) -> list[tuple[str, str, str]]:
    sockets = _inet_sockets(pid)
    assert sockets, "daprd holds no internet socket at all: it cannot be serving"
    assert not [s for s in sockets if s[0].startswith(("udp", "raw"))], sockets  # no mDNS, no probing
    for table, local, remote in sockets:
        assert _is_loopback(local), (table, local, remote)
        assert remote.endswith(":0") or _is_loopback(remote), (table, local, remote)
    # The same through ss, as a person would check it: every socket of daprd's is on 127.0.0.1.
    listed = subprocess.run(["ss", "-H", "-tuanp"], capture_output=True, text=True, timeout=10, check=False)
    if listed.returncode == 0:
        mine = [line.split() for line in listed.stdout.splitlines() if f"pid={pid}," in line]
        assert mine, listed.stdout
        for cols in mine:
            assert cols[0] == "tcp", cols
            assert _is_loopback(cols[4]), cols
    return sockets


# ---- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [(), ("--server",)], ids=["exec", "exec-server"])
def test_daprd_saves_gets_and_deletes_state_with_the_chain_credentials_credproc_resolved(
    chain: AwsFiles,
    daprd_bin: Path,
    dynamodb: Table,
    sts: MotoSTS,
    tmp_path: Path,
    mode: tuple[str, ...],
) -> None:
    signed = dynamodb.signed
    sidecar = _sidecar(tmp_path, daprd_bin, dynamodb.name, sts.url)
    log = tmp_path / "daprd.log"
    with running([*CREDPROC, "exec", "--profile", "top", *mode, "--", *sidecar.args], sidecar, log) as proc:
        _state_round_trip(sidecar)
        sockets = _assert_loopback_only(_daprd_pid(proc.pid, daprd_bin))
        assert any(local == f"127.0.0.1:{sidecar.http}" for _, local, _ in sockets), sockets
    text = log.read_text()
    assert "state.aws.dynamodb" in text and "statestore" in text, text
    assert "mdns" not in text.lower(), text
    operations = [operation for operation, _ in signed.calls]
    assert {"GetItem", "PutItem", "DeleteItem"} <= set(operations), signed.calls
    # Every DynamoDB call was signed with the top role's keys, never the base profile's.
    assert signed.keys() == {dynamodb.key_id}, signed.calls
    if mode:
        assert "never re-reads credentials" not in text
    else:
        assert "daprd never re-reads credentials from its environment" in text


def test_plain_exec_of_the_real_daprd_warns_that_its_credentials_will_expire(
    chain: AwsFiles, daprd_bin: Path
) -> None:
    done = run_credproc("exec", "--profile", "top", "--", str(daprd_bin), "--version", env=_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == _daprd_version().lstrip("v")
    assert "daprd never re-reads credentials from its environment" in done.stderr
    assert "credproc exec --server" in done.stderr
    quiet = run_credproc(
        "exec", "--profile", "top", "--server", "--", str(daprd_bin), "--version", env=_env(), timeout=60
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "never re-reads" not in quiet.stderr
