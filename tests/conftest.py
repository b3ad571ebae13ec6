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

from tests.support.moto_sts import MotoSTS

REPO = Path(__file__).resolve().parent.parent
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
    return subprocess.run(
        [*CREDPROC, *args], capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ if env is None else env), stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal: prompts must fail fast
        check=False, **kwargs,  # type: ignore[call-overload]
    )


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
