"""credproc.commands.keys: reading piped input, and which cached answers a profile's keys feed."""

from __future__ import annotations

import os
import sys

import pytest

from credproc import config
from credproc.cache import Cache, EntryMeta
from credproc.commands import keys as keys_cmd
from credproc.credentials import Credentials
from credproc.errors import ConfigError, NeedsHumanError
from tests.conftest import BASE_KEY_ID, BASE_SECRET, AwsFiles


def test_piped_keys_may_carry_blank_lines_and_spaces() -> None:
    keys = keys_cmd.parse_keys_input(f"\n  {BASE_KEY_ID}  \r\n\n{BASE_SECRET}\r\n\n")
    assert (keys.access_key_id, keys.secret_access_key) == (BASE_KEY_ID, BASE_SECRET)


def test_empty_input_means_a_person_must_act() -> None:
    with pytest.raises(NeedsHumanError):
        keys_cmd.parse_keys_input(" \n\n")
    with pytest.raises(NeedsHumanError):
        keys_cmd.parse_passphrase_input("\n")


def test_three_lines_are_refused() -> None:
    with pytest.raises(ConfigError, match="expected 2 lines on stdin"):
        keys_cmd.parse_keys_input(f"{BASE_KEY_ID}\n{BASE_SECRET}\nextra\n")


def test_a_piped_passphrase_is_the_first_line_exactly() -> None:
    assert keys_cmd.parse_passphrase_input(" a b \r\nrest") == " a b "


def test_passphrase_names_that_are_paths_become_absolute() -> None:
    env = {"HOME": "/home/u"}
    assert keys_cmd.passphrase_name("prod", env) == "prod"
    assert keys_cmd.passphrase_name("~/k.pem", env) == "/home/u/k.pem"
    assert keys_cmd.passphrase_name("k/x.pem", env) == os.path.abspath("k/x.pem")


def test_dependents_follow_source_profiles_and_credproc_process_lines(aws_files: AwsFiles) -> None:
    aws_files.write_config(f"""
        [profile base]
        [profile mid]
        source_profile = base
        role_arn = arn:aws:iam::111111111111:role/m
        [profile top]
        source_profile = mid
        role_arn = arn:aws:iam::111111111111:role/t
        [profile wrapped]
        credential_process = {sys.executable} -m credproc credential-process --profile top
        [profile foreign]
        credential_process = /bin/echo nope
        [profile self]
        source_profile = self
        [profile broken]
        credential_process = "unbalanced
        [profile other]
        source_profile = foreign
    """)
    env = dict(os.environ)
    found = keys_cmd.dependents(config.load(env), "base", env)
    assert found == {"base", "mid", "top", "wrapped"}


def test_clearing_drops_only_entries_of_the_named_profiles() -> None:
    from datetime import datetime, timedelta, timezone

    cache = Cache.open(dict(os.environ), 0, lambda m: None)
    creds = Credentials("ASIAEXAMPLE", "s", "t", datetime.now(timezone.utc) + timedelta(hours=1))
    for key, profile in (("a", "top"), ("b", "mid"), ("c", "unrelated")):
        cache.store(key, creds, EntryMeta(profile=profile))
    assert keys_cmd.clear_cache(cache, {"top", "mid"}) == 2
    assert [item.key for item in cache.items()] == ["c"]
