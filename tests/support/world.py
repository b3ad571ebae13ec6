"""The pieces of the hermetic world tests build on (the fixtures that use them are in conftest.py):
fake long-term keys, the AWS files of a temp HOME, the assume-role chain most tests resolve, and
the rule for a component that is missing."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

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
