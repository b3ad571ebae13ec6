"""The SSO session lifecycle, as the AWS CLI v2 lives it (issue 11): a session signed out by either
tool is signed out for both.

- credproc's cached role credentials (the answer of the fast path and the SSO hop, and a role
  assumed on top of them) are bound to the session's token file: once it is gone, or holds a token
  of another sign-in, they are not served (exit 4 with the login command, or new credentials).
- ``credproc logout`` also removes the AWS CLI v2's cached role credentials of the session
  (``~/.aws/cli/cache/<sha1>.json``), so the CLI's SSO provider cannot keep serving them.

The AWS CLI v1 on PyPI has no ``sso logout``; ``cli_v2_logout`` below does what the CLI v2's
``awscli/customizations/sso/logout.py`` does: Logout at the portal for every token file, remove it,
then remove every file of ``~/.aws/cli/cache`` whose JSON says ``"ProviderType": "sso"``. The CLI
v2's role-credential cache is botocore's own ``SSOProvider`` with a ``JSONFileCache`` on that folder,
which is how the CLI v2 configures it; the tests run exactly that.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_credproc
from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_in_process
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    LEGACY_URL,
    SsoEmulator,
    sso_fixture,
    sso_server_fixture,
    token_file,
    write_token,
)


def cli_cache(home: Path) -> Path:
    return home / ".aws" / "cli" / "cache"


def cli_v2_logout(home: Path, sso: SsoEmulator) -> None:
    """`aws sso logout` of the AWS CLI v2, step by step (see the module docstring)."""
    import botocore.session

    session = botocore.session.Session()
    for path in sorted((home / ".aws" / "sso" / "cache").glob("*.json")):
        contents = json.loads(path.read_text())
        if "accessToken" not in contents:
            continue
        if contents.get("region"):
            client = session.create_client("sso", region_name=contents["region"], endpoint_url=sso.url)
            # An expired or revoked token: the CLI logs the error and goes on.
            with contextlib.suppress(client.exceptions.ClientError):
                client.logout(accessToken=contents["accessToken"])
        path.unlink()
    if cli_cache(home).is_dir():
        for path in cli_cache(home).iterdir():
            try:
                contents = json.loads(path.read_text())
            except ValueError:
                continue
            if contents.get("ProviderType") == "sso":
                path.unlink()


@pytest.fixture
def cli_v2(hermetic_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A function resolving a profile the way the AWS CLI v2 does (botocore's chain, its SSO
    provider caching role credentials in ~/.aws/cli/cache), returning the access key id or raising."""
    from botocore.credentials import JSONFileCache, SSOProvider
    from botocore.tokens import SSOTokenProvider

    # botocore fixes these folders at import, from the HOME of that moment.
    token_dir = str(hermetic_env / ".aws" / "sso" / "cache")
    monkeypatch.setattr(SSOProvider, "_SSO_TOKEN_CACHE_DIR", token_dir)
    monkeypatch.setattr(SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", token_dir)

    def resolve(profile: str) -> str:
        import botocore.session

        session = botocore.session.Session(profile=profile)
        provider = session.get_component("credential_provider").get_provider("sso")
        provider.cache = JSONFileCache(str(cli_cache(hermetic_env)))
        creds = session.get_credentials()
        assert creds is not None
        return str(creds.get_frozen_credentials().access_key)

    yield resolve


def key_of(done: Any) -> str:
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["AccessKeyId"])


def refused_for_login(done: Any, command: str = "credproc login --sso-session corp") -> None:
    assert done.returncode == 4, (done.returncode, done.stderr)
    assert done.stdout == ""
    assert command in done.stderr


# ---- the AWS CLI's logout stops credproc ---------------------------------------------------------


def test_cli_v2_logout_stops_credproc_cache_hits(sso: SsoEmulator, hermetic_env: Path, sts: MotoSTS) -> None:
    """A real process, so the fast path's hit is what is refused, not only the slow path's hop."""
    write_token(hermetic_env, sso.emulator)
    first = key_of(run_credproc("credential-process", "--profile", "dev"))
    assert key_of(run_credproc("credential-process", "--profile", "dev")) == first  # a hit
    assert sso.emulator.count("GetRoleCredentials") == 1

    cli_v2_logout(hermetic_env, sso)

    refused_for_login(run_credproc("credential-process", "--profile", "dev"))
    assert sso.emulator.count("GetRoleCredentials") == 1


def test_cli_v2_logout_stops_a_role_assumed_on_the_session(
    sso: SsoEmulator, hermetic_env: Path, sts: MotoSTS
) -> None:
    write_token(hermetic_env, sso.emulator)
    assert run_in_process("credential-process", "--profile", "chained").returncode == 0
    cli_v2_logout(hermetic_env, sso)
    refused_for_login(run_in_process("credential-process", "--profile", "chained"))
    # exec and env read the same hop entries
    refused_for_login(run_in_process("env", "--profile", "chained", "--format", "sh"))


def test_token_file_removed_by_hand_stops_credproc(sso: SsoEmulator, hermetic_env: Path) -> None:
    """Whoever removes the file (no portal Logout here): the cached credentials are not served."""
    write_token(hermetic_env, sso.emulator)
    assert run_in_process("credential-process", "--profile", "dev").returncode == 0
    token_file(hermetic_env, "corp").unlink()
    refused_for_login(run_in_process("credential-process", "--profile", "dev"))


def test_legacy_session_removed_stops_credproc(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator, cache_id=LEGACY_URL, start_url=LEGACY_URL)
    assert run_in_process("credential-process", "--profile", "legacy").returncode == 0
    token_file(hermetic_env, LEGACY_URL).unlink()
    refused_for_login(run_in_process("credential-process", "--profile", "legacy"), "credproc login")


def test_another_sign_in_gets_role_credentials_of_its_own(sso: SsoEmulator, hermetic_env: Path) -> None:
    first_token = write_token(hermetic_env, sso.emulator)["accessToken"]
    first = key_of(run_in_process("credential-process", "--profile", "dev"))
    second_token = write_token(hermetic_env, sso.emulator)["accessToken"]  # `aws sso login` again
    assert second_token != first_token
    second = key_of(run_in_process("credential-process", "--profile", "dev"))
    assert second != first
    assert sso.emulator.count("GetRoleCredentials") == 2
    assert key_of(run_in_process("credential-process", "--profile", "dev")) == second  # cached again


def test_expired_token_of_another_sign_in_is_exit_4(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    assert run_in_process("credential-process", "--profile", "dev").returncode == 0
    write_token(hermetic_env, sso.emulator, expires_in=-60)
    refused_for_login(run_in_process("credential-process", "--profile", "dev"))
    assert sso.emulator.count("GetRoleCredentials") == 1


def test_a_hit_with_the_token_file_in_place_makes_no_call(sso: SsoEmulator, hermetic_env: Path) -> None:
    """The binding costs nothing when nothing changed: the same answer, no second call."""
    write_token(hermetic_env, sso.emulator)
    first = key_of(run_in_process("credential-process", "--profile", "dev"))
    assert key_of(run_in_process("credential-process", "--profile", "dev")) == first
    assert sso.emulator.count("GetRoleCredentials") == 1


# ---- credproc's logout stops the AWS CLI ---------------------------------------------------------


@pytest.fixture
def cli_signed_in(sso: SsoEmulator, hermetic_env: Path, cli_v2: Any) -> tuple[str, str]:
    """Both SSO sessions signed in, and profiles dev (sso-session corp) and legacy resolved once by
    the AWS CLI v2, which caches their role credentials: their access key ids."""
    write_token(hermetic_env, sso.emulator)
    write_token(hermetic_env, sso.emulator, cache_id=LEGACY_URL, start_url=LEGACY_URL)
    return cli_v2("dev"), cli_v2("legacy")


@pytest.mark.usefixtures("cli_signed_in")
def test_cli_v2_cache_file_name_is_the_one_credproc_computes(hermetic_env: Path) -> None:
    from credproc.sources.sso import cli_cache as credproc_cli_cache
    from credproc.sources.sso.settings import SsoSession

    corp = SsoSession("corp", "https://corp.awsapps.com/start", "us-east-1", ())
    legacy = SsoSession(None, LEGACY_URL, "us-east-1", ())
    assert sorted(p.name for p in cli_cache(hermetic_env).iterdir()) == sorted(
        [
            credproc_cli_cache.file_name(corp, "111111111111", "Admin"),
            credproc_cli_cache.file_name(legacy, "222222222222", "ReadOnly"),
        ]
    )


def test_credproc_logout_stops_the_cli_v2_sso_provider(
    sso: SsoEmulator, hermetic_env: Path, cli_v2: Any, cli_signed_in: tuple[str, str]
) -> None:
    first, legacy = cli_signed_in
    # The CLI's cache alone serves the role, even with no token file: what logout must remove.
    saved = token_file(hermetic_env, "corp").read_bytes()
    token_file(hermetic_env, "corp").unlink()
    assert cli_v2("dev") == first
    token_file(hermetic_env, "corp").write_bytes(saved)

    done = run_in_process("logout", "--sso-session", "corp")
    assert done.returncode == 0, done.stderr
    assert "1 of the AWS CLI's" in done.stderr

    from botocore.exceptions import SSOError

    with pytest.raises(SSOError):  # SSOTokenLoadError, or the refresh that cannot happen
        cli_v2("dev")
    assert cli_v2("legacy") == legacy  # the other session is untouched
    assert sso.emulator.count("GetRoleCredentials") == 2


@pytest.mark.usefixtures("cli_signed_in")
def test_credproc_logout_of_every_session_sweeps_the_cli_cache_as_the_cli_does(hermetic_env: Path) -> None:
    assumed = cli_cache(hermetic_env) / "assume-role-entry.json"  # the CLI's AssumeRole cache: kept
    assumed.write_text(json.dumps({"Credentials": {"AccessKeyId": "ASIA"}}))
    (cli_cache(hermetic_env) / "garbage.json").write_text("{not json")

    done = run_in_process("logout")
    assert done.returncode == 0, done.stderr
    assert "2 of the AWS CLI's" in done.stderr
    assert sorted(p.name for p in cli_cache(hermetic_env).iterdir()) == [
        "assume-role-entry.json",
        "garbage.json",
    ]
