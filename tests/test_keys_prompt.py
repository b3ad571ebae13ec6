"""Prompts on a real pseudo-terminal: ``keys add`` hides the secret; an MFA chain asks once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pexpect

from tests.conftest import BASE_KEY_ID, BASE_SECRET, CREDPROC, AwsFiles
from tests.support.moto_sts import MotoSTS

SERIAL = "arn:aws:iam::123456789012:mfa/alice"


def spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(
        CREDPROC[0], [*CREDPROC[1:], *args], env=dict(os.environ), timeout=30, encoding="utf-8"
    )


def finish(child: pexpect.spawn) -> tuple[int, str]:
    rest = child.read()
    child.close()
    return child.exitstatus, rest


def test_keys_add_prompts_on_the_terminal_and_never_echoes_the_secret(test_keyring: Path) -> None:
    child = spawn("keys", "add", "base")
    child.expect_exact("Access key ID: ")
    child.sendline(BASE_KEY_ID)
    child.expect_exact("Secret access key: ")
    seen = child.before + child.after
    child.sendline(BASE_SECRET)
    status, rest = finish(child)
    assert status == 0, rest
    assert BASE_SECRET not in seen + rest
    assert "stored keys AKIAIOSF… for 'base'" in rest
    stored = json.loads(test_keyring.read_text())
    assert json.loads(stored["credproc\0keys:base"])["aws_secret_access_key"] == BASE_SECRET


def test_a_passphrase_is_asked_twice_and_must_match(test_keyring: Path) -> None:
    child = spawn("keys", "add", "--passphrase", "ra")
    child.expect_exact("Passphrase: ")
    child.sendline("first secret")
    child.expect_exact("Passphrase again: ")
    child.sendline("second secret")
    status, rest = finish(child)
    assert status == 1
    assert "credproc: error: the two passphrases differ; nothing stored" in rest
    assert "first secret" not in rest and "second secret" not in rest
    assert not test_keyring.exists()

    child = spawn("keys", "add", "--passphrase", "ra")
    for prompt in ("Passphrase: ", "Passphrase again: "):
        child.expect_exact(prompt)
        child.sendline("same secret")
    status, rest = finish(child)
    assert status == 0, rest
    assert json.loads(test_keyring.read_text())["credproc\0passphrase:ra"] == "same secret"


def test_an_empty_passphrase_is_refused(test_keyring: Path) -> None:
    child = spawn("keys", "add", "--passphrase", "ra")
    child.expect_exact("Passphrase: ")
    child.sendline("")
    status, rest = finish(child)
    assert status == 1
    assert "credproc: error: the passphrase is empty" in rest
    assert not test_keyring.exists()


def test_a_bad_key_id_typed_at_the_prompt_stops_before_the_secret(test_keyring: Path) -> None:
    child = spawn("keys", "add", "base")
    child.expect_exact("Access key ID: ")
    child.sendline("not-a-key")
    status, rest = finish(child)
    assert status == 1
    assert "credproc: error: that is not an access key id" in rest
    assert "Secret access key" not in rest


def test_two_roles_over_keyring_keys_ask_the_terminal_for_one_mfa_code(
    aws_files: AwsFiles, sts: MotoSTS, test_keyring: Path
) -> None:
    aws_files.write_config(
        "[profile base]\nregion = us-east-1\n"
        f"[profile a]\nrole_arn = arn:aws:iam::111111111111:role/a\n"
        f"source_profile = base\nmfa_serial = {SERIAL}\n"
        f"[profile b]\nrole_arn = arn:aws:iam::222222222222:role/b\n"
        f"source_profile = base\nmfa_serial = {SERIAL}\n"
    )
    child = spawn("keys", "add", "base")
    child.expect_exact("Access key ID: ")
    child.sendline(BASE_KEY_ID)
    child.expect_exact("Secret access key: ")
    child.sendline(BASE_SECRET)
    assert finish(child)[0] == 0

    child = spawn("credential-process", "--profile", "a")
    child.expect_exact(f"MFA code for {SERIAL}: ")
    child.sendline("123456")
    status, rest = finish(child)
    assert status == 0, rest
    assert '"SessionToken"' in rest

    child = spawn("credential-process", "--profile", "b")
    status, rest = finish(child)
    assert status == 0, rest
    assert "MFA code" not in rest
    assert (sts.calls["GetSessionToken"], sts.calls["AssumeRole"]) == (1, 2)
