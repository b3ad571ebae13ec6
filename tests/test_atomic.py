"""credproc.atomic: the one writer of the cache, the SSO token cache, configure and configure sso."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from credproc import atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_0600_in_a_new_0700_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "file"
    atomic.write_bytes(str(target), b"one")
    assert target.read_bytes() == b"one"
    assert _mode(target) == 0o600
    assert _mode(target.parent) == 0o700


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_text("old")
    target.chmod(0o640)
    atomic.write_text(str(target), "new\r\nline\n")
    assert target.read_bytes() == b"new\r\nline\n"  # line ends as given
    assert _mode(target) == 0o640


def test_an_explicit_mode_wins(tmp_path: Path) -> None:
    target = tmp_path / "entry"
    target.write_text("old")
    target.chmod(0o644)
    atomic.write_bytes(str(target), b"x", mode=0o600)
    assert _mode(target) == 0o600


@pytest.mark.parametrize("relative", [True, False])
def test_a_symlinked_target_stays_a_link_and_the_real_file_is_updated(tmp_path: Path, relative: bool) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "aws-config"
    real.write_text("[default]\n")
    real.chmod(0o644)
    link = tmp_path / ".aws" / "config"
    link.parent.mkdir()
    link.symlink_to(os.path.relpath(real, link.parent) if relative else real)
    atomic.write_text(str(link), "[default]\nregion = x\n")
    assert link.is_symlink()
    assert real.read_text() == "[default]\nregion = x\n"
    assert _mode(real) == 0o644
    assert sorted(p.name for p in dotfiles.iterdir()) == ["aws-config"]  # the temp file was beside it


def test_a_chain_of_links_updates_its_last_file(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_text("a")
    middle = tmp_path / "middle"
    middle.symlink_to(real)
    first = tmp_path / "first"
    first.symlink_to(middle)
    atomic.write_text(str(first), "b")
    assert first.is_symlink() and middle.is_symlink()
    assert real.read_text() == "b"


def test_a_dangling_link_creates_the_file_it_names(tmp_path: Path) -> None:
    link = tmp_path / "config"
    link.symlink_to(tmp_path / "elsewhere" / "config")
    atomic.write_text(str(link), "x")
    assert link.is_symlink()
    assert (tmp_path / "elsewhere" / "config").read_text() == "x"


def test_without_following_a_link_is_replaced_by_a_file(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.write_text("keep")
    link = tmp_path / "entry"
    link.symlink_to(other)
    atomic.write_bytes(str(link), b"mine", follow_symlinks=False)
    assert not link.is_symlink()
    assert link.read_bytes() == b"mine"
    assert other.read_text() == "keep"


def test_a_failed_replace_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "w").mkdir()
    target = tmp_path / "w" / "config"
    target.write_text("old")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        atomic.write_text(str(target), "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["config"]


def test_configure_sso_writes_through_a_symlinked_config(tmp_path: Path) -> None:
    from credproc.commands.configure import append

    real = tmp_path / "dotfiles" / "config"
    real.parent.mkdir()
    real.write_text("[default]\nregion = x")
    link = tmp_path / "config"
    link.symlink_to(real)
    append(str(link), "[profile b]\n")
    assert link.is_symlink()
    assert real.read_text() == "[default]\nregion = x\n[profile b]\n"


def test_configure_writes_through_a_symlinked_config(tmp_path: Path) -> None:
    from credproc.commands import configure

    real = tmp_path / "dotfiles" / "config"
    real.parent.mkdir()
    real.write_text("[default]\nregion = x\n")
    link = tmp_path / "config"
    link.symlink_to(real)
    plan = configure.plan(
        {"AWS_CONFIG_FILE": str(link), "HOME": str(tmp_path)}, "dev", {"region": "y"}, command=None
    )
    configure.write(plan)
    assert link.is_symlink()
    assert "[profile dev]\nregion = y\n" in real.read_text()


def test_the_cache_and_the_token_cache_write_with_it(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from credproc.cache import Cache, EntryMeta
    from credproc.credentials import Credentials
    from credproc.sources.sso import token_cache

    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    Cache(str(folder)).store("p-x", Credentials("ASIAEXAMPLE", "s", "t", expires), EntryMeta(profile="p"))
    entry = folder / "p-x.entry"
    assert _mode(entry) == 0o600
    token_cache.write_json(str(tmp_path / "sso" / "cache" / "t.json"), {"a": 1})
    assert (tmp_path / "sso" / "cache" / "t.json").read_text() == '{"a": 1}'
    assert sorted(p.name for p in folder.iterdir()) == ["p-x.entry"]
