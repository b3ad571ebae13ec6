"""Real shells for the shell-integration and completion tests, and a ``credproc`` on their PATH."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

from tests.conftest import require


def shell(name: str) -> str:
    """The path of a real shell; missing fails in CI (.ci/install.d/50-shells.sh installs them)."""
    found = shutil.which(name)
    require(name, found is not None, "the shell integration is tested in the real shell")
    assert found is not None
    return found


def install_credproc(bin_dir: Path) -> Path:
    """A ``credproc`` command that runs this checkout's credproc with this Python, as pip's would."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "credproc"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m credproc "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def env_with(bin_dir: Path, **extra: str) -> dict[str, str]:
    """The test's environment with ``bin_dir`` first on PATH (and this checkout importable)."""
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}"
    repo = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env
