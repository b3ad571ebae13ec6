"""credproc's own secret inputs (envbuild.SECRET_VARS, e.g. CREDPROC_PRIVATE_KEY_PASSPHRASE) never
reach a program `exec` starts, with keys or behind `--server`, on the slow path or the fast one."""

from __future__ import annotations

import json
import os
import sys

import pytest

from credproc.envbuild import SECRET_VARS
from tests.conftest import AwsFiles, run_credproc

DUMP_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
PASSPHRASE = "hunter2-secret-passphrase"


@pytest.mark.parametrize(
    "args",
    [
        ("exec", "--profile", "top", "--"),  # slow path, then the fast path on the cached answer
        ("exec", "--profile", "top", "--"),
        ("exec", "--profile", "top", "--server", "--"),
    ],
)
def test_secret_variables_never_reach_the_child(chain: AwsFiles, args: tuple[str, ...]) -> None:
    env = {**os.environ, **dict.fromkeys(SECRET_VARS, PASSPHRASE), "CREDPROC_UNRELATED": "kept"}
    done = run_credproc(*args, *DUMP_ENV, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    child = json.loads(done.stdout)
    assert child["CREDPROC_UNRELATED"] == "kept"  # only the secret ones go
    assert not set(SECRET_VARS) & set(child)
    assert PASSPHRASE not in done.stdout
