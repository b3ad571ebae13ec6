"""Real AWS SDKs (JavaScript v3 from npm, Go v1 from Debian) use `exec --server` and keep working.

The user's [default] profile holds other static keys: the child must use the endpoint anyway. The
role session lasts 900 seconds; the endpoint advertises a 303-second expiration
(CREDPROC_SERVER_MAX_TTL), so both SDKs, which refresh 5 minutes ahead, come back after ~3 s. The
test clears credproc's cache after the first call: the next fetch makes credproc assume the role
again, and the SDK must switch to the new keys and keep calling STS successfully.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_KEY_ID, BASE_SECRET, REPO, AwsFiles, require, run_credproc
from tests.support.moto_sts import MotoSTS
from tests.support.runner import start_credproc

SDK = REPO / "tests" / "sdk"
DEFAULT_KEY = "AKIADEFAULTEXAMPLE00"
CONFIG = """
[profile base]
region = us-east-1

[profile sdk]
role_arn = arn:aws:iam::333333333333:role/sdk
source_profile = base
role_session_name = sdk-session
duration_seconds = 900
region = us-east-1
"""
CREDENTIALS = f"""
[default]
aws_access_key_id = {DEFAULT_KEY}
aws_secret_access_key = defaultSecretThatMustNotWinEXAMPLEKEY0

[base]
aws_access_key_id = {BASE_KEY_ID}
aws_secret_access_key = {BASE_SECRET}
"""
CALLS, PAUSE_MS = 14, 500


def go_build_cache() -> Path:
    """Go's build cache for the caller, kept on the machine beside the other Go builds
    (.ci/install.d/70-go.sh): CI runs on a fresh clone, where a cache inside the checkout made every
    run a cold build (35 s of the suite). Go's cache is keyed by content, so sharing it is safe."""
    machine = Path(os.environ.get("CREDPROC_GO_CACHE") or "/var/cache/credproc-go")
    if os.access(machine if machine.exists() else machine.parent, os.W_OK):
        return machine / "build-gopath"
    return REPO / ".ci" / "work" / "gocache"


@pytest.fixture(scope="session")
def go_caller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    go = shutil.which("go")
    sdk_src = Path("/usr/share/gocode/src/github.com/aws/aws-sdk-go/service/sts")
    if go is None or not sdk_src.is_dir():
        yield Path("/missing")
        return
    out = tmp_path_factory.mktemp("go") / "caller"
    cache = go_build_cache()
    env = {
        **os.environ,
        "GOPATH": "/usr/share/gocode",
        "GO111MODULE": "off",
        "GOFLAGS": "",
        "GOPROXY": "off",
        "GOCACHE": str(cache),
        "CGO_ENABLED": "0",
    }
    subprocess.run(
        [go, "build", "-o", str(out), "caller.go"], cwd=SDK / "go", env=env, check=True, timeout=300
    )
    yield out


def node_ready() -> bool:
    installed = SDK / "js" / "node_modules" / "@aws-sdk" / "client-sts"
    return shutil.which("node") is not None and installed.is_dir()


@pytest.fixture
def sdk_world(aws_files: AwsFiles, sts: MotoSTS) -> dict[str, str]:
    aws_files.config.write_text(CONFIG)
    aws_files.credentials.write_text(CREDENTIALS)
    return {**os.environ, "CREDPROC_SERVER_MAX_TTL": "303", "CALLS": str(CALLS), "PAUSE_MS": str(PAUSE_MS)}


def run_through_server(child: list[str], env: dict[str, str], cwd: Path) -> list[dict[str, str]]:
    proc = start_credproc("exec", "--profile", "sdk", "--server", "--", *child, env=env, cwd=cwd)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first, proc.stderr.read() if proc.stderr else ""
        cleared = run_credproc("cache", "clear")  # credproc must now assume the role again
        assert cleared.returncode == 0, cleared.stderr
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return [json.loads(line) for line in [first, *rest.splitlines()]]


def check_calls(calls: list[dict[str, str]], sts: MotoSTS) -> None:
    assert len(calls) == CALLS
    keys = [c["key"] for c in calls]
    assert DEFAULT_KEY not in keys and BASE_KEY_ID not in keys
    assert all(k.startswith("ASIA") for k in keys)
    assert len(set(keys)) >= 2, "the SDK never fetched the refreshed credentials"
    assert keys[-1] != keys[0]
    assert all(c["arn"] == "arn:aws:sts::333333333333:assumed-role/sdk/sdk-session" for c in calls)
    assert sts.calls["AssumeRole"] >= 2
    assert sts.calls["GetCallerIdentity"] == CALLS


@pytest.mark.slow
def test_js_sdk_v3_default_chain_uses_the_endpoint_and_refetches(
    sdk_world: dict[str, str], sts: MotoSTS
) -> None:
    require("node + npm packages", node_ready(), "run `npm ci` in tests/sdk/js (.ci/install.d/30-sdks.sh)")
    calls = run_through_server(["node", "caller.mjs"], sdk_world, SDK / "js")
    check_calls(calls, sts)


@pytest.mark.slow
def test_go_sdk_v1_default_chain_uses_the_endpoint_and_refetches(
    sdk_world: dict[str, str], sts: MotoSTS, go_caller: Path
) -> None:
    require("go + golang-github-aws-aws-sdk-go-dev", go_caller.exists(), "see .ci/install.d/30-sdks.sh")
    calls = run_through_server([str(go_caller)], sdk_world, go_caller.parent)
    assert all(c["provider"] == "CredentialsEndpointProvider" for c in calls)
    check_calls(calls, sts)


def test_sdk_fixture_files_are_complete() -> None:
    assert (SDK / "js" / "package-lock.json").is_file()
    assert json.loads((SDK / "js" / "package.json").read_text())["dependencies"].keys() == {
        "@aws-sdk/client-sts",
        "@aws-sdk/credential-providers",
    }
