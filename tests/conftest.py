"""Hermetic tests: temp HOME, temp AWS files, no inherited AWS_*, loopback servers only."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import leaks
from tests.support.moto_sts import MotoSTS

REPO = Path(__file__).resolve().parent.parent
# Shared fixtures: in-memory and file keyrings, the Roles Anywhere world.
pytest_plugins = ["tests.support.fixtures"]
IN_CI = os.environ.get("CI") == "true"

# Fake, well-formed long-term keys. Never real.
BASE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
BASE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def require(what: str, available: bool, why: str) -> None:
    """In CI a missing component fails the test; on a laptop it skips with the reason."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing in CI: {why}")
    pytest.skip(f"{what} not available: {why}")


# Modules whose tests drive programs outside credproc (SDKs, shells, a keyring daemon, the AWS CLI).
# Marked here, in one place, so CI can run the rest on every interpreter (see .ci/test).
SDK_MODULES = {"test_exec_sdk"}
E2E_MODULES = {"test_keyring_e2e", "test_shell_functions", "test_completion", "test_render_shells",
               "test_sso_interop", "test_bench", "test_daprd", "test_go_sdkv2",
               "test_go_peers"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in SDK_MODULES:
            item.add_marker(pytest.mark.sdk)
        if module in E2E_MODULES or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own HOME and cache, and sees no AWS_* or CREDPROC_* of the machine."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    for name in list(os.environ):
        if name.startswith(("AWS_", "CREDPROC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("CREDPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from credproc import keystore

    keystore.forget_backend()  # a test that switches keyring backends must not see the last one's
    yield home
    keystore.forget_backend()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoSTS]:
    with MotoSTS() as server:
        yield server


@pytest.fixture
def sts(moto_server: MotoSTS, monkeypatch: pytest.MonkeyPatch) -> MotoSTS:
    moto_server.app.reset()
    moto_server.app.fail_with = None
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server.url)
    return moto_server


@dataclass
class AwsFiles:
    home: Path

    @property
    def config(self) -> Path:
        return self.home / ".aws" / "config"

    @property
    def credentials(self) -> Path:
        return self.home / ".aws" / "credentials"

    def write_config(self, text: str) -> None:
        self.config.write_text(textwrap.dedent(text))

    def write_credentials(self, text: str) -> None:
        self.credentials.write_text(textwrap.dedent(text))


@pytest.fixture
def aws_files(hermetic_env: Path) -> AwsFiles:
    return AwsFiles(hermetic_env)


CREDPROC = [sys.executable, "-m", "credproc"]


def run_credproc(*args: str, env: dict[str, str] | None = None, timeout: float = 90,
                 **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run credproc as a real process, as the AWS CLI would, with no terminal."""
    done: subprocess.CompletedProcess[str] = subprocess.run(
        [*CREDPROC, *args], capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ if env is None else env), stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal: prompts must fail fast
        check=False, **kwargs,  # type: ignore[call-overload]
    )
    leaks.runs.append(leaks.Run(tuple(args), done.stdout or "", done.stderr or ""))
    return done


# ---- leak guard: a test fails when any credproc run leaked a secret it could know ----------------

def _fixed_secrets() -> tuple[str, ...]:
    from tests.support.ra_pki import PASSPHRASE

    return (BASE_SECRET, PASSPHRASE)


@pytest.fixture(autouse=True)
def no_leaked_secrets(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Scans stderr, non-payload stdout and logs for test secrets and any credentials printed
    earlier in the test (tests/support/leaks.py)."""
    leaks.runs.clear()
    yield
    logs = "\n".join(record.getMessage() for when in ("setup", "call") for record in caplog.get_records(when))
    found = leaks.scan(_fixed_secrets(), logs)
    leaks.runs.clear()
    if found:
        pytest.fail("secret leaked:\n" + "\n".join(found), pytrace=False)


CHAIN_CONFIG = """
    [profile base]
    region = us-east-1

    [profile middle]
    role_arn = arn:aws:iam::111111111111:role/middle
    source_profile = base
    role_session_name = mid

    [profile top]
    role_arn = arn:aws:iam::222222222222:role/top
    source_profile = middle
    role_session_name = top
    region = eu-west-1
"""
CHAIN_CREDENTIALS = f"""
    [base]
    aws_access_key_id = {BASE_KEY_ID}
    aws_secret_access_key = {BASE_SECRET}
"""


@pytest.fixture
def chain(aws_files: AwsFiles, sts: MotoSTS) -> AwsFiles:
    aws_files.write_config(CHAIN_CONFIG)
    aws_files.write_credentials(CHAIN_CREDENTIALS)
    return aws_files
