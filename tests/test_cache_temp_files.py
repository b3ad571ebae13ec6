"""A temporary file left by a killed run holds live keys: later writes sweep it once it is older
than a write could take (60 s), and `cache clear`, `cache clear --profile` and `logout` remove it.

The files are left by real processes killed (SIGKILL) between writing the whole entry and the
rename (tests/support/cachetools.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import AwsFiles, run_credproc
from tests.support.cachetools import killed_write
from tests.support.moto_sts import MotoSTS
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    SsoEmulator,
    sso_fixture,
    sso_server_fixture,
    write_token,
)

OLD = 120  # seconds: a write takes milliseconds


def _temps(cache: Path) -> set[Path]:
    return set(cache.glob(".tmp-*"))


def test_a_killed_write_leaves_its_keys_in_a_temporary_file(tmp_path: Path) -> None:
    left = killed_write(tmp_path / "cache", "p-killed", "top", "ASIAKILLEDKILLEDKILL")
    assert b"secret-of-ASIAKILLEDKILLEDKILL" in left.read_bytes()  # what the sweeping is for
    assert left.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "cache" / "p-killed.entry").exists()


def test_a_later_write_sweeps_old_temporary_files_and_leaves_young_ones(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    old = killed_write(cache, "p-old", "middle", "ASIAOLDOLDOLDOLDOLDO", age=OLD)
    young = killed_write(cache, "p-young", "middle", "ASIAYOUNGYOUNGYOUNGY")  # may be a write going on
    done = run_credproc("credential-process", "--profile", "top")  # a miss: it writes
    assert done.returncode == 0, done.stderr
    assert _temps(cache) == {young} and not old.exists()


def test_cache_clear_removes_every_temporary_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    killed_write(cache, "p-old", "a", "ASIAOLDOLDOLDOLDOLDO", age=OLD)
    killed_write(cache, "p-young", "b", "ASIAYOUNGYOUNGYOUNGY")
    done = run_credproc("cache", "clear")
    assert done.returncode == 0, done.stderr
    assert _temps(cache) == set()


def test_cache_clear_of_a_profile_removes_its_temporary_files_and_old_ones(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    killed_write(cache, "p-mine", "top", "ASIAMINEMINEMINEMINE")
    killed_write(cache, "p-old", "other", "ASIAOLDOLDOLDOLDOLDO", age=OLD)
    theirs = killed_write(cache, "p-theirs", "other", "ASIATHEIRSTHEIRSTHEI")
    done = run_credproc("cache", "clear", "--profile", "top")
    assert done.returncode == 0, done.stderr
    assert _temps(cache) == {theirs}


def test_logout_removes_the_temporary_files_of_what_it_signs_out_of(
    sso: SsoEmulator, hermetic_env: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    write_token(hermetic_env, sso.emulator)
    killed_write(cache, "p-dev", "dev", "ASIADEVDEVDEVDEVDEVD")  # profile dev: sso-session corp
    killed_write(cache, "p-old", "legacy", "ASIAOLDOLDOLDOLDOLDO", age=OLD)
    kept = killed_write(cache, "p-legacy", "legacy", "ASIALEGACYLEGACYLEGA")
    done = run_credproc("logout", "--sso-session", "corp")
    assert done.returncode == 0, done.stderr
    assert _temps(cache) == {kept}
