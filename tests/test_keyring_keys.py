"""Profiles whose keys live in the OS keyring resolve like file keys (as aws-vault, no marker)."""

from __future__ import annotations

import os

import keyring.core
import pytest
from keyring.backends import fail

from credproc import config, keystore
from credproc.cache import Cache
from credproc.errors import ConfigError
from credproc.resolve import build_source, resolve_profile
from credproc.sources.base import Context
from tests.conftest import BASE_KEY_ID, BASE_SECRET, CHAIN_CONFIG, AwsFiles
from tests.support.keyrings import MemoryKeyring
from tests.support.moto_sts import MotoSTS
from tests.support.terminals import ScriptedTerminal

OTHER_SECRET = "x" * 40


def put_keys(name: str, secret: str = BASE_SECRET) -> None:
    keystore.store(keystore.KEYS, name, keystore.AccessKeys(BASE_KEY_ID, secret).to_json())


def make_ctx() -> Context:
    env = dict(os.environ)
    return Context(
        environ=env,
        config=config.load(env),
        cache=Cache.open(env, 1200, lambda m: None),
        terminal=ScriptedTerminal(None),
        warn=lambda m: None,
    )


def test_a_profile_with_nothing_in_the_files_finds_its_keys_in_the_keyring(
    aws_files: AwsFiles, memory: MemoryKeyring
) -> None:
    aws_files.write_config("[profile base]\nregion = us-east-1\n")
    put_keys("base")
    creds = resolve_profile(make_ctx(), "base")
    assert (creds.access_key_id, creds.secret_access_key) == (BASE_KEY_ID, BASE_SECRET)
    assert creds.session_token is None and creds.region == "us-east-1"
    assert build_source(make_ctx(), "base").kind == "keyring"


def test_keyring_keys_are_the_base_of_an_assume_role_chain(
    aws_files: AwsFiles, sts: MotoSTS, memory: MemoryKeyring
) -> None:
    aws_files.write_config(CHAIN_CONFIG)
    put_keys("base")
    creds = resolve_profile(make_ctx(), "top")
    assert creds.session_token and creds.region == "eu-west-1"
    assert sts.calls["AssumeRole"] == 2
    assert "OS keyring" in build_source(make_ctx(), "top").describe()[-1]


def test_source_profile_naming_itself_uses_its_keyring_keys(
    aws_files: AwsFiles, sts: MotoSTS, memory: MemoryKeyring
) -> None:
    aws_files.write_config("[profile me]\nrole_arn = arn:aws:iam::111111111111:role/r\nsource_profile = me\n")
    put_keys("me")
    source = build_source(make_ctx(), "me")
    assert source.parent.kind == "keyring"  # type: ignore[attr-defined]
    assert resolve_profile(make_ctx(), "me").session_token


def test_rotating_the_keyring_secret_changes_every_hop_built_on_it(
    aws_files: AwsFiles, memory: MemoryKeyring
) -> None:
    aws_files.write_config(CHAIN_CONFIG)
    put_keys("base")
    before = build_source(make_ctx(), "top").identity
    put_keys("base", OTHER_SECRET)
    assert build_source(make_ctx(), "top").identity != before
    assert OTHER_SECRET not in build_source(make_ctx(), "top").identity


def test_keys_in_the_files_win_and_never_touch_the_keyring(
    aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())
    keystore.forget_backend()
    aws_files.write_credentials(
        f"[base]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = {BASE_SECRET}\n"
    )
    assert build_source(make_ctx(), "base").kind == "static"


def test_a_profile_with_nothing_and_no_keyring_says_the_keyring_is_missing(
    aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())
    keystore.forget_backend()
    aws_files.write_config("[profile base]\nregion = us-east-1\n")
    with pytest.raises(ConfigError) as info:
        build_source(make_ctx(), "base")
    assert info.value.message == (
        "profile 'base' has no credentials in the files, and the keyring "
        "cannot be searched: no OS keyring is available to keep secrets in"
    )
    assert info.value.hint is not None and "Secret Service" in info.value.hint


def test_a_profile_with_nothing_anywhere_names_keys_add(aws_files: AwsFiles, memory: MemoryKeyring) -> None:
    aws_files.write_config("[profile base]\nregion = us-east-1\n")
    with pytest.raises(ConfigError, match="nor keys in the keyring") as info:
        build_source(make_ctx(), "base")
    assert info.value.hint is not None and "credproc keys add base" in info.value.hint
