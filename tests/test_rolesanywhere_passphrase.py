"""Where an encrypted key's passphrase comes from: keyring (profile name, then key path), the
environment variable named in --help, then the terminal, through a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from credproc.errors import ConfigError, NeedsHumanError
from credproc.sources.rolesanywhere.passphrase import PASSPHRASE_ENV, Passphrases
from credproc.terminal import ScriptedTerminal
from tests.conftest import AwsFiles, run_credproc
from tests.support import ra_pki
from tests.support.ra_world import RaWorld, running, without_proxies


@pytest.fixture(autouse=True)
def _no_machine_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    without_proxies(monkeypatch)


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring is unannotated
        self.store: dict[tuple[str, str], str] = {}
        self.asked: list[str] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.asked.append(username)
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def ra(tmp_path: Path) -> Iterator[RaWorld]:
    with running(tmp_path) as world:
        yield world


def test_the_profiles_keyring_entry_comes_first(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("credproc", "passphrase:ra", "from-profile")
    memory_keyring.set_password("credproc", f"passphrase:{os.path.abspath('k.pem')}", "from-path")
    ask = Passphrases({PASSPHRASE_ENV: "from-env"}, ScriptedTerminal(None), profile="ra")
    assert [ask("k.pem", 0), ask("k.pem", 1), ask("k.pem", 2)] == ["from-profile", "from-path", "from-env"]
    with pytest.raises(ConfigError, match=r"wrong passphrase .*from keyring entry passphrase:ra, ") as info:
        ask("k.pem", 3)
    assert "from-" not in info.value.message


def test_the_key_path_entry_serves_flag_runs_without_a_profile(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("credproc", f"passphrase:{os.path.abspath('k.pem')}", "from-path")
    ask = Passphrases({}, ScriptedTerminal(None))
    assert ask("k.pem", 0) == "from-path"
    assert memory_keyring.asked == [f"passphrase:{os.path.abspath('k.pem')}"]


def test_a_broken_keyring_falls_through_to_the_environment() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    try:
        ask = Passphrases({PASSPHRASE_ENV: "from-env"}, ScriptedTerminal(None), profile="ra")
        assert ask("k.pem", 0) == "from-env"
    finally:
        keyring.set_keyring(previous)


def test_after_stored_ones_fail_the_terminal_is_asked_three_times(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("credproc", "passphrase:ra", "stale")
    terminal = ScriptedTerminal(["a", "b", "c"])
    ask = Passphrases({}, terminal, profile="ra")
    assert [ask("k.pem", n) for n in range(4)] == ["stale", "a", "b", "c"]
    assert all("wrong, try again" in prompt for prompt in terminal.asked)
    with pytest.raises(ConfigError, match="wrong passphrase"):
        ask("k.pem", 4)


def test_nothing_stored_and_no_terminal_needs_a_human(memory_keyring: MemoryKeyring) -> None:
    ask = Passphrases({}, ScriptedTerminal(None), profile="ra")
    with pytest.raises(NeedsHumanError, match="no terminal") as info:
        ask("k.pem", 0)
    assert info.value.hint is not None and "passphrase:ra" in info.value.hint


def test_the_environment_variable_is_named_in_help() -> None:
    result = run_credproc("credential-process", "--help")
    assert PASSPHRASE_ENV in " ".join(result.stdout.split())


def test_the_terminal_prompt_unlocks_a_key_in_a_real_pty(ra: RaWorld, aws_files: AwsFiles) -> None:
    pexpect = pytest.importorskip("pexpect")
    files = ra.identity("p384", "pkcs8-encrypted")
    aws_files.write_config(ra.profile_block(files))
    env = {**os.environ, "AWS_ENDPOINT_URL_ROLESANYWHERE": ra.url}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "credproc", "credential-process", "--profile", "ra"],
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect("Passphrase for .*key.pem: ")
    child.sendline("not it")
    child.expect(r"\(wrong, try again\): ")
    child.sendline(ra_pki.PASSPHRASE)
    child.expect(r'\{"Version":1.*\}')
    printed = child.after
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert json.loads(printed)["AccessKeyId"].startswith("ASIARAEMU")
    assert ra_pki.PASSPHRASE not in child.before
