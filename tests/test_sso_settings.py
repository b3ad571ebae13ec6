"""Reading SSO profiles and sessions the way the AWS CLI reads them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from credproc import config
from credproc.errors import ConfigError
from credproc.sources.sso import settings


def _load(home: Path, text: str) -> config.AwsConfig:
    (home / ".aws" / "config").write_text(textwrap.dedent(text))
    return config.load({"HOME": str(home)})


def test_session_scopes_and_endpoints(hermetic_env: Path) -> None:
    cfg = _load(
        hermetic_env,
        """
        [sso-session s]
        sso_start_url = https://s.awsapps.com/start
        sso_region = eu-west-1
        sso_registration_scopes = sso:account:access, codewhisperer:completions
    """,
    )
    env = {"HOME": str(hermetic_env), "AWS_ENDPOINT_URL_SSO_OIDC": "http://127.0.0.1:9/oidc"}
    session = settings.from_session(env, cfg, "s")
    assert session.scopes == ("sso:account:access", "codewhisperer:completions")
    assert session.oidc_endpoint == "http://127.0.0.1:9/oidc" and session.portal_endpoint is None
    assert session.cache_id == "s" and session.login_command("p") == "credproc login --sso-session s"


@pytest.mark.parametrize(
    ("text", "profile", "message"),
    [
        (
            "[profile p]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n"
            "[sso-session s]\nsso_region = us-east-1\n",
            "p",
            "needs both sso_start_url and sso_region",
        ),
        (
            "[profile p]\nsso_session = s\nsso_start_url = https://other\n"
            "[sso-session s]\nsso_start_url = https://s\nsso_region = us-east-1\n",
            "p",
            "but [sso-session s] says",
        ),
        ("[profile p]\nsso_start_url = https://s\n", "p", "not sso_region"),
        ("[profile p]\nsso_session = nope\n", "p", "[sso-session nope] is not in"),
    ],
)
def test_incomplete_or_contradicting_settings_are_bad_input(
    hermetic_env: Path, text: str, profile: str, message: str
) -> None:
    cfg = _load(hermetic_env, text)
    with pytest.raises(ConfigError) as caught:
        settings.from_profile({"HOME": str(hermetic_env)}, cfg, profile)
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"sso_account_id": "111111111111"}, "lacks sso_account_id or sso_role_name"),
        ({"sso_account_id": "12ab", "sso_role_name": "R"}, "not a 12-digit account id"),
    ],
)
def test_account_and_role_are_checked(section: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings.account_and_role(section, "p")
    assert message in caught.value.message


def test_legacy_login_command_without_a_profile() -> None:
    session = settings.SsoSession(None, "https://u", "us-east-1", settings.DEFAULT_SCOPES)
    assert session.login_command() == "credproc login"
    assert session.label == "https://u"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profile p]\nsso_role_name = R\n", "lacks sso_account_id, sso_start_url, sso_region"),
        (
            "[profile p]\nsso_account_id = 111111111111\nsso_role_name = R\nsso_start_url =\nsso_region = us-east-1\n",
            "empty sso_start_url or sso_region",
        ),
        ("[profile p]\nsso_session = nope\nsso_role_name = R\n", "[sso-session nope] is not in"),
        (
            "[profile p]\nsso_session = s\nsso_region = eu-west-1\nsso_account_id = 111111111111\nsso_role_name = R\n"
            "[sso-session s]\nsso_start_url = https://s\nsso_region = us-east-1\n",
            "sets sso_region = eu-west-1, but [sso-session s] says us-east-1",
        ),
    ],
)
def test_credentials_settings_are_checked_as_botocore_checks_them(
    hermetic_env: Path, text: str, message: str
) -> None:
    cfg = _load(hermetic_env, text)
    with pytest.raises(ConfigError) as caught:
        settings.for_credentials({"HOME": str(hermetic_env)}, cfg, "p")
    assert message in caught.value.message


def test_credentials_settings_merge_the_session_into_the_profile(hermetic_env: Path) -> None:
    cfg = _load(
        hermetic_env,
        "[profile p]\nsso_session = s\nsso_start_url = https://s\nsso_account_id = 111111111111\n"
        "sso_role_name = R\n[sso-session s]\nsso_start_url = https://s\nsso_region = eu-west-1\n"
        "sso_registration_scopes = a, b\n",
    )
    session, account, role = settings.for_credentials({"HOME": str(hermetic_env)}, cfg, "p")
    assert (session.name, session.start_url, session.region, session.scopes) == (
        "s",
        "https://s",
        "eu-west-1",
        ("a", "b"),
    )
    assert (account, role) == ("111111111111", "R")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[profile p]\nregion = eu-west-1\n", None),
        (
            "[profile p]\nsso_session = s\n[sso-session s]\nsso_start_url = https://s\nsso_region = us-east-1\n",
            None,
        ),
        ("[profile p]\nsso_session = nope\n", "names no [sso-session nope]"),
        ("[profile p]\nsso_session = s\n[sso-session s]\n", "names no [sso-session s]"),
        ("[profile p]\nsso_session = s\n[sso-session s]\nsso_start_url = https://s\n", "lacks sso_region"),
    ],
)
def test_token_provider_problem_is_botocores(hermetic_env: Path, text: str, problem: str | None) -> None:
    found = settings.token_provider_problem(_load(hermetic_env, text), "p")
    assert (found is None) if problem is None else (found is not None and problem in found)
