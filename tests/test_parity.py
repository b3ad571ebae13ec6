"""Same identity as the AWS CLI, every time (issue 11): hypothesis writes config and credentials
files, and botocore and credproc resolve every profile in them against the same moto STS and SSO
emulator (tests/support/parity.py). Where botocore answers, credproc must answer with the same
identity; where botocore refuses, credproc must exit non-zero.

CREDPROC_PARITY_EXAMPLES sets the number of generated worlds (CI: 500 on each of its four
interpreters, 2,000 distinct worlds in all; the long nox session: 100,000).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator, Mapping

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings

from tests.support import parity
from tests.support.keyrings import MemoryKeyring
from tests.support.parity import ACCOUNT, GRANTED, LEGACY_URL, SESSION, START_URL, Harness, Outcome, World

ROLE = f"arn:aws:iam::{ACCOUNT}:role/"
SSO_SESSION = f"[sso-session {SESSION}]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with parity.running(tmp_path_factory.mktemp("parity")) as harness:
        yield harness


@pytest.fixture
def harness(servers: Harness, memory: MemoryKeyring) -> Harness:
    """An empty keyring: credproc's own keyring source must never be what answers here."""
    return servers


@pytest.fixture
def untraced() -> Iterator[None]:
    """The generated worlds run without the coverage tracer (see parity.untraced): paused once
    for the whole test, not per world, which would cost a pause and a resume each."""
    with parity.untraced():
        yield


# Shrinking a world takes hypothesis minutes (every step resolves it twice); parity.minimal
# shrinks line by line in seconds, so the report shows the smallest world either way.
SHRINK = os.environ.get("CREDPROC_PARITY_SHRINK") == "1"


# CI runs 500 worlds on each of its four interpreters (about 20 s of CPU each here); a laptop 200;
# `nox -s parity_long` 100,000.
EXAMPLES = int(os.environ.get("CREDPROC_PARITY_EXAMPLES", "500" if os.environ.get("CI") == "true" else "200"))
# Eight shards, so the worlds spread over every xdist worker and none is left running a long one
# at the end (one hypothesis test cannot be split).
SHARDS = 8
# CI derandomizes hypothesis (its "ci" profile): each test draws from a seed made from its source
# and its pytest node id, so the same shard draws the same worlds on every interpreter. noxfile.py
# gives each interpreter its own shard numbers, hence its own worlds: four sets, not one set four times.
SHARD_OFFSET = int(os.environ.get("CREDPROC_PARITY_SHARD_OFFSET", "0"))


@pytest.mark.parametrize("shard", range(SHARD_OFFSET, SHARD_OFFSET + SHARDS))
@settings(
    max_examples=max(1, EXAMPLES // SHARDS),
    deadline=None,
    phases=tuple(Phase) if SHRINK else (Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=parity.worlds())
def test_credproc_resolves_every_profile_as_botocore_does(
    harness: Harness, untraced: None, shard: int, world: World
) -> None:
    note(world.describe())
    differences = parity.compare(harness, world)
    if differences:
        smallest = parity.minimal(harness, world, differences[0].profile)
        shown = f"smallest world:\n{smallest[0].describe()}{smallest[1].show()}" if smallest else ""
        pytest.fail("\n".join(d.show() for d in differences) + "\n" + shown)


def both(
    harness: Harness,
    config: str,
    credentials: str = "",
    profile: str = "p",
    env: Mapping[str, str] | None = None,
    tokens: tuple[tuple[str, str], ...] = (),
    web_token: bool = True,
) -> tuple[Outcome, Outcome]:
    """(botocore, credproc) for one profile of one world."""
    world = World(
        config=textwrap.dedent(config),
        credentials=textwrap.dedent(credentials),
        env=tuple((env or {}).items()),
        tokens=tokens,
        targets=(profile,),
        web_token=web_token,
    )
    with harness.world(world):
        return harness.botocore(profile), harness.credproc(profile, mfa=world.mfa)


def agree(expected: Outcome, got: Outcome) -> None:
    assert expected.same_as(got), f"\nbotocore: {expected.show()}\ncredproc: {got.show()}"


def refused_by_both(expected: Outcome, got: Outcome, botocore_error: str, exit_code: int = 1) -> None:
    assert expected.refused is not None and expected.refused.startswith(botocore_error), expected.show()
    assert got.refused is not None and got.refused.startswith(f"exit {exit_code}:"), got.show()


def test_harness_sees_a_chain_the_same_way_in_both(harness: Harness) -> None:
    """The harness itself: a two-hop chain gives equal outcomes with two recorded AssumeRoles."""
    world = World(
        config=(
            "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = mid\n\n"
            "[profile mid]\nrole_arn = arn:aws:iam::123456789012:role/mid\nsource_profile = base\n\n"
        ),
        credentials="[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
        targets=("top",),
    )
    with harness.world(world):
        expected, got = harness.botocore("top"), harness.credproc("top")
    assert expected.ok and expected.same_as(got), (expected.show(), got.show())
    assert expected.calls == (
        ("AssumeRole", "arn:aws:iam::123456789012:role/mid", "", "", "AKIABASE", None),
        ("AssumeRole", "arn:aws:iam::123456789012:role/top", "", "", "#0", "#0"),
    )


# ---- botocore's own cases (tests/unit/cfg, test_configloader, test_credentials, functional), in
# ---- credproc's words. Each checks botocore's answer too, so the harness cannot drift from it.

# The parser (botocore.configloader)


def test_quoted_profile_name_with_a_space_is_a_profile(harness: Harness) -> None:
    expected, got = both(
        harness,
        '[profile "my profile"]\naws_access_key_id = AKIAQUOTED\naws_secret_access_key = s\n',
        profile="my profile",
    )
    assert expected.final == ("AKIAQUOTED", "s", None)
    agree(expected, got)


def test_single_quoted_profile_name_is_a_profile(harness: Harness) -> None:
    expected, got = both(
        harness, "[profile 'a b']\naws_access_key_id = AKIASINGLE\naws_secret_access_key = s\n", profile="a b"
    )
    assert expected.final == ("AKIASINGLE", "s", None)
    agree(expected, got)


def test_profile_section_with_two_names_is_ignored(harness: Harness) -> None:
    expected, got = both(
        harness,
        '[profile "personal" "otherkey"]\naws_access_key_id = AKIATWO\naws_secret_access_key = s\n',
        profile="personal",
    )
    refused_by_both(expected, got, "ProfileNotFound")


def test_section_with_an_unclosed_quote_is_ignored(harness: Harness) -> None:
    expected, got = both(
        harness,
        '[profile "missing end quote]\naws_access_key_id = AKIAQ\naws_secret_access_key = s\n',
        profile='"missing end quote',
    )
    refused_by_both(expected, got, "ProfileNotFound")


def test_later_default_section_replaces_the_earlier_one(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile default]\naws_access_key_id = AKIAGONE\naws_secret_access_key = s\n\n"
        "[default]\nregion = eu-west-1\n",
        profile="default",
    )
    assert expected.refused == "no credentials"
    agree(expected, got)


def test_default_and_profile_default_the_later_one_wins(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[default]\naws_access_key_id = AKIAFIRST\naws_secret_access_key = s1\n\n"
        "[profile default]\naws_access_key_id = AKIASECOND\naws_secret_access_key = s2\n",
        profile="default",
    )
    assert expected.final == ("AKIASECOND", "s2", None)
    agree(expected, got)


def test_capitalised_default_section_reaches_every_profile(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[DEFAULT]\naws_access_key_id = AKIADEFAULTS\naws_secret_access_key = ds\n\n"
        "[profile p]\nregion = eu-west-1\n",
    )
    assert expected.final == ("AKIADEFAULTS", "ds", None)
    agree(expected, got)


def test_duplicate_key_is_a_parse_error(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile p]\naws_access_key_id = AKIA1\naws_access_key_id = AKIA2\naws_secret_access_key = s\n",
    )
    refused_by_both(expected, got, "ConfigParseError")


def test_lines_before_any_section_are_a_parse_error(harness: Harness) -> None:
    expected, got = both(
        harness, "region = us-east-1\n[profile p]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n"
    )
    refused_by_both(expected, got, "ConfigParseError")


def test_inline_hash_is_part_of_the_value(harness: Harness) -> None:
    expected, got = both(
        harness, "[profile p]\naws_access_key_id = AKIAHASH # comment\naws_secret_access_key = s\n"
    )
    assert expected.final == ("AKIAHASH # comment", "s", None)
    agree(expected, got)


def test_nested_block_does_not_break_the_keys(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile p]\naws_access_key_id = AKIANESTED\ns3 =\n  addressing_style = path\n"
        "aws_secret_access_key = s\n",
    )
    assert expected.final == ("AKIANESTED", "s", None)
    agree(expected, got)


def test_explicit_profile_that_does_not_exist_is_refused(harness: Harness) -> None:
    expected, got = both(harness, "[profile other]\nregion = eu-west-1\n", profile="p")
    refused_by_both(expected, got, "ProfileNotFound")


def test_explicit_default_that_does_not_exist_is_refused(harness: Harness) -> None:
    expected, got = both(harness, "[profile other]\nregion = eu-west-1\n", profile="default")
    refused_by_both(expected, got, "ProfileNotFound")


def test_profile_only_in_the_credentials_file_resolves(harness: Harness) -> None:
    expected, got = both(harness, "", "[p]\naws_access_key_id = AKIACREDONLY\naws_secret_access_key = s\n")
    assert expected.final == ("AKIACREDONLY", "s", None)
    agree(expected, got)


def test_profile_prefix_in_the_credentials_file_is_part_of_the_name(harness: Harness) -> None:
    expected, got = both(
        harness, "", "[profile p]\naws_access_key_id = AKIAPREFIXED\naws_secret_access_key = s\n"
    )
    refused_by_both(expected, got, "ProfileNotFound")


# Static keys and tokens (SharedCredentialProvider, ConfigProvider)


def test_credentials_file_keys_with_session_token(harness: Harness) -> None:
    expected, got = both(
        harness, "", "[p]\naws_access_key_id = AKIAK\naws_secret_access_key = s\naws_session_token = tok\n"
    )
    assert expected.final == ("AKIAK", "s", "tok")
    agree(expected, got)


def test_config_file_keys_with_session_token(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile p]\naws_access_key_id = AKIAC\naws_secret_access_key = s\n"
        "aws_session_token = tok\nregion = eu-west-1\n",
    )
    assert expected.final == ("AKIAC", "s", "tok")
    agree(expected, got)


def test_keys_in_both_files_the_credentials_file_wins(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile p]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = cs\n",
        "[p]\naws_access_key_id = AKIACREDS\naws_secret_access_key = ks\n",
    )
    assert expected.final == ("AKIACREDS", "ks", None)
    agree(expected, got)


def test_security_token_is_read(harness: Harness) -> None:
    expected, got = both(
        harness, "", "[p]\naws_access_key_id = AKIAK\naws_secret_access_key = s\naws_security_token = old\n"
    )
    assert expected.final == ("AKIAK", "s", "old")
    agree(expected, got)


def test_security_token_wins_over_session_token(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile p]\naws_access_key_id = AKIAC\naws_secret_access_key = s\n"
        "aws_session_token = new\naws_security_token = old\n",
    )
    assert expected.final == ("AKIAC", "s", "old")
    agree(expected, got)


def test_token_is_read_only_from_the_file_with_the_keys(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile p]\naws_session_token = from-config\n",
        "[p]\naws_access_key_id = AKIAK\naws_secret_access_key = s\n",
    )
    assert expected.final == ("AKIAK", "s", None)
    agree(expected, got)


def test_key_in_credentials_and_secret_in_config_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness, "[profile p]\naws_secret_access_key = s\n", "[p]\naws_access_key_id = AKIAK\n"
    )
    refused_by_both(expected, got, "PartialCredentialsError")


def test_key_in_config_and_secret_in_credentials_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness, "[profile p]\naws_access_key_id = AKIAC\n", "[p]\naws_secret_access_key = s\n"
    )
    refused_by_both(expected, got, "PartialCredentialsError")


def test_access_key_without_secret_is_refused(harness: Harness) -> None:
    expected, got = both(harness, "", "[p]\naws_access_key_id = AKIAK\n")
    refused_by_both(expected, got, "PartialCredentialsError")


def test_credentials_file_keys_win_over_credential_process(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile p]\ncredential_process = @BIN@/proc-ok\n",
        "[p]\naws_access_key_id = AKIAK\naws_secret_access_key = s\n",
    )
    assert expected.final == ("AKIAK", "s", None)
    agree(expected, got)


def test_credential_process_wins_over_config_file_keys(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile p]\naws_access_key_id = AKIAC\naws_secret_access_key = s\n"
        "credential_process = @BIN@/proc-ok\n",
    )
    assert expected.final == ("AKIAPROCESS000000000", "proc-secret", "proc-token")
    agree(expected, got)


def test_lone_config_access_key_does_not_stop_credential_process(harness: Harness) -> None:
    expected, got = both(
        harness, "[profile p]\naws_access_key_id = AKIAC\ncredential_process = @BIN@/proc-ok\n"
    )
    assert expected.final == ("AKIAPROCESS000000000", "proc-secret", "proc-token")
    agree(expected, got)


def test_lone_credentials_access_key_is_refused_before_credential_process(harness: Harness) -> None:
    expected, got = both(
        harness, "[profile p]\ncredential_process = @BIN@/proc-ok\n", "[p]\naws_access_key_id = AKIAK\n"
    )
    refused_by_both(expected, got, "PartialCredentialsError")


def test_lone_secret_is_ignored(harness: Harness) -> None:
    expected, got = both(
        harness, "[profile p]\naws_secret_access_key = s\ncredential_process = @BIN@/proc-notoken\n"
    )
    assert expected.final == ("AKIAPROCESSNOTOKEN00", "proc-secret-2", None)
    agree(expected, got)


# credential_process (ProcessProvider)


def test_credential_process_keys(harness: Harness) -> None:
    expected, got = both(harness, "[profile p]\ncredential_process = @BIN@/proc-ok\n")
    assert expected.final == ("AKIAPROCESS000000000", "proc-secret", "proc-token")
    agree(expected, got)


def test_credential_process_without_session_token(harness: Harness) -> None:
    expected, got = both(harness, "[profile p]\ncredential_process = @BIN@/proc-notoken\n")
    assert expected.final == ("AKIAPROCESSNOTOKEN00", "proc-secret-2", None)
    agree(expected, got)


def test_credential_process_in_the_credentials_file_runs(harness: Harness) -> None:
    expected, got = both(harness, "", "[p]\ncredential_process = @BIN@/proc-ok\n")
    assert expected.final == ("AKIAPROCESS000000000", "proc-secret", "proc-token")
    agree(expected, got)


def test_credential_process_that_fails_is_refused(harness: Harness) -> None:
    expected, got = both(harness, "[profile p]\ncredential_process = @BIN@/proc-fail\n")
    assert expected.refused is not None and expected.refused.startswith("CredentialRetrievalError")
    assert not got.ok


def test_credential_process_with_an_unsupported_version_is_refused(harness: Harness) -> None:
    expected, got = both(harness, "[profile p]\ncredential_process = @BIN@/proc-badversion\n")
    refused_by_both(expected, got, "CredentialRetrievalError")


def test_credential_process_without_a_version_is_refused(harness: Harness) -> None:
    expected, got = both(harness, "[profile p]\ncredential_process = @BIN@/proc-noversion\n")
    refused_by_both(expected, got, "CredentialRetrievalError")


@pytest.mark.parametrize("script", ["nokey", "nosecret"])
def test_credential_process_missing_a_key_is_refused(harness: Harness, script: str) -> None:
    expected, got = both(harness, f"[profile p]\ncredential_process = @BIN@/proc-{script}\n")
    assert expected.refused is not None and expected.refused.startswith("CredentialRetrievalError")
    assert not got.ok


def test_empty_access_key_is_refused_by_credproc(harness: Harness) -> None:
    """A deliberate divergence (README): botocore returns the empty key, which AWS would refuse."""
    expected, got = both(harness, "", "[p]\naws_access_key_id =\naws_secret_access_key = s\n")
    assert expected.final == ("", "s", None)
    assert got.refused is not None and "empty aws_access_key_id in the credentials file" in got.refused


def test_empty_credential_process_is_refused(harness: Harness) -> None:
    """botocore runs the empty command line and fails; credproc refuses it before config-file keys."""
    expected, got = both(
        harness, "[profile p]\ncredential_process =\naws_access_key_id = AKIAC\naws_secret_access_key = s\n"
    )
    assert not expected.ok
    assert got.refused is not None and got.refused.startswith("exit 1:")


def test_credential_process_arguments_are_split_as_a_shell_would(harness: Harness) -> None:
    expected, got = both(
        harness, "[profile p]\ncredential_process = @BIN@/proc-args \"AKIA QUOTED\" 'a secret'\n"
    )
    assert expected.final == ("AKIA QUOTED", "a secret", None)
    agree(expected, got)


def test_the_named_profile_is_chosen_among_several(harness: Harness) -> None:
    expected, got = both(
        harness,
        "",
        "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = d\n\n"
        "[p]\naws_access_key_id = AKIAP\naws_secret_access_key = p\n\n"
        "[q]\naws_access_key_id = AKIAQ\naws_secret_access_key = q\n",
    )
    assert expected.final == ("AKIAP", "p", None)
    agree(expected, got)


def test_sso_session_line_alone_does_not_make_an_sso_profile(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nsso_session = {SESSION}\naws_access_key_id = AKIAC\naws_secret_access_key = s\n\n"
        + SSO_SESSION,
    )
    assert expected.final == ("AKIAC", "s", None)
    agree(expected, got)


# Roles (AssumeRoleProvider)


def test_assume_role_signed_by_the_source_profiles_keys(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIABASE", None),)
    agree(expected, got)


def test_recursive_assume_role_innermost_first(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = mid\n\n"
        f"[profile mid]\nrole_arn = {ROLE}mid\nsource_profile = base\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.calls == (
        ("AssumeRole", f"{ROLE}mid", "", "", "AKIABASE", None),
        ("AssumeRole", f"{ROLE}p", "", "", "#0", "#0"),
    )
    agree(expected, got)


def test_recursive_assume_role_stops_at_static_creds(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = mid\n\n"
        f"[profile mid]\nrole_arn = {ROLE}mid\nsource_profile = base\n"
        "aws_access_key_id = AKIAMID\naws_secret_access_key = ms\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIAMID", None),)
    agree(expected, got)


def test_source_with_only_a_secret_and_a_role_must_have_credentials(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = mid\n\n"
        f"[profile mid]\nrole_arn = {ROLE}mid\nsource_profile = base\naws_secret_access_key = ms\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    refused_by_both(expected, got, "InvalidConfigError")


def test_role_profile_ignores_its_own_keys(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\n"
        "aws_access_key_id = AKIAOWN\naws_secret_access_key = own\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIABASE", None),)
    agree(expected, got)


def test_role_profile_ignores_its_own_credential_process(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\ncredential_process = @BIN@/proc-ok\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIABASE", None),)
    agree(expected, got)


def test_source_profile_with_credential_process(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\n\n"
        "[profile base]\ncredential_process = @BIN@/proc-ok\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIAPROCESS000000000", "proc-token"),)
    agree(expected, got)


def test_source_profile_prefers_its_process_to_its_config_keys(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\n\n"
        "[profile base]\naws_access_key_id = AKIAC\naws_secret_access_key = s\n"
        "credential_process = @BIN@/proc-ok\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIAPROCESS000000000", "proc-token"),)
    agree(expected, got)


def test_source_profile_with_half_a_key_pair_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\n\n[profile base]\naws_access_key_id = AKIAB\n",
    )
    refused_by_both(expected, got, "PartialCredentialsError")


def test_source_profile_with_sso_lines_and_keys_uses_sso(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile top]\nrole_arn = {ROLE}top\nsource_profile = p\n\n"
        + SSO_PROFILE
        + "aws_access_key_id = AKIAC\naws_secret_access_key = s\n\n"
        + SSO_SESSION,
        profile="top",
        tokens=((SESSION, "valid"),),
    )
    assert [c[0] for c in expected.calls] == ["GetRoleCredentials", "AssumeRole"]
    agree(expected, got)


def test_role_arn_without_a_source_is_refused(harness: Harness) -> None:
    expected, got = both(harness, f"[profile p]\nrole_arn = {ROLE}p\n")
    refused_by_both(expected, got, "PartialCredentialsError")


def test_both_source_profile_and_credential_source_are_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\ncredential_source = Environment\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    refused_by_both(expected, got, "InvalidConfigError")


def test_missing_source_profile_is_refused(harness: Harness) -> None:
    expected, got = both(harness, f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = nowhere\n")
    refused_by_both(expected, got, "InvalidConfigError")


def test_source_profile_without_credentials_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\n\n[profile base]\nregion = eu-west-1\n",
    )
    refused_by_both(expected, got, "InvalidConfigError")


def test_self_source_with_keys_assumes_once(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = p\n"
        "aws_access_key_id = AKIASELF\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIASELF", None),)
    agree(expected, got)


def test_self_source_with_keys_in_the_credentials_file_assumes_once(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = p\n",
        "[p]\naws_access_key_id = AKIASELF\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIASELF", None),)
    agree(expected, got)


def test_self_source_without_keys_is_a_loop(harness: Harness) -> None:
    expected, got = both(harness, f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = p\n")
    refused_by_both(expected, got, "InfiniteLoopConfigError")


def test_two_profile_loop_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = q\n\n"
        f"[profile q]\nrole_arn = {ROLE}q\nsource_profile = p\n",
    )
    refused_by_both(expected, got, "InfiniteLoopConfigError")


def test_three_profile_loop_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = q\n\n"
        f"[profile q]\nrole_arn = {ROLE}q\nsource_profile = r\n\n"
        f"[profile r]\nrole_arn = {ROLE}r\nsource_profile = q\n",
    )
    refused_by_both(expected, got, "InfiniteLoopConfigError")


def test_chain_of_depth_five(harness: Harness) -> None:
    config = "".join(
        f"[profile {a}]\nrole_arn = {ROLE}{a}\nsource_profile = {b}\n\n"
        for a, b in zip("pqrst", "qrstu", strict=True)
    )
    expected, got = both(harness, config, "[u]\naws_access_key_id = AKIADEEP\naws_secret_access_key = s\n")
    assert [c[1] for c in expected.calls] == [f"{ROLE}{r}" for r in "tsrqp"]
    agree(expected, got)


def test_credential_source_environment(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\ncredential_source = Environment\n",
        env={"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "es", "AWS_SESSION_TOKEN": "et"},
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIAENV", "et"),)
    agree(expected, got)


def test_credential_source_environment_prefers_the_security_token(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\ncredential_source = Environment\n",
        env={
            "AWS_ACCESS_KEY_ID": "AKIAENV",
            "AWS_SECRET_ACCESS_KEY": "es",
            "AWS_SESSION_TOKEN": "new",
            "AWS_SECURITY_TOKEN": "old",
        },
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIAENV", "old"),)
    agree(expected, got)


def test_credential_source_without_environment_keys_is_refused(harness: Harness) -> None:
    expected, got = both(harness, f"[profile p]\nrole_arn = {ROLE}p\ncredential_source = Environment\n")
    refused_by_both(expected, got, "CredentialRetrievalError")


def test_credential_source_is_case_sensitive(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\ncredential_source = environment\n",
        env={"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "es"},
    )
    refused_by_both(expected, got, "InvalidConfigError")


def test_credential_source_with_an_unknown_name_is_refused(harness: Harness) -> None:
    expected, got = both(harness, f"[profile p]\nrole_arn = {ROLE}p\ncredential_source = SharedConfig\n")
    refused_by_both(expected, got, "InvalidConfigError")


@pytest.mark.parametrize("source", ["EcsContainer", "Ec2InstanceMetadata"])
def test_metadata_credential_source_without_a_metadata_service_is_refused(
    harness: Harness, source: str
) -> None:
    expected, got = both(harness, f"[profile p]\nrole_arn = {ROLE}p\ncredential_source = {source}\n")
    assert expected.refused is not None and expected.refused.startswith("CredentialRetrievalError")
    assert not got.ok


def test_role_session_name_external_id_and_duration_are_sent(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\n"
        "role_session_name = mine\nexternal_id = ext\nduration_seconds = 7200\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.ok
    agree(expected, got)


def test_bad_duration_seconds_is_ignored(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\nduration_seconds = garbage value\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIABASE", None),)
    agree(expected, got)


def test_mfa_serial_goes_on_the_assumed_role(harness: Harness) -> None:
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/me"
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\nmfa_serial = {serial}\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", serial, parity.MFA_CODE, "AKIABASE", None),)
    agree(expected, got)


def test_mfa_serial_on_a_keys_profile_is_not_used(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nmfa_serial = arn:aws:iam::{ACCOUNT}:mfa/me\n"
        "aws_access_key_id = AKIAKEYS\naws_secret_access_key = s\n",
    )
    assert expected.final == ("AKIAKEYS", "s", None)
    agree(expected, got)


def test_mfa_serial_of_the_source_profile_is_not_used(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\n\n"
        f"[profile base]\nmfa_serial = arn:aws:iam::{ACCOUNT}:mfa/me\n"
        "aws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRole", f"{ROLE}p", "", "", "AKIABASE", None),)
    agree(expected, got)


# Web identity (AssumeRoleWithWebIdentityProvider)


def test_web_identity_token_file(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nweb_identity_token_file = @TMP@/web-token\n"
        "role_session_name = ci\n",
    )
    assert expected.calls == (("AssumeRoleWithWebIdentity", f"{ROLE}p", parity.WEB_TOKEN, None, None),)
    agree(expected, got)


def test_web_identity_wins_over_source_profile(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nweb_identity_token_file = @TMP@/web-token\n"
        "source_profile = base\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    assert expected.calls == (("AssumeRoleWithWebIdentity", f"{ROLE}p", parity.WEB_TOKEN, None, None),)
    agree(expected, got)


def test_web_identity_without_a_role_is_refused(harness: Harness) -> None:
    expected, got = both(harness, "[profile p]\nweb_identity_token_file = @TMP@/web-token\n")
    refused_by_both(expected, got, "InvalidConfigError")


def test_web_identity_with_a_missing_token_file_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nweb_identity_token_file = @TMP@/web-token\n",
        web_token=False,
    )
    refused_by_both(expected, got, "FileNotFoundError")


def test_web_identity_as_a_source_profile(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = web\n\n"
        f"[profile web]\nrole_arn = {ROLE}web\nweb_identity_token_file = @TMP@/web-token\n",
    )
    assert expected.calls == (
        ("AssumeRoleWithWebIdentity", f"{ROLE}web", parity.WEB_TOKEN, None, None),
        ("AssumeRole", f"{ROLE}p", "", "", "#0", "#0"),
    )
    agree(expected, got)


def test_web_identity_source_ignores_the_role_in_the_environment(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = web\n\n"
        "[profile web]\nweb_identity_token_file = @TMP@/web-token\n",
        env={"AWS_ROLE_ARN": f"{ROLE}env"},
    )
    refused_by_both(expected, got, "InvalidConfigError")


def test_web_identity_environment_does_not_override_an_explicit_profile(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nweb_identity_token_file = @TMP@/web-token\n",
        env={"AWS_ROLE_ARN": f"{ROLE}env", "AWS_ROLE_SESSION_NAME": "env"},
    )
    assert expected.calls == (("AssumeRoleWithWebIdentity", f"{ROLE}p", parity.WEB_TOKEN, None, None),)
    agree(expected, got)


def test_credential_source_environment_ignores_web_identity_variables(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\ncredential_source = Environment\n",
        env={"AWS_ROLE_ARN": f"{ROLE}env", "AWS_WEB_IDENTITY_TOKEN_FILE": "@TMP@/web-token"},
    )
    refused_by_both(expected, got, "CredentialRetrievalError")


# IAM Identity Center (SSOProvider, SSOTokenProvider)

SSO_PROFILE = (
    f"[profile p]\nsso_session = {SESSION}\nsso_account_id = {GRANTED[0]}\nsso_role_name = {GRANTED[1]}\n"
)
LEGACY_PROFILE = (
    f"[profile p]\nsso_start_url = {LEGACY_URL}\nsso_region = us-east-1\n"
    f"sso_account_id = {GRANTED[0]}\nsso_role_name = {GRANTED[1]}\n"
)


def test_sso_session_profile(harness: Harness) -> None:
    expected, got = both(harness, SSO_PROFILE + SSO_SESSION, tokens=((SESSION, "valid"),))
    assert expected.calls == (("GetRoleCredentials", *GRANTED, None, None),)
    agree(expected, got)


def test_legacy_sso_profile(harness: Harness) -> None:
    expected, got = both(harness, LEGACY_PROFILE, tokens=((LEGACY_URL, "valid"),))
    assert expected.calls == (("GetRoleCredentials", *GRANTED, None, None),)
    agree(expected, got)


def test_sso_wins_over_static_keys(harness: Harness) -> None:
    expected, got = both(
        harness,
        SSO_PROFILE + "aws_access_key_id = AKIAC\naws_secret_access_key = s\n\n" + SSO_SESSION,
        tokens=((SESSION, "valid"),),
    )
    assert expected.calls == (("GetRoleCredentials", *GRANTED, None, None),)
    agree(expected, got)


def test_sso_as_a_source_profile(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile top]\nrole_arn = {ROLE}top\nsource_profile = p\n\n" + SSO_PROFILE + SSO_SESSION,
        profile="top",
        tokens=((SESSION, "valid"),),
    )
    assert expected.calls == (
        ("GetRoleCredentials", *GRANTED, None, None),
        ("AssumeRole", f"{ROLE}top", "", "", "#0", "#0"),
    )
    agree(expected, got)


def test_legacy_sso_as_a_source_profile(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile top]\nrole_arn = {ROLE}top\nsource_profile = p\n\n" + LEGACY_PROFILE,
        profile="top",
        tokens=((LEGACY_URL, "valid"),),
    )
    assert expected.calls == (
        ("GetRoleCredentials", *GRANTED, None, None),
        ("AssumeRole", f"{ROLE}top", "", "", "#0", "#0"),
    )
    agree(expected, got)


def test_sso_session_that_does_not_exist_is_refused(harness: Harness) -> None:
    expected, got = both(harness, SSO_PROFILE, tokens=((SESSION, "valid"),))
    refused_by_both(expected, got, "InvalidConfigError")


def test_sso_values_that_disagree_with_the_session_are_refused(harness: Harness) -> None:
    expected, got = both(
        harness, SSO_PROFILE + "sso_region = us-west-2\n\n" + SSO_SESSION, tokens=((SESSION, "valid"),)
    )
    refused_by_both(expected, got, "InvalidConfigError")


def test_incomplete_sso_profile_is_refused(harness: Harness) -> None:
    expected, got = both(harness, "[profile p]\nsso_role_name = Admin\ncredential_process = @BIN@/proc-ok\n")
    refused_by_both(expected, got, "InvalidConfigError")


def test_legacy_sso_profile_missing_its_region_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nsso_start_url = {LEGACY_URL}\nsso_account_id = {GRANTED[0]}\n"
        f"sso_role_name = {GRANTED[1]}\n",
        tokens=((LEGACY_URL, "valid"),),
    )
    refused_by_both(expected, got, "InvalidConfigError")


def test_sso_without_a_token_file_is_refused(harness: Harness) -> None:
    expected, got = both(harness, SSO_PROFILE + SSO_SESSION)
    assert expected.refused is not None and expected.refused.startswith("SSOTokenLoadError")
    assert got.refused is not None and got.refused.startswith("exit 4:")


def test_expired_legacy_token_is_refused_without_a_call(harness: Harness) -> None:
    expected, got = both(harness, LEGACY_PROFILE, tokens=((LEGACY_URL, "expired"),))
    assert expected.refused is not None and expected.refused.startswith("UnauthorizedSSOTokenError")
    assert got.refused is not None and got.refused.startswith("exit 4:")
    assert harness.log == []


def test_expired_session_token_without_refresh_is_refused(harness: Harness) -> None:
    expected, got = both(harness, SSO_PROFILE + SSO_SESSION, tokens=((SESSION, "expired"),))
    assert expected.refused is not None and expected.refused.startswith("TokenRetrievalError")
    assert got.refused is not None and got.refused.startswith("exit 4:")


def test_sso_role_not_assigned_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        SSO_PROFILE.replace(GRANTED[0], parity.FORBIDDEN[0]) + SSO_SESSION,
        tokens=((SESSION, "valid"),),
    )
    assert not expected.ok and not got.ok


def test_role_profile_with_a_missing_sso_session_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\nsso_session = nowhere\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    refused_by_both(expected, got, "InvalidConfigError")


def test_role_profile_with_an_incomplete_sso_session_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness,
        f"[profile p]\nrole_arn = {ROLE}p\nsource_profile = base\nsso_session = half\n\n"
        f"[sso-session half]\nsso_start_url = {START_URL}\n",
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
    )
    refused_by_both(expected, got, "InvalidConfigError")


def test_keys_profile_with_a_missing_sso_session_still_answers(harness: Harness) -> None:
    """No AWS call, no client: botocore never asks its token provider."""
    expected, got = both(
        harness, "[profile p]\nsso_session = nowhere\naws_access_key_id = AKIAC\naws_secret_access_key = s\n"
    )
    assert expected.final == ("AKIAC", "s", None)
    agree(expected, got)


# aws login (LoginProvider): botocore without awscrt refuses such a profile


def test_login_session_profile_is_refused(harness: Harness) -> None:
    expected, got = both(
        harness, "[profile p]\nlogin_session = arn:aws:sts::012345678910:assumed-role/Admin/admin\n"
    )
    assert expected.refused is not None and expected.refused.startswith("MissingDependencyException")
    assert not got.ok


def test_login_session_comes_before_credential_process(harness: Harness) -> None:
    expected, got = both(
        harness,
        "[profile p]\nlogin_session = arn:aws:sts::012345678910:assumed-role/Admin/admin\n"
        "credential_process = @BIN@/proc-ok\n",
    )
    assert expected.refused is not None and expected.refused.startswith("MissingDependencyException")
    assert not got.ok
