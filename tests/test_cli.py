"""The command line as users meet it: version, module entry, cache listing and clearing."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from credproc import __version__
from tests.conftest import BASE_SECRET, AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS


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
    run_credproc("credential-process", "--profile", "top")
    cleared = run_credproc("cache", "clear", "--profile", "top")
    assert cleared.returncode == 0
    assert "removed 2 cache entries" in cleared.stderr  # the answer and the top hop
    remaining = run_credproc("cache", "list", "--json").stdout.splitlines()
    assert [json.loads(r)["profile"] for r in remaining] == ["middle"]
    assert run_credproc("cache", "clear").returncode == 0
    assert list((tmp_path / "cache").iterdir()) == []


def test_cache_files_and_folder_are_private(chain: AwsFiles, sts: MotoSTS, tmp_path: Path) -> None:
    run_credproc("credential-process", "--profile", "top")
    cache = tmp_path / "cache"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = list(cache.iterdir())
    assert files
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_empty_cache_list_says_so_on_stderr() -> None:
    done = run_credproc("cache", "list")
    assert done.returncode == 0
    assert done.stdout == ""
    assert "the cache is empty" in done.stderr
