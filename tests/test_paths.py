"""Paths: the cache folder platformdirs names, computed without importing platformdirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from credproc import paths


def test_linux_cache_dir_matches_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from platformdirs.unix import Unix

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert paths.cache_dir(env, "linux") == Unix("credproc").user_cache_dir
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.cache_dir({"HOME": str(tmp_path)}, "linux") == Unix("credproc").user_cache_dir


def test_macos_cache_dir_matches_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from platformdirs.macos import MacOS

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert paths.cache_dir({"HOME": str(tmp_path)}, "darwin") == MacOS("credproc").user_cache_dir
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert paths.cache_dir(env, "darwin") == MacOS("credproc").user_cache_dir


def test_windows_cache_dir_is_under_local_app_data() -> None:
    env = {"LOCALAPPDATA": r"C:\Users\a\AppData\Local", "USERPROFILE": r"C:\Users\a"}
    got = paths.cache_dir(env, "win32")
    # platformdirs: <LOCALAPPDATA>\<appauthor=appname>\<appname>\Cache
    assert got.replace("/", "\\") == r"C:\Users\a\AppData\Local\credproc\credproc\Cache"


def test_cache_dir_override_wins_everywhere() -> None:
    for platform in ("linux", "darwin", "win32"):
        assert paths.cache_dir({"CREDPROC_CACHE_DIR": "/x"}, platform) == "/x"


def test_aws_files_honour_their_variables_and_home() -> None:
    env = {"HOME": "/h"}
    assert paths.aws_config_file(env) == "/h/.aws/config"
    assert paths.aws_credentials_file(env) == "/h/.aws/credentials"
    assert paths.aws_config_file({**env, "AWS_CONFIG_FILE": "~/c"}) == "/h/c"
    assert paths.aws_credentials_file({**env, "AWS_SHARED_CREDENTIALS_FILE": "/abs"}) == "/abs"
    assert paths.sso_cache_dir(env) == "/h/.aws/sso/cache"


def test_windows_home_is_userprofile() -> None:
    assert paths.home({"USERPROFILE": r"C:\Users\a", "HOME": "/ignored"}, windows=True) == r"C:\Users\a"
