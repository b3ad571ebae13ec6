"""The disk cache's edges: what a listing or a clear does with files credproc did not write, the
record of an entry, and the cache that is off (``--no-cache``, an unusable folder)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from credproc import cachefile
from credproc.cache import Cache, EntryMeta, NoCache, entry_credentials
from credproc.credentials import Credentials
from credproc.errors import CredprocError


def _creds(name: str = "ASIACACHETEST") -> Credentials:
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    return Credentials(name, "s" * 40, "t" * 40, expires)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    return folder


@pytest.mark.parametrize(
    ("raw", "meta"),
    [
        (b"", EntryMeta()),
        (b"{not json", EntryMeta()),
        (b"\xff\xfe", EntryMeta()),
        (b'["a", "list"]', EntryMeta()),
        (b'{"kind": 3, "profile": "p", "region": null}', EntryMeta(profile="p")),
        (
            b'{"kind": "sso", "label": "l", "region": "eu-west-1"}',
            EntryMeta(kind="sso", label="l", region="eu-west-1"),
        ),
    ],
)
def test_an_entrys_record_reads_whatever_it_can_and_never_fails(raw: bytes, meta: EntryMeta) -> None:
    assert EntryMeta.from_json(raw) == meta


def test_a_listing_skips_files_that_are_not_readable_entries(directory: Path) -> None:
    Cache(str(directory)).store("good", _creds(), EntryMeta(profile="p"))
    (directory / "garbage.entry").write_bytes(b"not an entry\n")
    (directory / "folder.entry").mkdir(mode=0o700)  # opens, but cannot be read
    assert [(item.key, item.meta.profile) for item in Cache(str(directory)).items()] == [("good", "p")]
    assert Cache(str(directory)).read("folder") is None


def test_a_listing_of_a_folder_that_is_gone_is_empty(tmp_path: Path) -> None:
    assert list(Cache(str(tmp_path / "gone")).items()) == []


def test_clear_without_a_profile_also_removes_strays_and_nothing_else(directory: Path) -> None:
    cache = Cache(str(directory))
    cache.store("good", _creds(), EntryMeta(profile="p"))
    for stray in (".tmp-killed-writer", "good.lock", "orphan.lock", "garbage.entry"):
        (directory / stray).write_bytes(b"x")
    (directory / "notes.txt").write_text("the user's own file")
    assert cache.clear() == 1  # entries counted; the strays go silently
    assert sorted(os.listdir(directory)) == ["notes.txt"]


def test_clear_with_a_predicate_keeps_the_other_entries_and_strays(directory: Path) -> None:
    cache = Cache(str(directory))
    cache.store("a", _creds(), EntryMeta(profile="a"))
    cache.store("b", _creds(), EntryMeta(profile="b"))
    (directory / ".tmp-killed-writer").write_bytes(b"x")
    assert cache.clear(lambda item: item.meta.profile == "a") == 1
    assert sorted(os.listdir(directory)) == [".tmp-killed-writer", "b.entry"]


def test_the_cache_that_is_off_reads_nothing_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)  # its folder is "": a write would land here
    cache = NoCache()
    fetched: list[Credentials] = []

    def fetch() -> Credentials:
        fetched.append(_creds(f"ASIAFETCH{len(fetched)}"))
        return fetched[-1]

    assert cache.obtain("k", fetch, EntryMeta()).access_key_id == "ASIAFETCH0"
    assert cache.obtain("k", fetch, EntryMeta()).access_key_id == "ASIAFETCH1"  # every refresh fetches
    cache.store("k", _creds(), EntryMeta())
    cache.remove("k")
    assert (cache.read("k"), cache.fresh("k"), list(cache.items()), cache.clear()) == (None, None, [], 0)
    assert cache.enabled is False and os.listdir(here) == []


def test_an_entry_with_a_good_checksum_but_a_foreign_payload_says_how_to_fix_it() -> None:
    entry = cachefile.Entry(b"written by another program", 2_000_000_000, 1_000_000_000, b"", b"")
    with pytest.raises(CredprocError, match=r"^cache entry unreadable; run `credproc cache clear`$"):
        entry_credentials(entry)


def test_an_entry_issued_after_it_expires_uses_the_configured_window() -> None:
    # A clock stepped back between issue and write: no lifetime to scale the window by.
    entry = cachefile.Entry(b"{}", 1_000_000_600, 1_000_000_900, b"", b"")
    assert entry.window(1200) == 1200
    assert not entry.is_fresh(1_000_000_000, 1200)


def test_on_windows_the_profile_folder_protects_the_cache_not_the_mode_bits(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (directory / "open.entry").write_bytes(b"x")
    (directory / "open.entry").chmod(0o666)
    st = os.stat(directory / "open.entry")
    assert not cachefile.file_ok(st)
    monkeypatch.delattr(os, "geteuid")  # as on Windows, which has no uids
    assert cachefile.owner_ok(st) and cachefile.file_ok(st)
