"""The command line as users meet it: version, module entry, cache listing and clearing."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from credproc import __version__
from tests.conftest import BASE_SECRET, AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_in_process


def test_version_and_module_entry() -> None:
    done = run_credproc("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"credproc, version {__version__}"
    helped = subprocess.run(
        [sys.executable, "-m", "credproc", "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0
    assert "credential-process" in helped.stdout


def test_cache_list_shows_profiles_and_minutes_but_no_secret(chain: AwsFiles, sts: MotoSTS) -> None:
    creds = json.loads(run_credproc("credential-process", "--profile", "top").stdout)
    listed = run_credproc("cache", "list")
    assert listed.returncode == 0
    assert "top" in listed.stdout and "middle" in listed.stdout
    assert "assume-role" in listed.stdout
    assert "59m" in listed.stdout or "60m" in listed.stdout
    for secret in (creds["SecretAccessKey"], creds["SessionToken"], BASE_SECRET):
        assert secret not in listed.stdout + listed.stderr
    rows = [json.loads(line) for line in run_credproc("cache", "list", "--json").stdout.splitlines()]
    assert {r["profile"] for r in rows} == {"top", "middle"}
    assert {r["kind"] for r in rows} == {"answer", "hop"}


def test_cache_clear_one_profile_then_all(chain: AwsFiles, sts: MotoSTS, tmp_path: Path) -> None:
    run_in_process("credential-process", "--profile", "top", entry=True)
    cleared = run_in_process("cache", "clear", "--profile", "top", entry=True)
    assert cleared.returncode == 0
    assert "removed 2 cache entries" in cleared.stderr  # the answer and the top hop
    remaining = run_in_process("cache", "list", "--json", entry=True).stdout.splitlines()
    assert [json.loads(r)["profile"] for r in remaining] == ["middle"]
    assert run_in_process("cache", "clear", entry=True).returncode == 0
    assert list((tmp_path / "cache").iterdir()) == []


def test_cache_files_and_folder_are_private(chain: AwsFiles, sts: MotoSTS, tmp_path: Path) -> None:
    run_in_process("credential-process", "--profile", "top", entry=True)
    cache = tmp_path / "cache"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = list(cache.iterdir())
    assert files
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_empty_cache_list_says_so_on_stderr() -> None:
    done = run_in_process("cache", "list", entry=True)
    assert done.returncode == 0
    assert done.stdout == ""
    assert "the cache is empty" in done.stderr


def test_a_missing_argument_is_named_on_one_line() -> None:
    done = run_in_process("keys", "add")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        "credproc: error: missing argument NAME",
        "credproc: hint: see `credproc keys add --help`",
    ]


def _command_raising(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    """`credproc update` fails inside its command body with ``exc``, as a bug or a Ctrl+C would."""
    from credproc.commands import update

    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(update, "keep_updated", fail)


def test_ctrl_c_inside_a_command_is_exit_130_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _command_raising(monkeypatch, KeyboardInterrupt())
    done = run_in_process("update", "--once")
    # click writes a newline first, so the line does not follow a ^C the terminal echoed.
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "\ncredproc: error: interrupted\n")


def test_a_bug_is_its_own_exit_code_and_debug_shows_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    _command_raising(monkeypatch, RuntimeError("a bug"))
    done = run_in_process("update", "--once")
    assert done.returncode == 70 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] == "credproc: error: unexpected RuntimeError"
    debugged = run_in_process("--debug", "update", "--once")
    assert debugged.returncode == 70
    assert "Traceback (most recent call last)" in debugged.stderr and "RuntimeError: a bug" in debugged.stderr
