"""Which cache folder credproc uses, and that it reads and writes only the one it checked.

The folder is trusted as OpenSSH trusts ``~/.ssh`` (every folder above it owned by root or us and
writable by no one else unless sticky; a symlink to it ours), opened once, and then named only
through that handle; each entry's checksum covers the key it is stored under. These tests need no
second user (the attacks that do are in test_cache_local_users.py)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from credproc import cachekey
from credproc.cache import Cache, EntryMeta
from credproc.credentials import Credentials
from tests.conftest import AwsFiles
from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_in_process

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners and modes")


def _creds(key_id: str) -> Credentials:
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    return Credentials(key_id, "secret-of-" + key_id, "token-of-" + key_id, expires)


def _key_id(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["AccessKeyId"])


def test_an_entry_moved_to_another_keys_name_is_a_miss(chain: AwsFiles, sts: MotoSTS, tmp_path: Path) -> None:
    top = _key_id(run_in_process("credential-process", "--profile", "top", entry=True))
    middle = _key_id(run_in_process("credential-process", "--profile", "middle", entry=True))
    cache = tmp_path / "cache"
    top_key = cachekey.answer_key({"profile": "top"}, os.environ)
    middle_key = cachekey.answer_key({"profile": "middle"}, os.environ)
    # Ours, 0600, whole and intact: only the name is wrong (what a folder swap could arrange).
    os.replace(cache / f"{middle_key}.entry", cache / f"{top_key}.entry")
    assert Cache.open(dict(os.environ), 0, print).fresh(top_key) is None
    again = _key_id(
        run_in_process("credential-process", "--profile", "top", entry=True)
    )  # fast path, then full CLI
    assert again != middle and again == top  # top's own hops are still cached: the same answer


def test_the_folder_swapped_by_path_after_it_was_opened_is_never_used(tmp_path: Path) -> None:
    warnings: list[str] = []
    cache = Cache.open(dict(os.environ), 0, warnings.append)
    cache.store("p-one", _creds("ASIAORIGINALORIGINAL"), EntryMeta(profile="one"))
    moved = tmp_path / "moved"
    os.rename(tmp_path / "cache", moved)
    # Another folder of ours now has the path, with a whole entry for the same key.
    Cache.open(dict(os.environ), 0, warnings.append).store(
        "p-one", _creds("ASIAIMPOSTORIMPOSTOR"), EntryMeta(profile="one")
    )
    found = cache.fresh("p-one")
    assert found is not None and found.access_key_id == "ASIAORIGINALORIGINAL"
    cache.store("p-two", _creds("ASIASECONDSECONDSEC"), EntryMeta(profile="two"))
    assert cache.obtain("p-three", lambda: _creds("ASIATHIRDTHIRDTHIRD"), EntryMeta()).access_key_id
    assert sorted(p.name for p in moved.iterdir()) == [
        "p-one.entry",
        "p-three.entry",
        "p-three.lock",
        "p-two.entry",
    ]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["p-one.entry"]
    assert warnings == []


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        (0o777, "is writable by other users"),
        (0o757, "is writable by other users"),
        (0o1777, None),  # sticky, as /tmp: others cannot rename what is ours there
        (0o755, None),
    ],
    ids=["0777", "0757", "1777", "0755"],  # group-writable: tests/test_cache_local_users.py
)
def test_a_cache_folder_below_one_others_can_write_is_not_used(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path, mode: int, why: str | None
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    env = dict(os.environ, CREDPROC_CACHE_DIR=str(shared / "credproc"))
    runs = [run_in_process("credential-process", "--profile", "top", env=env, entry=True) for _ in range(2)]
    answers = [_key_id(done) for done in runs]
    if why is None:
        assert answers[0] == answers[1]  # the second from the cache
        assert [done.stderr for done in runs] == ["", ""]
        assert sts.calls["AssumeRole"] == 2  # the second run was a hit
        return
    for done in runs:
        assert (
            f"warning: cache folder {shared / 'credproc'} is not used: {shared} above it {why}" in done.stderr
        )
        assert "continuing without a cache (fix: set CREDPROC_CACHE_DIR to a folder only you" in done.stderr
    assert sts.calls["AssumeRole"] == 4
    assert list(shared.iterdir()) == []  # not even made there


def test_a_symlinked_folder_on_the_way_is_judged_by_where_it_leads(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    open_ = tmp_path / "open"
    (open_ / "real").mkdir(parents=True)
    open_.chmod(0o777)
    link = tmp_path / "link"
    link.symlink_to(open_ / "real")
    env = dict(os.environ, CREDPROC_CACHE_DIR=str(link / "credproc"))
    done = run_in_process("credential-process", "--profile", "top", env=env, entry=True)
    assert _key_id(done)
    assert f"is not used: {open_} above it is writable by other users" in done.stderr


def test_an_own_symlink_to_an_own_cache_folder_is_followed(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    real = tmp_path / "dotfiles" / "credproc-cache"
    real.mkdir(parents=True, mode=0o700)
    link = tmp_path / "linked-cache"
    link.symlink_to(real)
    env = dict(os.environ, CREDPROC_CACHE_DIR=str(link))
    runs = [run_in_process("credential-process", "--profile", "top", env=env, entry=True) for _ in range(2)]
    assert _key_id(runs[0]) == _key_id(runs[1])
    assert [done.stderr for done in runs] == ["", ""]
    assert sts.calls["AssumeRole"] == 2
    assert link.is_symlink() and list(real.glob("p-*.entry"))


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o704], ids=oct)
def test_an_own_cache_folder_others_can_read_is_made_0700(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path, mode: int
) -> None:
    cache = tmp_path / "cache"
    first = run_in_process("credential-process", "--profile", "top", entry=True)
    assert first.stderr == ""
    cache.chmod(mode)
    # The fast path does not serve from it; the full CLI tightens it, says so, and serves the entry.
    tightened = run_in_process("credential-process", "--profile", "top", entry=True)
    assert _key_id(tightened) == _key_id(first)
    assert f"warning: cache folder {cache} was open to other users (mode {mode:04o}); made it 0700" in (
        tightened.stderr
    )
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    again = run_in_process("credential-process", "--profile", "top", entry=True)
    assert again.stderr == "" and again.stdout == first.stdout
    assert sts.calls["AssumeRole"] == 2


@pytest.mark.parametrize("mode", [0o702, 0o703], ids=oct)  # group-writable: test_cache_local_users.py
def test_an_own_cache_folder_others_can_write_is_not_used(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path, mode: int
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(mode)
    done = run_in_process("credential-process", "--profile", "top", entry=True)
    assert _key_id(done)
    assert f"cache folder {cache} is not used: it is writable by other users" in done.stderr
    assert f"fix: remove it, or chmod 700 {cache}" in done.stderr
    assert list(cache.iterdir()) == [] and stat.S_IMODE(cache.stat().st_mode) == mode


def test_doctor_names_the_folder_above_the_cache_that_others_can_change(
    chain: AwsFiles, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    (shared / "credproc").mkdir(parents=True, mode=0o700)
    shared.chmod(0o777)
    env = dict(os.environ, CREDPROC_CACHE_DIR=str(shared / "credproc"))
    done = run_in_process("doctor", "--profile", "top", "--offline", env=env)
    assert done.returncode == 1
    assert (
        f"cache folder {shared / 'credproc'} is not used: {shared} above it is writable by other users"
        in (done.stdout)
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open descriptors in /proc")
def test_a_dropped_cache_closes_its_folder_handle(tmp_path: Path) -> None:
    def handles() -> int:
        names = os.listdir("/proc/self/fd")
        return sum(1 for n in names if os.path.realpath(f"/proc/self/fd/{n}") == str(tmp_path / "cache"))

    for n in range(20):  # as in-process runs or a long-lived server do
        Cache.open(dict(os.environ), 0, print).store(f"p-{n}", _creds("ASIADROPPEDDROPPEDDR"), EntryMeta())
    assert handles() == 0


def _folder_stat(mode: int, uid: int, gid: int) -> os.stat_result:
    return os.stat_result((stat.S_IFDIR | mode, 1, 1, 2, uid, gid, 4096, 0, 0, 0))


def test_a_group_writable_folder_is_ours_only_when_the_group_is_our_private_one() -> None:
    """Debian's OpenSSH rule (a umask of 002): group-writable is safe when no one else is in the
    group, by primary group or listed; any other member, or a group that does not exist, is not."""
    import grp
    import pwd

    from credproc.cachedir import only_ours, unsafe_ancestor

    root_group = grp.getgrgid(0)
    if root_group.gr_mem or any(u.pw_uid != 0 for u in pwd.getpwall() if u.pw_gid == 0):
        pytest.skip("this machine's group 0 has members other than root")
    assert only_ours(_folder_stat(0o770, 0, 0), 0)
    assert not only_ours(_folder_stat(0o772, 0, 0), 0)  # others can write: never ours
    assert not only_ours(_folder_stat(0o770, 1, 0), 0)  # another owner
    shared = next((u for u in pwd.getpwall() if u.pw_uid != 0 and u.pw_gid != 0), None)
    if shared is not None:  # a group another user has as primary group is shared with them
        assert not only_ours(_folder_stat(0o770, 0, shared.pw_gid), 0)
    listed = next((g for g in grp.getgrall() if any(m != "root" for m in g.gr_mem)), None)
    if listed is not None:  # a group listing another member is shared with them
        assert not only_ours(_folder_stat(0o770, 0, listed.gr_gid), 0)
    missing = max(g.gr_gid for g in grp.getgrall()) + 4242
    assert not only_ours(_folder_stat(0o770, 0, missing), 0)  # a gid no group has
    assert unsafe_ancestor("/", "/", 0) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="chowns a folder to root's group")
def test_a_root_owned_group_writable_folder_of_roots_private_group_is_not_unsafe(tmp_path: Path) -> None:
    import grp

    from credproc.cachedir import unsafe_ancestor

    if grp.getgrgid(0).gr_mem:
        pytest.skip("this machine's group 0 has listed members")
    above = tmp_path / "shared-by-umask-002"
    (above / "cache").mkdir(parents=True)
    os.chown(above, 0, 0)
    above.chmod(0o770)
    assert unsafe_ancestor(str(above / "cache"), str(tmp_path), 0) is None
    above.chmod(0o777)
    assert unsafe_ancestor(str(above / "cache"), str(tmp_path), 0) == (
        str(above),
        "is writable by other users",
    )


def test_a_cache_folder_that_cannot_be_made_reads_as_empty_and_clears_nothing(tmp_path: Path) -> None:
    """A file where the folder should be (or any OSError opening it): every read is a miss, a
    listing is empty and a clear removes nothing, instead of an error from deep in the cache."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache's parent folder should be\n")
    cache = Cache(str(blocker / "cache"))
    assert cache.read("0" * 64) is None
    assert list(cache.items()) == []
    assert cache.clear() == 0
    assert blocker.read_text().startswith("a file")  # left alone
