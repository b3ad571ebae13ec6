"""`credproc logout`: Logout at the portal, token files gone, and nothing derived left in the cache."""

from __future__ import annotations

import os
import socket
from pathlib import Path

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


def _cached_profiles() -> list[str]:
    listing = run_credproc("cache", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    import json

    return sorted({json.loads(line)["profile"] for line in listing.stdout.splitlines()})


def test_logout_of_a_session_ends_it_and_removes_everything_derived(
    sso: SsoEmulator, hermetic_env: Path, sts: MotoSTS
) -> None:
    corp = write_token(hermetic_env, sso.emulator)
    write_token(hermetic_env, sso.emulator, cache_id=LEGACY_URL, start_url=LEGACY_URL)
    for profile in ("dev", "chained", "legacy"):
        assert run_credproc("credential-process", "--profile", profile).returncode == 0
    assert _cached_profiles() == ["chained", "dev", "legacy"]

    done = run_credproc("logout", "--sso-session", "corp")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "signed out of sso-session corp" in done.stderr
    assert sso.emulator.count("Logout") == 1
    assert sso.emulator.tokens[corp["accessToken"]].revoked
    assert not token_file(hermetic_env, "corp").exists()
    assert token_file(hermetic_env, LEGACY_URL).exists()
    assert _cached_profiles() == ["legacy"]
    # the answer cache no longer hides the sign-out
    assert run_credproc("credential-process", "--profile", "dev").returncode == 4


def test_logout_of_a_profile_ends_its_session(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    assert run_in_process("logout", "--profile", "dev-ro", entry=True).returncode == 0
    assert not token_file(hermetic_env, "corp").exists()


def test_logout_without_options_ends_every_session(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    write_token(hermetic_env, sso.emulator, cache_id=LEGACY_URL, start_url=LEGACY_URL)
    assert run_in_process("credential-process", "--profile", "legacy", entry=True).returncode == 0
    done = run_in_process("logout", entry=True)
    assert done.returncode == 0, done.stderr
    assert sso.emulator.count("Logout") == 2
    assert not list((hermetic_env / ".aws" / "sso" / "cache").glob("*.json"))
    assert _cached_profiles() == []


def test_expired_token_is_removed_without_calling_logout(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator, expires_in=-10)
    assert run_in_process("logout", "--all", entry=True).returncode == 0
    assert sso.emulator.count("Logout") == 0
    assert not token_file(hermetic_env, "corp").exists()


def test_unreachable_portal_still_removes_the_local_token(sso: SsoEmulator, hermetic_env: Path) -> None:
    write_token(hermetic_env, sso.emulator)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = run_in_process(
        "logout", "--sso-session", "corp", env={**os.environ, "AWS_ENDPOINT_URL_SSO": dead}, entry=True
    )
    assert done.returncode == 0
    assert "could not sign out at the portal" in done.stderr
    assert not token_file(hermetic_env, "corp").exists()


def test_all_with_a_session_is_a_usage_error(sso: SsoEmulator) -> None:
    assert run_in_process("logout", "--all", "--sso-session", "corp", entry=True).returncode == 2


def test_sso_root_follows_chains_and_credproc_lines(hermetic_env: Path) -> None:
    import textwrap

    from credproc import config
    from credproc.sources.sso.settings import sso_root

    (hermetic_env / ".aws" / "config").write_text(
        textwrap.dedent("""
        [profile sso]
        sso_start_url = https://u
        sso_region = us-east-1
        [profile via-credproc]
        credential_process = credproc credential-process --profile sso
        [profile via-other]
        credential_process = /bin/echo {}
        [profile broken-quote]
        credential_process = credproc "unclosed
        [profile role]
        role_arn = arn:aws:iam::111111111111:role/r
        source_profile = via-credproc
        [profile dangling]
        role_arn = arn:aws:iam::111111111111:role/r
        source_profile = missing
        [profile loop-a]
        role_arn = arn:aws:iam::111111111111:role/r
        source_profile = loop-b
        [profile loop-b]
        role_arn = arn:aws:iam::111111111111:role/r
        source_profile = loop-a
    """)
    )
    env = {"HOME": str(hermetic_env)}
    cfg = config.load(env)
    roots = {name: sso_root(cfg, env, name) for name in cfg.profiles}
    assert roots == {
        "sso": "https://u",
        "via-credproc": "https://u",
        "via-other": None,
        "broken-quote": None,
        "role": "https://u",
        "dangling": None,
        "loop-a": None,
        "loop-b": None,
    }
