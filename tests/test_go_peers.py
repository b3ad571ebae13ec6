"""The Go peers the benchmark and the drop-in tests compare credproc with (issues 13, 14) are built,
at the versions tests/go pins, and run here.

.ci/install.d/70-go.sh builds them from their Go modules into the cache and exports their paths;
these tests find them the same way the comparison tests do, so a missing or mis-versioned build
fails in CI instead of turning every comparison into a skip.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, require

GO = REPO / "tests" / "go"


@dataclass(frozen=True)
class Peer:
    name: str  # cache folder prefix and binary name
    variable: str  # what 70-go.sh exports
    module_dir: str  # under tests/go
    module: str  # the module whose pinned version is built
    version_args: tuple[str, ...]

    def version(self) -> str:
        text = (GO / self.module_dir / "go.mod").read_text()
        match = re.search(rf"^\s*(?:require\s+)?{re.escape(self.module)} (v\S+)", text, re.M)
        assert match, f"tests/go/{self.module_dir}/go.mod pins no version of {self.module}"
        return match.group(1)

    def path(self) -> Path:
        given = os.environ.get(self.variable)
        if given:
            return Path(given)
        cache = Path(os.environ.get("CREDPROC_GO_CACHE", "/var/cache/credproc-go"))
        return cache / f"{self.name}-{self.version()}" / self.name


PEERS = [
    Peer(
        "aws_signing_helper",
        "CREDPROC_TEST_SIGNING_HELPER",
        "signinghelper",
        "github.com/aws/rolesanywhere-credential-helper",
        ("version",),
    ),
    Peer(
        "aws-vault",
        "CREDPROC_TEST_AWS_VAULT",
        "awsvault",
        "github.com/99designs/aws-vault/v7",
        ("--version",),
    ),
    Peer("granted", "CREDPROC_TEST_GRANTED", "granted", "github.com/common-fate/granted", ("--version",)),
    Peer("daprd", "CREDPROC_TEST_DAPRD", "daprd", "github.com/dapr/dapr", ("--version",)),
]
# Read at import: the hermetic_env fixture hides every CREDPROC_* variable from the tests.
PATHS = {peer.name: peer.path() for peer in PEERS}


@pytest.mark.parametrize("peer", PEERS, ids=[peer.name for peer in PEERS])
def test_each_go_peer_is_built_at_its_pinned_version_and_runs(peer: Peer) -> None:
    binary = PATHS[peer.name]
    require(
        peer.name,
        binary.is_file() and os.access(binary, os.X_OK),
        f"no executable at {binary}: .ci/install.d/70-go.sh builds it (or set {peer.variable})",
    )
    env = {**os.environ, "GRANTED_DISABLE_UPDATE_CHECK": "true"}  # granted asks its vendor otherwise
    done = subprocess.run(
        [str(binary), *peer.version_args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout + done.stderr
    if peer.name == "granted":
        # Built with its version left "dev": a release version would ask for updates on every run.
        assert "dev" in printed, printed
    else:
        assert peer.version().lstrip("v") in printed, printed
