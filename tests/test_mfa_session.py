"""Keyring keys + mfa_serial: one GetSessionToken (one code) shared by every role, against moto."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from credproc import config, keystore
from credproc.cache import Cache
from credproc.errors import ConfigError, NeedsHumanError
from credproc.resolve import build_source, resolve_profile
from credproc.sources.base import Context
from credproc.sources.mfa_session import MfaSessionSource, parse_session_duration
from tests.conftest import BASE_KEY_ID, BASE_SECRET, AwsFiles
from tests.support.keyrings import MemoryKeyring
from tests.support.moto_sts import MotoSTS
from tests.support.terminals import ScriptedTerminal

SERIAL = "arn:aws:iam::123456789012:mfa/alice"
CONFIG = f"""
    [profile base]
    region = us-east-1

    [profile admin]
    role_arn = arn:aws:iam::111111111111:role/admin
    source_profile = base
    mfa_serial = {SERIAL}

    [profile readonly]
    role_arn = arn:aws:iam::222222222222:role/readonly
    source_profile = base
    mfa_serial = {SERIAL}
"""


@pytest.fixture
def memory(memory: MemoryKeyring) -> MemoryKeyring:
    """The shared in-memory keyring, holding the base profile's keys."""
    keystore.store(keystore.KEYS, "base", keystore.AccessKeys(BASE_KEY_ID, BASE_SECRET).to_json())
    return memory


def make_ctx(answers: list[str] | None, mfa_token: str | None = None) -> Context:
    env = dict(os.environ)
    warnings: list[str] = []
    return Context(
        environ=env,
        config=config.load(env),
        cache=Cache.open(env, 1200, warnings.append),
        terminal=ScriptedTerminal(answers),
        warn=warnings.append,
        mfa_token=mfa_token,
    )


def test_two_roles_over_keyring_keys_ask_for_one_code(
    aws_files: AwsFiles, sts: MotoSTS, memory: MemoryKeyring
) -> None:
    aws_files.write_config(CONFIG)
    first = make_ctx(["123456"])
    admin = resolve_profile(first, "admin")
    second = make_ctx([])  # a later run: no code left to give
    readonly = resolve_profile(second, "readonly")
    assert first.terminal.asked == [f"MFA code for {SERIAL}: "]  # type: ignore[attr-defined]
    assert second.terminal.asked == []  # type: ignore[attr-defined]
    assert sts.calls["GetSessionToken"] == 1
    assert sts.calls["AssumeRole"] == 2
    assert admin.session_token and readonly.session_token
    assert admin.access_key_id != readonly.access_key_id


def test_the_role_call_carries_no_mfa_and_the_session_does(
    aws_files: AwsFiles, sts: MotoSTS, memory: MemoryKeyring
) -> None:
    aws_files.write_config(CONFIG)
    source = build_source(make_ctx([]), "admin")
    assert source.kind == "assume-role"
    assert source.mfa_serial is None  # type: ignore[attr-defined]
    session = source.parent  # type: ignore[attr-defined]
    assert isinstance(session, MfaSessionSource)
    assert (session.profile, session.serial, session.duration) == ("base", SERIAL, 3600)
    assert session.describe()[-1].startswith("static keys AKIA… from the OS keyring")


def test_the_scripted_mfa_token_serves_without_a_terminal(
    aws_files: AwsFiles, sts: MotoSTS, memory: MemoryKeyring
) -> None:
    aws_files.write_config(CONFIG)
    creds = resolve_profile(make_ctx(None, mfa_token="654321"), "admin")
    assert creds.session_token
    assert sts.calls["GetSessionToken"] == 1


def test_no_terminal_and_no_token_needs_a_human(
    aws_files: AwsFiles, sts: MotoSTS, memory: MemoryKeyring
) -> None:
    aws_files.write_config(CONFIG)
    with pytest.raises(NeedsHumanError, match="MFA code"):
        resolve_profile(make_ctx(None), "admin")
    assert sts.calls["GetSessionToken"] == 0


def test_mfa_serial_on_the_keyring_profile_itself_gives_a_session(
    aws_files: AwsFiles, sts: MotoSTS, memory: MemoryKeyring
) -> None:
    aws_files.write_config(
        CONFIG.replace(
            "region = us-east-1",
            f"region = us-east-1\n    mfa_serial = {SERIAL}\n    mfa_session_duration = 7200",
        )
    )
    creds = resolve_profile(make_ctx(["111111"]), "base")
    assert creds.session_token and creds.expiration is not None
    session = build_source(make_ctx([]), "admin").parent  # type: ignore[attr-defined]
    assert session.duration == 7200
    resolve_profile(make_ctx([]), "admin")  # the role reuses the base profile's session
    assert sts.calls["GetSessionToken"] == 1


def test_a_session_asked_with_another_region_is_the_same_session(
    aws_files: AwsFiles, sts: MotoSTS, memory: MemoryKeyring
) -> None:
    aws_files.write_config(CONFIG)
    resolve_profile(make_ctx(["123456"]), "admin")
    resolve_profile(replace(make_ctx([]), region="eu-central-1"), "readonly")
    assert sts.calls["GetSessionToken"] == 1


def test_file_keys_keep_the_aws_cli_rule_of_mfa_on_the_assume_role(
    aws_files: AwsFiles, sts: MotoSTS, memory: MemoryKeyring
) -> None:
    aws_files.write_config(CONFIG)
    aws_files.write_credentials(
        f"[base]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = {BASE_SECRET}\n"
    )
    source = build_source(make_ctx([]), "admin")
    assert source.mfa_serial == SERIAL  # type: ignore[attr-defined]
    assert source.parent.kind == "static"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("raw", "expected"), [(None, 3600), ("900", 900), ("129600", 129600)])
def test_session_durations_within_getsessiontoken_limits(raw: str | None, expected: int) -> None:
    assert parse_session_duration(raw, "base") == expected


@pytest.mark.parametrize(("raw", "message"), [("soon", "not a number"), ("899", "between 900 and 129600")])
def test_session_durations_outside_the_limits_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_session_duration(raw, "base")
