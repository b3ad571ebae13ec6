"""``credproc shell-init SHELL`` prints the files of ``shell/``, also from an installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from credproc.commands import shell_init
from tests.conftest import CREDPROC, REPO

SHELL_DIR = REPO / "shell"
PACKAGED_DIR = REPO / "credproc" / "data" / "shell"


def _shell_init(shell: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> bytes:
    done = subprocess.run(
        [*CREDPROC, "shell-init", shell],
        capture_output=True,
        timeout=60,
        check=False,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    return done.stdout


def test_the_packaged_copies_are_identical_to_shell_folder() -> None:
    names = sorted(shell_init.FILES.values())
    assert sorted(p.name for p in SHELL_DIR.glob("credproc.*")) == names
    assert sorted(p.name for p in PACKAGED_DIR.glob("credproc.*")) == names
    for name in names:
        assert (PACKAGED_DIR / name).read_bytes() == (SHELL_DIR / name).read_bytes(), (
            f"credproc/data/shell/{name} differs from shell/{name}: copy shell/{name} over it"
        )


@pytest.mark.parametrize("shell", shell_init.SHELLS)
def test_shell_init_prints_the_file_byte_for_byte(shell: str) -> None:
    assert _shell_init(shell) == (SHELL_DIR / shell_init.FILES[shell]).read_bytes()


def test_an_unknown_shell_is_a_usage_error() -> None:
    done = subprocess.run(
        [*CREDPROC, "shell-init", "csh"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("credproc: error: ")


def test_shell_init_works_from_a_built_package_without_the_repository(tmp_path: Path) -> None:
    # setuptools' build_py is the step that decides which files a wheel or an install gets.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "credproc", src / "credproc", ignore=shutil.ignore_patterns("__pycache__"))
    built = tmp_path / "built"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "build_py",
            "--build-lib",
            str(built),
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shutil.rmtree(src)
    env = dict(os.environ, PYTHONPATH=str(built))
    for shell, name in shell_init.FILES.items():
        assert _shell_init(shell, env=env, cwd=tmp_path) == (SHELL_DIR / name).read_bytes()


def test_cmd_file_keeps_crlf_line_ends_and_defines_the_macros() -> None:
    data = (SHELL_DIR / "credproc.cmd").read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")
    lines = data.decode().splitlines()
    assert lines[0] == "@echo off"
    # In a batch file %%L is the loop variable; doskey stores it as %L, cmd.exe's interactive form.
    assert (
        'doskey credproc-use=for /f "usebackq delims=" %%L in '
        '(`credproc env --format cmd --profile "$1"`) do @%%L'
    ) in lines
    assert (
        'doskey credproc-clear=for /f "usebackq delims=" %%L in (`credproc env --unset --format cmd`) do @%%L'
    ) in lines
    assert all(line.startswith(("rem", "@echo", "doskey")) for line in lines)


def test_powershell_file_defines_the_functions_over_credproc_env() -> None:
    text = (SHELL_DIR / "credproc.ps1").read_text()
    for function in ("credproc-use", "credproc-clear", "credproc-prompt"):
        assert f"function {function} {{" in text
    assert "& credproc env --profile $Name --format powershell" in text
    assert "& credproc env --unset --format powershell" in text
    assert "$Profile" not in text.replace("($Profile is", "")  # $PROFILE is PowerShell's own variable
    assert "if ($LASTEXITCODE -ne 0) { return }" in text
