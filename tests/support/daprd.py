"""The real daprd for the end-to-end tests (issue 13): where the built binary is, the moto front that
records and refuses DynamoDB calls, daprd's files and command line, its HTTP state API, and the check
that every socket it holds is on the loopback.

daprd is built from its Go module by .ci/install.d/70-go.sh (tests/go/daprd pins the version) and
found through CREDPROC_TEST_DAPRD or the same cache path. It runs standalone and loopback-only: APIs
and the internal gRPC server on 127.0.0.1, metrics off, no placement, scheduler or sentry, and a name
resolver that only fills in a template (the self-hosted default, mDNS, multicasts on every
interface). The state store component names the table, the region and moto as its endpoint, and no
credentials: daprd takes them from its environment, which is what credproc gives it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_credproc
from tests.support.world import BASE_KEY_ID, AwsFiles, require

REPO = Path(__file__).resolve().parent.parent.parent
GO_MODULE = REPO / "tests" / "go" / "daprd"
READY_WITHIN = 120.0  # seconds; a cold daprd on a busy 2-core machine takes a few
STOP_WITHIN = 30.0
GO_CACHE = Path(os.environ.get("CREDPROC_GO_CACHE", "/var/cache/credproc-go"))


def go_mod_version(module_dir: Path, module: str) -> str:
    """The version module_dir's go.mod requires of module (what 70-go.sh keys its cache by)."""
    match = re.search(
        rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", (module_dir / "go.mod").read_text(), re.M
    )
    assert match, f"{module_dir}/go.mod requires no {module} version"
    return match.group(1)


def daprd_version() -> str:
    return go_mod_version(GO_MODULE, "github.com/dapr/dapr")


def built_daprd(variable: str, suffix: str = "", binary: str = "daprd") -> Path:
    """The daprd 70-go.sh built (``<cache>/daprd-<version><suffix>/<binary>``), or the one
    ``variable`` names. Read at import: the hermetic_env fixture hides every CREDPROC_* variable."""
    given = os.environ.get(variable)
    if given:
        return Path(given)
    return GO_CACHE / f"daprd-{daprd_version()}{suffix}" / binary


DAPRD = built_daprd("CREDPROC_TEST_DAPRD")


def executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


# ---- moto: DynamoDB beside STS on the same loopback server, behind a front that acts as AWS ------


@dataclass(frozen=True)
class Call:
    operation: str
    key: str  # the access key ID that signed it
    status: int  # what the front or moto answered


# AWS's answer to a DynamoDB call signed with a key it no longer knows (awsJson1_0's error shape).
_REVOKED = json.dumps(
    {
        "__type": "com.amazon.coral.service#UnrecognizedClientException",
        "message": "The security token included in the request is invalid.",
    }
).encode()


class MotoFront:
    """WSGI in front of moto (inside the session's counting app): records which access key signed
    each DynamoDB call and how it was answered; answers a call signed with a key the test revoked as
    AWS does (HTTP 400, UnrecognizedClientException); and, when ``lifetime`` is set (test-only),
    moves the Expiration of every AssumeRole answer to that many seconds from now, so that
    credproc's refresh comes within a test's time. The product's defaults stay as they are."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.calls: list[Call] = []
        self.revoked: set[str] = set()
        self.lifetime: float | None = None
        self._lock = threading.Lock()

    def keys(self) -> set[str]:
        with self._lock:
            return {call.key for call in self.calls}

    def revoke(self, *keys: str) -> None:
        with self._lock:
            self.revoked.update(keys)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_"):
            return self._dynamodb(target.split(".", 1)[-1], environ, start_response)
        if self.lifetime is not None and _action(environ) == "AssumeRole":
            return self._short_lived(environ, start_response, self.lifetime)
        return self.app(environ, start_response)

    def _dynamodb(
        self, operation: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        found = re.search(r"Credential=([^/,\s]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        key = found.group(1) if found else ""
        with self._lock:
            refused = key in self.revoked
        if refused:
            self._record(Call(operation, key, 400))
            start_response(
                "400 Bad Request",
                [
                    ("Content-Type", "application/x-amz-json-1.0"),
                    ("X-Amzn-ErrorType", "UnrecognizedClientException"),
                    ("Content-Length", str(len(_REVOKED))),
                ],
            )
            return [_REVOKED]

        def answered(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Any:
            self._record(Call(operation, key, int(status.split()[0])))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, answered)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _short_lived(
        self, environ: dict[str, Any], start_response: Callable[..., Any], lifetime: float
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
            seen.update(status=status, headers=headers)

        body = b"".join(self.app(environ, keep))
        stamp = (datetime.now(timezone.utc) + timedelta(seconds=lifetime)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = re.sub(rb"<Expiration>[^<]*</Expiration>", f"<Expiration>{stamp}</Expiration>".encode(), body)
        headers = [h for h in seen["headers"] if h[0].lower() != "content-length"]
        start_response(seen["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


def _action(environ: dict[str, Any]) -> str:
    # The counting app outside has read the body already and left it in a BytesIO.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    action: str = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
    return action


@dataclass
class Table:
    name: str
    key_id: str  # the access key ID credproc resolved for the profile the table was made with
    front: MotoFront


@contextlib.contextmanager
def table(sts: MotoSTS, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    """A fresh table on the session's moto server, in the account of ``keys`` (credential_process
    JSON; moto keeps one set of tables per account and takes the account from the signing key),
    and the front in place from then on."""
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=sts.url,
        region_name="us-east-1",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys.get("SessionToken"),
    )
    name = f"credproc-daprd-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
    )
    front = MotoFront(sts.app.app)
    monkeypatch.setattr(sts.app, "app", front)
    try:
        yield Table(name, keys["AccessKeyId"], front)
    finally:
        monkeypatch.setattr(sts.app, "app", front.app)
        client.delete_table(TableName=name)


# ---- fixtures the daprd and Dapr CLI tests share -----------------------------------------------


@pytest.fixture(name="daprd_bin")
def daprd_bin_fixture() -> Path:
    require(
        "daprd",
        executable(DAPRD),
        f"no executable at {DAPRD}: .ci/install.d/70-go.sh builds it (or set CREDPROC_TEST_DAPRD)",
    )
    return DAPRD


def resolved(profile: str) -> dict[str, str]:
    done = run_credproc("credential-process", "--profile", profile)
    assert done.returncode == 0, done.stderr
    keys: dict[str, str] = json.loads(done.stdout)
    return keys


@pytest.fixture(name="dynamodb")
def dynamodb_fixture(chain: AwsFiles, sts: MotoSTS, monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    """A fresh table in the chain's top role's account, made with the keys credproc resolves for
    that role, and the front recording who signs each DynamoDB call after that."""
    keys = resolved("top")
    assert keys["AccessKeyId"].startswith("ASIA") and keys["AccessKeyId"] != BASE_KEY_ID
    with table(sts, keys, monkeypatch) as made:
        yield made


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


def free_ports(count: int) -> list[int]:
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
    args: list[str]  # daprd's command line
    resources: Path
    config: Path
    grpc: int
    internal: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http}{path}"


def sidecar(
    folder: Path, daprd: Path, table: str, endpoint: str, path_arg: Callable[[Path], str] = str
) -> Sidecar:
    """daprd's component and configuration files in folder, and its command line; path_arg writes a
    path as daprd names it (a Windows daprd under wine: tests/support/wine.py's windows_path)."""
    resources = folder / "resources"
    resources.mkdir(parents=True)
    (resources / "statestore.yaml").write_text(COMPONENT.format(table=table, endpoint=endpoint))
    config = folder / "config.yaml"
    config.write_text(CONFIGURATION.format())
    http, grpc, internal = free_ports(3)
    args = [
        str(daprd),
        "--app-id",
        "credproc-test",
        "--mode",
        "standalone",
        "--resources-path",
        path_arg(resources),
        "--config",
        path_arg(config),
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
    return Sidecar(http, args, resources, config, grpc, internal)


def daprd_env() -> dict[str, str]:
    # DAPR_HOST_IP: daprd otherwise finds "its" address by opening a UDP socket towards a public one.
    return {**os.environ, "DAPR_HOST_IP": "127.0.0.1"}


def http(method: str, url: str, body: object = None) -> tuple[int, bytes]:
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
def running(
    cmd: list[str],
    sidecar: Sidecar,
    log: Path,
    extra_env: dict[str, str] | None = None,
    ready: str = "/v1.0/healthz",
    ready_within: float = READY_WITHIN,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start cmd (credproc exec ... -- daprd ...), wait until daprd's healthz answers 204, and stop it
    with SIGTERM afterwards (credproc passes it on), killing the group if it hangs."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            env={**daprd_env(), **(extra_env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if proc.poll() is not None:
                pytest.fail(f"daprd exited with {proc.returncode} before it was ready:\n{log.read_text()}")
            with contextlib.suppress(OSError):
                if http("GET", sidecar.url(ready))[0] == 204:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"daprd not ready within {ready_within:.0f} s:\n{log.read_text()}")
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


def state_round_trip(sidecar: Sidecar) -> None:
    """Save, get, delete and get again through daprd's HTTP state API."""
    value = {"greeting": "hello from credproc", "n": 42}
    status, body = http("POST", sidecar.url("/v1.0/state/statestore"), [{"key": "k1", "value": value}])
    assert status == 204, body
    status, body = http("GET", sidecar.url("/v1.0/state/statestore/k1"))
    assert status == 200, body
    assert json.loads(body) == value
    status, body = http("DELETE", sidecar.url("/v1.0/state/statestore/k1"))
    assert status == 204, body
    status, body = http("GET", sidecar.url("/v1.0/state/statestore/k1"))
    assert (status, body) == (204, b"")


@dataclass
class Tally:
    """Every state operation a test made through one daprd, and the ones that failed."""

    ok: int = 0
    failed: list[tuple[str, int, bytes]] = field(default_factory=list)  # (operation, status, body)

    def count(self, operation: str, status: int, body: bytes, expected: int) -> bool:
        if status == expected:
            self.ok += 1
            return True
        self.failed.append((operation, status, body))
        return False


def state_ops(sidecar: Sidecar, tally: Tally, key: str = "k1") -> bool:
    """Save, get and delete one key through daprd's state API, counting each operation; stops at the
    first that fails. True when all three succeeded."""
    value = {"n": tally.ok, "key": key}
    status, body = http("POST", sidecar.url("/v1.0/state/statestore"), [{"key": key, "value": value}])
    if not tally.count("save", status, body, 204):
        return False
    status, body = http("GET", sidecar.url(f"/v1.0/state/statestore/{key}"))
    if not tally.count("get", status, body, 200):
        return False
    if json.loads(body) != value:
        tally.failed.append(("get", status, body))
        return False
    status, body = http("DELETE", sidecar.url(f"/v1.0/state/statestore/{key}"))
    return tally.count("delete", status, body, 204)


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().partition("=")[::2] for item in raw.split(b"\0") if item)


# ---- sockets: everything daprd opened is on the loopback ----------------------------------------


def descendants(root: int) -> set[int]:
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


def daprd_pid(root: int, daprd: Path) -> int:
    for pid in sorted(descendants(root)):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/exe").resolve() == daprd.resolve():
                return pid
    pytest.fail(f"no daprd process under pid {root}")


def inet_sockets(pid: int) -> list[tuple[str, str, str]]:
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


def is_loopback(address: str) -> bool:
    ip = address.rsplit(":", 1)[0].strip("[]")  # ss writes [::1]:port, /proc's tables ::1:port
    return ip.startswith(("127.", "::ffff:127.")) or ip == "::1"


def assert_loopback_only(pid: int, listening_anywhere: Iterable[int] = ()) -> list[tuple[str, str, str]]:
    """Every internet socket of the process is TCP on the loopback; except listeners on the ports
    ``listening_anywhere`` (which the caller knows it cannot put on 127.0.0.1)."""
    ports = {str(port) for port in listening_anywhere}

    def exempt(local: str, remote: str) -> bool:
        return local.rsplit(":", 1)[1] in ports and remote.rsplit(":", 1)[1] in ("0", "*")

    sockets = inet_sockets(pid)
    assert sockets, "daprd holds no internet socket at all: it cannot be serving"
    assert not [s for s in sockets if s[0].startswith(("udp", "raw"))], sockets  # no mDNS, no probing
    for table, local, remote in sockets:
        assert is_loopback(local) or exempt(local, remote), (table, local, remote)
        assert remote.endswith(":0") or is_loopback(remote), (table, local, remote)
    # The same through ss, as a person would check it: every socket of daprd's is on 127.0.0.1.
    listed = subprocess.run(["ss", "-H", "-tuanp"], capture_output=True, text=True, timeout=10, check=False)
    if listed.returncode == 0:
        mine = [line.split() for line in listed.stdout.splitlines() if f"pid={pid}," in line]
        assert mine, listed.stdout
        for cols in mine:
            assert cols[0] == "tcp", cols
            assert is_loopback(cols[4]) or exempt(cols[4], cols[5]), cols
    return sockets
