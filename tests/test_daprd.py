"""The real daprd, launched by ``credproc exec``, storing state in DynamoDB (moto) with the credentials
credproc resolved (issue 13). How daprd is built, found and run loopback-only: tests/support/daprd.py.

Credential rotation within a test's time comes from test-only settings, credproc's defaults left
alone (see LIFETIME below): the moto front shortens the Expiration of moto's AssumeRole answers to
615 s, the test passes ``--refresh-window 600`` and CREDPROC_SERVER_MAX_TTL=60. "Revoked at moto" is
the same front answering any DynamoDB call signed with a key the test revoked as AWS does: HTTP 400,
UnrecognizedClientException.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from tests.conftest import CREDPROC, AwsFiles, run_credproc
from tests.support.daprd import (  # noqa: F401 - fixtures
    Table,
    Tally,
    assert_loopback_only,
    daprd_bin_fixture,
    daprd_env,
    daprd_pid,
    daprd_version,
    dynamodb_fixture,
    environ_of,
    resolved,
    running,
    sidecar,
    state_ops,
    state_round_trip,
    table,
)
from tests.support.moto_sts import MotoSTS
from tests.support.ra_world import RaWorld
from tests.support.sso_emulator import SsoEmulator, sso_fixture, sso_server_fixture, write_token  # noqa: F401

# Rotation within a test's time, with the product's defaults left alone: every AssumeRole answer
# lives LIFETIME seconds, just over the 10 minutes below which credproc refuses fresh keys (it warns
# that no AWS session is that short), and credproc refreshes when fewer than WINDOW remain (for a
# session this short its cache never waits for less), so 15 s into each key's life. The endpoint
# advertises at most SERVER_MAX_TTL seconds, so the Go SDK in daprd, which refreshes container
# credentials with less than 5 minutes left, asks credproc again on every call.
LIFETIME = 615
WINDOW = 600
SERVER_MAX_TTL = 60
ROTATIONS_WITHIN = 150.0  # bounded wait for two rotations (some 30 s)


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
    front = dynamodb.front
    car = sidecar(tmp_path, daprd_bin, dynamodb.name, sts.url)
    log = tmp_path / "daprd.log"
    with running([*CREDPROC, "exec", "--profile", "top", *mode, "--", *car.args], car, log) as proc:
        state_round_trip(car)
        sockets = assert_loopback_only(daprd_pid(proc.pid, daprd_bin))
        assert any(local == f"127.0.0.1:{car.http}" for _, local, _ in sockets), sockets
    text = log.read_text()
    assert "state.aws.dynamodb" in text and "statestore" in text, text
    assert "mdns" not in text.lower(), text
    operations = {call.operation for call in front.calls}
    assert {"GetItem", "PutItem", "DeleteItem"} <= operations, front.calls
    # Every DynamoDB call was signed with the top role's keys, never the base profile's.
    assert front.keys() == {dynamodb.key_id}, front.calls
    assert {call.status for call in front.calls} == {200}, front.calls
    if mode:
        assert "never re-reads credentials" not in text
    else:
        assert "daprd never re-reads credentials from its environment" in text


def test_plain_exec_of_the_real_daprd_warns_that_its_credentials_will_expire(
    chain: AwsFiles, daprd_bin: Path
) -> None:
    done = run_credproc(
        "exec", "--profile", "top", "--", str(daprd_bin), "--version", env=daprd_env(), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == daprd_version().lstrip("v")
    assert "daprd never re-reads credentials from its environment" in done.stderr
    assert "credproc exec --server" in done.stderr
    quiet = run_credproc(
        "exec", "--profile", "top", "--server", "--", str(daprd_bin), "--version", env=daprd_env(), timeout=60
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "never re-reads" not in quiet.stderr


def test_exec_server_keeps_daprd_working_across_rotations_while_plain_exec_fails_once_its_keys_are_revoked(
    chain: AwsFiles, daprd_bin: Path, dynamodb: Table, sts: MotoSTS, tmp_path: Path
) -> None:
    """Two daprds side by side on the same table: one under ``exec --server``, one under plain
    ``exec``. Every key the served daprd stops using is revoked at moto as soon as it has moved on;
    it must go through two rotations without one failed state operation. The plain daprd's keys are
    revoked after its first round trip, and its next operation must fail."""
    front = dynamodb.front
    # The table's fixture cached the top role with moto's hour-long keys: start from nothing.
    cleared = run_credproc("cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    front.lifetime = LIFETIME
    window = ("--refresh-window", str(WINDOW))
    served = sidecar(tmp_path / "served", daprd_bin, dynamodb.name, sts.url)
    plain = sidecar(tmp_path / "plain", daprd_bin, dynamodb.name, sts.url)
    with contextlib.ExitStack() as stack:
        served_run = stack.enter_context(
            running(
                [*CREDPROC, "exec", "--profile", "top", "--server", *window, "--", *served.args],
                served,
                tmp_path / "served.log",
                {"CREDPROC_SERVER_MAX_TTL": str(SERVER_MAX_TTL)},
            )
        )
        # --no-cache: its own AssumeRole, so revoking its keys cannot touch the served daprd's.
        plain_run = stack.enter_context(
            running(
                [*CREDPROC, "exec", "--profile", "top", "--no-cache", *window, "--", *plain.args],
                plain,
                tmp_path / "plain.log",
            )
        )
        served_env = environ_of(daprd_pid(served_run.pid, daprd_bin))
        assert "AWS_ACCESS_KEY_ID" not in served_env and served_env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        plain_key = environ_of(daprd_pid(plain_run.pid, daprd_bin))["AWS_ACCESS_KEY_ID"]

        plain_tally = Tally()
        assert state_ops(plain, plain_tally), plain_tally.failed
        front.revoke(plain_key)
        assert not state_ops(plain, plain_tally), "the plain daprd went on with revoked keys"

        served_tally = Tally()
        used: list[str] = []  # the keys the served daprd signed with, in order
        deadline = time.monotonic() + ROTATIONS_WITHIN
        while True:
            assert state_ops(served, served_tally), served_tally.failed
            for call in front.snapshot():
                if call.key != plain_key and call.key not in used:
                    used.append(call.key)
            front.revoke(*used[:-1])  # every key it has moved on from
            if len(used) >= 3 and served_tally.ok >= 3 * 3:
                break
            assert time.monotonic() < deadline, f"{len(used) - 1} rotations in {ROTATIONS_WITHIN:.0f} s"
            time.sleep(0.5)
        assert state_ops(served, served_tally)  # and once more after the last revocation

    calls = front.snapshot()
    # Zero failed operations across two rotations, and none of its calls refused at moto.
    assert served_tally.failed == [], served_tally.failed
    assert [c for c in calls if c.key in used and c.status != 200] == []
    assert len(front.revoked & set(used)) >= 2  # the two keys it rotated away from are dead at moto
    # The plain daprd: one good round trip, then its first operation after the revocation failed,
    # and moto saw why.
    assert plain_tally.ok == 3 and [op for op, _, _ in plain_tally.failed] == ["save"], plain_tally.failed
    assert plain_tally.failed[0][1] >= 400
    assert any(c.key == plain_key and c.status == 400 for c in calls), calls
    print(
        f"served daprd: {served_tally.ok} state operations, 0 failed, keys {len(used)}; "
        f"plain daprd: {plain_tally.ok} ok then {len(plain_tally.failed)} failed"
    )


def _round_trip_as(
    profile: str,
    mode: tuple[str, ...],
    daprd: Path,
    sts: MotoSTS,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """The keys credproc resolves for profile; a table made with them; daprd under ``credproc exec``
    (mode: plain or --server) saving, getting and deleting state in it; and moto's word that every
    DynamoDB call daprd made was signed with those keys and answered 200."""
    keys = resolved(profile)
    with table(sts, keys, monkeypatch) as made:
        car = sidecar(tmp_path, daprd, made.name, sts.url)
        cmd = [*CREDPROC, "exec", "--profile", profile, *mode, "--", *car.args]
        with running(cmd, car, tmp_path / "daprd.log"):
            state_round_trip(car)
        calls = made.front.snapshot()
    assert {"GetItem", "PutItem", "DeleteItem"} <= {call.operation for call in calls}, calls
    assert {call.key for call in calls} == {keys["AccessKeyId"]}, calls
    assert {call.status for call in calls} == {200}, calls
    return keys


MODES = pytest.mark.parametrize("mode", [(), ("--server",)], ids=["exec", "exec-server"])


@MODES
def test_daprd_stores_state_with_the_keys_credproc_resolved_for_an_sso_profile(
    sso: SsoEmulator,
    hermetic_env: Path,
    daprd_bin: Path,
    sts: MotoSTS,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: tuple[str, ...],
) -> None:
    write_token(hermetic_env, sso.emulator)  # as `aws sso login` leaves it: valid for an hour
    keys = _round_trip_as("dev", mode, daprd_bin, sts, tmp_path, monkeypatch)
    # The keys are the portal's (GetRoleCredentials), fetched once: daprd's run hit the cache.
    assert sso.emulator.count("GetRoleCredentials") == 1
    assert keys["AccessKeyId"].startswith("ASIA")


@MODES
def test_daprd_stores_state_with_the_keys_credproc_resolved_for_a_roles_anywhere_profile(
    ra: RaWorld,
    aws_files: AwsFiles,
    daprd_bin: Path,
    sts: MotoSTS,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: tuple[str, ...],
) -> None:
    aws_files.write_config(ra.profile_block(ra.identity("p256", password=None)))
    monkeypatch.setenv("AWS_ENDPOINT_URL_ROLESANYWHERE", ra.url)
    keys = _round_trip_as("ra", mode, daprd_bin, sts, tmp_path, monkeypatch)
    # The emulator's first CreateSession answer, and its only one: daprd's run hit the cache.
    assert keys["AccessKeyId"] == "ASIARAEMU00000000001" and ra.world.calls == 1
