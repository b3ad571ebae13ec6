"""The README's Install section, followed as a newcomer would: a fresh clone of this checkout, a
fresh virtualenv (no site packages, so the dependencies come from the package index as a user's
would), the commands between the README's `install` markers, then the installed `credproc` runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def install_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- install:start -->\n```sh\n(.*?)```\n<!-- install:end -->", text, re.S)
    assert block, "README.md lost its install markers"
    return [
        line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.split("#", 1)[0].strip()
    ]


def test_the_readme_names_the_install_commands() -> None:
    assert install_commands() == ["pipx install .", "credproc --version"]


def test_the_readme_install_works_from_a_fresh_clone_in_a_fresh_venv(tmp_path: Path) -> None:
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {
        "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        "HOME": str(tmp_path / "home"),
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(bin_dir),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    if "PIP_CACHE_DIR" in os.environ:
        env["PIP_CACHE_DIR"] = os.environ["PIP_CACHE_DIR"]
    for command in install_commands():
        if command.startswith("pipx ") and not shutil.which("pipx"):
            command = "pip" + command[len("pipx") :]  # the README's own alternative, in the venv
        done = subprocess.run(
            command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        assert done.returncode == 0, (command, done.stderr[-2000:])
    done = subprocess.run(
        [str(bin_dir / "credproc"), "--version"], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout.startswith("credproc, version"), done.stdout
