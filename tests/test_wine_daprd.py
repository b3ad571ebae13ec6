"""daprd built for Windows (``GOOS=windows``) runs under Wine 8.0, launched by ``credproc exec --server``,
and stores state in DynamoDB (moto) with the credentials it read from credproc's container endpoint
(issue 13, the Windows half of tests/test_daprd.py).

What crosses into wine: wine hands its Unix environment to the Windows program, so daprd.exe gets
``AWS_CONTAINER_CREDENTIALS_FULL_URI`` (http on 127.0.0.1, which the Go SDK allows without TLS) and
``AWS_CONTAINER_AUTHORIZATION_TOKEN`` as credproc set them. Its own paths (``--resources-path``,
``--config``) are written as a Windows program names them: ``Z:\\...`` (wine maps Z: to /). It runs
loopback-only as the Linux daprd does (tests/support/daprd.py: APIs on 127.0.0.1, metrics off, a name
resolver that does not multicast, ``DAPR_HOST_IP``).

Each test runs in a private copy of the wine prefix (tests/support/wine.py: hard links to the cached
prefix's DLLs, copies of the rest, in a fraction of a second), so that ``wineserver -k`` at the end
stops its wineserver, services.exe and the rest, and only them; the teardown fails when any is left.
daprd.exe is built by .ci/install.d/70-go.sh and found through CREDPROC_TEST_DAPRD_WINDOWS or the
same cache path; Go >= 1.22 programs need the ProcessPrng shim 55-wine.sh builds into the prefix.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CREDPROC, AwsFiles, require, run_credproc
from tests.support import wine
from tests.support.daprd import (  # noqa: F401 - fixtures
    STOP_WITHIN,
    Table,
    built_daprd,
    daprd_env,
    daprd_version,
    descendants,
    dynamodb_fixture,
    environ_of,
    inet_sockets,
    is_loopback,
    running,
    sidecar,
    state_round_trip,
)
from tests.support.moto_sts import MotoSTS

DAPRD_EXE = built_daprd("CREDPROC_TEST_DAPRD_WINDOWS", "-windows-amd64", "daprd.exe")
# Wine's first start in a fresh prefix copy (wineserver, services.exe...) comes before daprd's own;
# a few seconds on an idle machine, and a busy 2-core one can take many times that.
READY_WITHIN = 180.0
# fixme lines are wine's notes about what it does not implement (dozens per start); its err lines
# stay in the log, which a failing test prints.
WINEDEBUG = "fixme-all"


@pytest.fixture(name="daprd_exe")
def daprd_exe_fixture() -> Path:
    require("wine", wine.WINE is not None and wine.WINESERVER is not None, wine.INSTALL_HINT)
    require(
        "the wine test prefix",
        wine.prefix_ready(),
        f"{wine.WINEPREFIX or '(no wine)'} is not whole: .ci/install.d/55-wine.sh makes it "
        "(or set CREDPROC_WINEPREFIX)",
    )
    require(
        "daprd.exe",
        DAPRD_EXE.is_file(),
        f"no file at {DAPRD_EXE}: .ci/install.d/70-go.sh builds it (or set CREDPROC_TEST_DAPRD_WINDOWS)",
    )
    return DAPRD_EXE


@pytest.fixture(name="prefix")
def prefix_fixture(daprd_exe: Path, tmp_path: Path) -> Iterator[Path]:
    made = wine.private_prefix(tmp_path / "wineprefix")
    yield made
    left = wine.stop(made)
    assert left == [], f"wine processes of the test's prefix still ran after wineserver -k: {left}"


def _windows_daprd(root: int) -> int:
    """The pid of daprd.exe under credproc: wine runs it in the process credproc started, whose
    command line then begins with the .exe (credproc's own names it too, as an argument)."""
    for pid in sorted(descendants(root)):
        with contextlib.suppress(OSError):
            program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            if program.lower().endswith(b"daprd.exe"):
                return pid
    pytest.fail(f"no daprd.exe process under pid {root}")


def _prefix_sockets(prefix: Path) -> dict[int, list[tuple[str, str, str]]]:
    """The internet sockets of every process of the prefix. Under wine the server holds them:
    daprd.exe's listeners are wineserver's file descriptors, and daprd.exe itself holds a socket
    only while it uses it."""
    found = {}
    for pid in wine.processes(prefix):
        with contextlib.suppress(OSError):
            found[pid] = inet_sockets(pid)
    return found


def test_windows_daprd_under_wine_prints_its_version_under_credproc_exec_server(
    chain: AwsFiles, daprd_exe: Path, prefix: Path
) -> None:
    """daprd.exe starts at all (Go's runtime, the ProcessPrng shim, daprd's flag parsing)."""
    done = run_credproc(
        "exec",
        "--profile",
        "top",
        "--server",
        "--",
        str(wine.WINE),
        str(daprd_exe),
        "--version",
        env={**daprd_env(), **wine.env(prefix, WINEDEBUG)},
        timeout=READY_WITHIN,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == daprd_version().lstrip("v"), (done.stdout, done.stderr)


def test_windows_daprd_under_wine_saves_gets_and_deletes_state_with_credentials_from_the_endpoint(
    chain: AwsFiles,
    daprd_exe: Path,
    prefix: Path,
    dynamodb: Table,
    sts: MotoSTS,
    tmp_path: Path,
) -> None:
    front = dynamodb.front
    car = sidecar(tmp_path, daprd_exe, dynamodb.name, sts.url, path_arg=wine.windows_path)
    resources = car.args[car.args.index("--resources-path") + 1]
    assert resources.startswith("Z:\\"), resources
    log = tmp_path / "daprd.log"
    cmd = [*CREDPROC, "exec", "--profile", "top", "--server", "--", str(wine.WINE), *car.args]
    with running(cmd, car, log, wine.env(prefix, WINEDEBUG), ready_within=READY_WITHIN) as proc:
        given = environ_of(_windows_daprd(proc.pid))
        names = sorted(name for name in given if name.startswith("AWS_"))  # no values: no secret
        # What wine passed on is what credproc set: the endpoint on the loopback, no keys.
        assert given.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "").startswith("http://127.0.0.1:"), names
        assert given.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"), names
        assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(given), names
        state_round_trip(car)
        # Loopback only, as the Linux daprd: every socket of the prefix's processes (and credproc's
        # endpoint, whose process carries WINEPREFIX too) is TCP on 127.0.0.1; daprd's three ports
        # are listening there.
        sockets = _prefix_sockets(prefix)
        every = [s for held in sockets.values() for s in held]
        assert every and all(table == "tcp" for table, _, _ in every), sockets
        assert all(is_loopback(local) for _, local, _ in every), sockets
        assert all(remote.endswith(":0") or is_loopback(remote) for _, _, remote in every), sockets
        listening = {local for _, local, remote in every if remote.endswith(":0")}
        assert {f"127.0.0.1:{port}" for port in (car.http, car.grpc, car.internal)} <= listening, sockets
        # Ctrl+C: credproc passes SIGINT on, wine makes it a console Ctrl+C event, and daprd.exe shuts
        # down gracefully. (SIGTERM, which `running` sends otherwise, ends a Windows program under
        # wine at once: no console event, exit 143.)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(STOP_WITHIN) == 0, log.read_text(errors="replace")
    text = log.read_text(errors="replace")
    assert "state.aws.dynamodb" in text and "statestore" in text, text
    assert "mdns" not in text.lower(), text
    # It ran as a Windows program: its reload signal is a named pipe, and it read its resources from
    # the Windows path it was given (the log quotes each backslash with another).
    assert r"named pipe \\\\.\\pipe\\dapr-reload" in text, text
    assert "Watching directories: [" + resources.replace("\\", "\\\\") + "]" in text, text
    assert "Received signal 'interrupt'" in text and "Daprd shutdown gracefully" in text, text
    operations = {call.operation for call in front.calls}
    assert {"GetItem", "PutItem", "DeleteItem"} <= operations, front.calls
    # Every DynamoDB call was signed with the top role's keys, which daprd.exe can only have had
    # from credproc's endpoint: its environment held none, and its shared files were the null device.
    assert front.keys() == {dynamodb.key_id}, front.calls
    assert {call.status for call in front.calls} == {200}, front.calls
