"""The AWS SDK for Go v2 (the SDK Dapr 1.17+ uses) takes credproc's credentials three ways (issue 13):
through ``credential_process`` in a profile, through ``credproc exec``'s environment, and through
``credproc exec --server``'s endpoint, asked again and again.

The client is ours (tests/go/sdkv2: the SDK's default chain, then STS GetCallerIdentity on moto),
built by .ci/install.d/70-go.sh and found through CREDPROC_TEST_GO_SDKV2 or the same cache path.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE_KEY_ID, CREDPROC, REPO, AwsFiles, require, run_credproc

MODULE = REPO / "tests" / "go" / "sdkv2"


def _find_client() -> Path:
    # Read at import: the hermetic_env fixture hides every CREDPROC_* variable from the tests.
    given = os.environ.get("CREDPROC_TEST_GO_SDKV2")
    if given:
        return Path(given)
    # The cache key 70-go.sh uses: the client's go.mod, go.sum and sources, in that order.
    digest = hashlib.sha256()
    for path in [MODULE / "go.mod", MODULE / "go.sum", *sorted(MODULE.glob("*.go"))]:
        digest.update(path.read_bytes())
    cache = Path(os.environ.get("CREDPROC_GO_CACHE", "/var/cache/credproc-go"))
    return cache / f"sdkv2-{digest.hexdigest()[:12]}" / "sdkv2"


CLIENT = _find_client()


@pytest.fixture
def sdkv2() -> Path:
    require(
        "Go SDK v2 client",
        CLIENT.is_file() and os.access(CLIENT, os.X_OK),
        f"no executable at {CLIENT}: .ci/install.d/70-go.sh builds it (or set CREDPROC_TEST_GO_SDKV2)",
    )
    return CLIENT


def _lines(out: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _top_key() -> str:
    done = run_credproc("credential-process", "--profile", "top")
    assert done.returncode == 0, done.stderr
    key: str = json.loads(done.stdout)["AccessKeyId"]
    assert key.startswith("ASIA") and key != BASE_KEY_ID
    return key


def _assert_top_identity(seen: dict[str, str]) -> None:
    assert seen["account"] == "222222222222", seen
    assert ":assumed-role/top/" in seen["arn"], seen


def test_go_sdk_v2_through_credential_process(chain: AwsFiles, sdkv2: Path) -> None:
    python = sys.executable
    with chain.config.open("a") as config:
        config.write(
            f"\n[profile viaproc]\ncredential_process = {python} -m credproc credential-process "
            "--profile top\nregion = us-east-1\n"
        )
    env = {**os.environ, "AWS_PROFILE": "viaproc", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [str(sdkv2), "identity"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [seen] = _lines(done.stdout)
    assert seen["source"] == "ProcessProvider", seen
    assert seen["access_key_id"] == _top_key()
    _assert_top_identity(seen)


def test_go_sdk_v2_through_the_exec_environment(chain: AwsFiles, sdkv2: Path) -> None:
    done = run_credproc("exec", "--profile", "top", "--", str(sdkv2), "identity")
    assert done.returncode == 0, done.stderr
    [seen] = _lines(done.stdout)
    assert seen["source"] == "EnvConfigCredentials", seen
    assert seen["access_key_id"] == _top_key()
    _assert_top_identity(seen)


def test_go_sdk_v2_through_exec_server_asking_again_and_again(chain: AwsFiles, sdkv2: Path) -> None:
    """The client drops its cached keys before each of 6 resolutions: each one is a request to
    credproc's endpoint, answered from credproc's cache (no more role assumptions)."""
    done = subprocess.run(
        [*CREDPROC, "exec", "--profile", "top", "--server", "--", str(sdkv2), "refresh", "6"],
        env=dict(os.environ),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = _lines(done.stdout)
    assert len(seen) == 6, done.stdout
    assert {line["source"] for line in seen} == {"CredentialsEndpointProvider"}, seen
    assert {line["access_key_id"] for line in seen} == {_top_key()}
    assert all(line["can_expire"] for line in seen), seen
    identity = run_credproc("exec", "--profile", "top", "--server", "--", str(sdkv2), "identity")
    assert identity.returncode == 0, identity.stderr
    [line] = _lines(identity.stdout)
    assert line["source"] == "CredentialsEndpointProvider"
    _assert_top_identity(line)
