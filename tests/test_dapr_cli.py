"""`dapr run` from the Dapr CLI, under ``credproc exec --server``, starting the real daprd, whose state
API then works with credproc's credentials (issue 13): the CLI hands daprd its own environment, and
with it the endpoint's URL and token.

The CLI is built from its Go module by .ci/install.d/70-go.sh (tests/go/daprcli pins v1.12.0, the
newest the Go module proxy serves whole) and found through CREDPROC_TEST_DAPR_CLI or the same cache
path. There is no `dapr init` (it downloads daprd and writes ~/.dapr): ``--runtime-path R`` makes the
CLI run R/.dapr/bin/daprd, where the test links the daprd built from the dapr module.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import CREDPROC, AwsFiles, require
from tests.support import daprd as dapr
from tests.support.daprd import (  # noqa: F401 - fixtures
    Table,
    assert_loopback_only,
    daprd_bin_fixture,
    daprd_pid,
    dynamodb_fixture,
    environ_of,
    executable,
    running,
    sidecar,
    state_round_trip,
)
from tests.support.moto_sts import MotoSTS

CLI_MODULE = dapr.REPO / "tests" / "go" / "daprcli"


def _find_cli() -> Path:
    # Read at import: the hermetic_env fixture hides every CREDPROC_* variable from the tests.
    given = os.environ.get("CREDPROC_TEST_DAPR_CLI")
    if given:
        return Path(given)
    return dapr.GO_CACHE / f"dapr-cli-{dapr.go_mod_version(CLI_MODULE, 'github.com/dapr/cli')}" / "dapr"


CLI = _find_cli()


@pytest.fixture
def dapr_cli() -> Path:
    require(
        "the Dapr CLI",
        executable(CLI),
        f"no executable at {CLI}: .ci/install.d/70-go.sh builds it (or set CREDPROC_TEST_DAPR_CLI)",
    )
    return CLI


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_dapr_run_under_exec_server_gives_the_sidecar_credprocs_credentials(
    chain: AwsFiles,
    daprd_bin: Path,
    dapr_cli: Path,
    dynamodb: Table,
    sts: MotoSTS,
    tmp_path: Path,
) -> None:
    runtime = tmp_path / "runtime"
    (runtime / ".dapr" / "bin").mkdir(parents=True)
    (runtime / ".dapr" / "bin" / "daprd").symlink_to(daprd_bin)
    # The daprd files and ports the direct tests use; `dapr run` takes the same names for them.
    car = sidecar(tmp_path, daprd_bin, dynamodb.name, sts.url)
    metrics = dapr.free_ports(1)[0]
    cmd = [
        *CREDPROC, "exec", "--profile", "top", "--server", "--",
        str(dapr_cli), "run",
        "--app-id", "credproc-cli",
        "--runtime-path", str(runtime),
        "--resources-path", str(car.resources),
        "--config", str(car.config),
        "--dapr-http-port", str(car.http),
        "--dapr-grpc-port", str(car.grpc),
        "--dapr-internal-grpc-port", str(car.internal),
        "--metrics-port", str(metrics),
        "--dapr-listen-addresses", "127.0.0.1",
    ]  # fmt: skip
    log = tmp_path / "dapr-run.log"
    # `dapr run` v1.12 always gives daprd a placement address (localhost:50005 when none is given),
    # and daprd 1.18 keeps /v1.0/healthz unready while no placement service answers; the outbound
    # check says its components are up, which is what the state API needs.
    with running(cmd, car, log, ready="/v1.0/healthz/outbound") as proc:
        state_round_trip(car)
        sidecar_pid = daprd_pid(proc.pid, daprd_bin)
        # daprd is the CLI's child, and has the endpoint from the CLI's environment, not keys.
        assert Path(f"/proc/{_parent(sidecar_pid)}/exe").resolve() == dapr_cli.resolve()
        env = environ_of(sidecar_pid)
        assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:"), env
        assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env
        # All on the loopback but two listeners `dapr run` v1.12 has no flag to confine: it passes
        # daprd neither --enable-metrics=false nor --metrics-listen-address, nor
        # --dapr-internal-grpc-listen-address, so those two listen on every interface.
        assert_loopback_only(sidecar_pid, listening_anywhere={metrics, car.internal})
    text = log.read_text()
    assert "never re-reads" not in text  # --server: no warning
    assert not (Path.home() / ".dapr").exists()  # nothing fell back to what `dapr init` would install
    # The CLI's own account of it: it found the daprd it was pointed at, ran it, and stopped it.
    assert "You're up and running!" in text and "Exited Dapr successfully" in text, text
    calls = dynamodb.front.snapshot()
    assert {"GetItem", "PutItem", "DeleteItem"} <= {call.operation for call in calls}, calls
    # Signed with the chain's top role's keys, which only credproc's endpoint handed out.
    assert {call.key for call in calls} == {dynamodb.key_id}, calls
    assert {call.status for call in calls} == {200}, calls
