"""``credproc keys`` as a real process: stdin when it is not a terminal, clear refusals, no secret
anywhere in output, and cached answers dropped when keys change. Prompts: tests/test_keys_prompt.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import (
    BASE_KEY_ID,
    BASE_SECRET,
    CHAIN_CONFIG,
    CREDPROC,
    AwsFiles,
    run_credproc,
)
from tests.support.moto_sts import MotoSTS

NEW_KEY_ID = "AKIAI44QH8DHBEXAMPLE"
NEW_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"


def feed(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CREDPROC, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        check=False,
    )


def stored(store: Path) -> dict[str, str]:
    return {k.split("\0", 1)[1]: v for k, v in json.loads(store.read_text()).items()}


def test_keys_fed_on_stdin_are_stored_listed_without_secrets_and_removed(test_keyring: Path) -> None:
    added = feed("keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout == ""
    assert BASE_SECRET not in added.stderr and "AKIAIOSF…" in added.stderr
    assert "note: add a [profile base] section to" in added.stderr  # no config file yet
    assert json.loads(stored(test_keyring)["keys:base"]) == {
        "aws_access_key_id": BASE_KEY_ID,
        "aws_secret_access_key": BASE_SECRET,
    }

    listed = run_credproc("keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split() == ["keys", "base", "AKIAIOSF…"]
    assert "keyring backend: tests.support.keyrings.FileKeyring" in listed.stderr
    as_json = run_credproc("keys", "list", "--json")
    assert json.loads(as_json.stdout) == {
        "kind": "keys",
        "name": "base",
        "key_id_prefix": "AKIAIOSF…",
        "backend": "tests.support.keyrings.FileKeyring",
    }
    for out in (listed, as_json):
        assert BASE_SECRET not in out.stdout + out.stderr
        assert BASE_KEY_ID not in out.stdout + out.stderr

    removed = run_credproc("keys", "remove", "base")
    assert removed.returncode == 0, removed.stderr
    assert "keys:base" not in stored(test_keyring)
    assert run_credproc("keys", "list").stdout == ""


def test_a_passphrase_is_stored_exactly_and_listed_by_name(test_keyring: Path) -> None:
    added = feed("keys", "add", "--passphrase", "ra", stdin=" two words \nignored\n")
    assert added.returncode == 0, added.stderr
    assert stored(test_keyring)["passphrase:ra"] == " two words "
    assert "two words" not in added.stderr
    listed = run_credproc("keys", "list")
    assert listed.stdout.splitlines()[1].split() == ["passphrase", "ra"]
    assert run_credproc("keys", "remove", "--passphrase", "ra").returncode == 0
    assert "passphrase:ra" not in stored(test_keyring)


def test_removing_what_is_not_there_is_bad_input(test_keyring: Path) -> None:
    result = run_credproc("keys", "remove", "nobody")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "credproc: error: no keys named 'nobody' in the keyring",
        "credproc: hint: see `credproc keys list`",
    ]


def test_nothing_on_stdin_and_no_terminal_fails_fast_with_exit_4(test_keyring: Path) -> None:
    for args in (["keys", "add", "base"], ["keys", "add", "--passphrase", "p"]):
        result = run_credproc(*args, timeout=20)
        assert result.returncode == 4, result.stderr
        assert result.stdout == ""
        assert "no terminal to ask on" in result.stderr.splitlines()[0]
    assert not test_keyring.exists()


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (f"AKIA123\n{BASE_SECRET}\n", "credproc: error: that is not an access key id"),
        (f"{BASE_KEY_ID}\n{BASE_SECRET[:20]}\n", "credproc: error: that is not a secret access key"),
        (f"{BASE_KEY_ID}\n", "credproc: error: expected 2 lines on stdin"),
        (f"{BASE_SECRET}\n{BASE_KEY_ID}\n", "credproc: error: that is not an access key id"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_the_secret(
    test_keyring: Path, stdin: str, message: str
) -> None:
    result = feed("keys", "add", "base", stdin=stdin)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert len(result.stderr.splitlines()) <= 2
    assert BASE_SECRET not in result.stderr and BASE_SECRET[:20] not in result.stderr
    assert "Traceback" not in result.stderr
    assert not test_keyring.exists()


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ("keyring.backends.fail.Keyring", "credproc: error: no OS keyring is available to keep secrets in"),
        ("keyring.backends.null.Keyring", "credproc: error: the keyring is disabled (null backend)"),
        (
            "keyrings.alt.file.PlaintextKeyring",
            "credproc: error: the keyring backend "
            "keyrings.alt.file.PlaintextKeyring keeps secrets in a plaintext file; credproc refuses it",
        ),
        ("nowhere.Keyring", "credproc: error: the keyring backend cannot be loaded (ModuleNotFoundError)"),
    ],
)
def test_a_missing_disabled_or_plaintext_keyring_is_refused_with_what_to_do(
    aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch, backend: str, message: str
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    aws_files.write_config("[profile base]\nregion = us-east-1\n")
    resolving = "credproc: error: profile 'base' has no credentials in the files, and the keyring cannot be searched: "
    for result, expected in (
        (feed("keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n"), message),
        (run_credproc("keys", "list"), message),
        (
            run_credproc("credential-process", "--profile", "base"),
            resolving + message.removeprefix("credproc: error: "),
        ),
    ):
        assert result.returncode == 1
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines[0] == expected
        assert lines[1].startswith("credproc: hint: ")
        assert len(lines) == 2
    # Nothing fell back to a plaintext file anywhere under HOME.
    for path in Path(os.environ["HOME"]).rglob("*"):
        assert not path.is_file() or BASE_SECRET not in path.read_text(errors="replace")


def test_a_keyring_profile_chain_resolves_and_the_hit_path_never_imports_keyring(
    chain: AwsFiles, test_keyring: Path
) -> None:
    chain.credentials.unlink()  # the base keys live only in the keyring
    assert feed("keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n").returncode == 0
    miss = run_credproc("credential-process", "--profile", "top")
    assert miss.returncode == 0, miss.stderr
    assert json.loads(miss.stdout)["SessionToken"]
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    hit = subprocess.run(
        [CREDPROC[0], "-X", "importtime", *CREDPROC[1:], "credential-process", "--profile", "top"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert hit.returncode == 0
    assert hit.stdout == miss.stdout
    imported = {line.split("|")[-1].strip() for line in hit.stderr.splitlines() if "|" in line}
    assert not {name for name in imported if name.split(".")[0] in ("keyring", "secretstorage", "jeepney")}


def test_new_keys_drop_the_cached_answers_built_on_the_profile(
    aws_files: AwsFiles, sts: MotoSTS, test_keyring: Path
) -> None:
    aws_files.write_config(
        CHAIN_CONFIG + "\n[profile unrelated]\nregion = us-east-1\n"
        "role_arn = arn:aws:iam::333333333333:role/x\nsource_profile = other\n"
        "\n[profile other]\nregion = us-east-1\n"
    )
    feed("keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n")
    feed("keys", "add", "other", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n")
    first = run_credproc("credential-process", "--profile", "top")
    assert first.returncode == 0, first.stderr
    assert run_credproc("credential-process", "--profile", "unrelated").returncode == 0
    assert sts.calls["AssumeRole"] == 3

    rotated = feed("keys", "add", "base", stdin=f"{NEW_KEY_ID}\n{NEW_SECRET}\n")
    assert rotated.returncode == 0, rotated.stderr
    assert "removed 3 cached credentials built on 'base'" in rotated.stderr  # top's answer + 2 hops
    second = run_credproc("credential-process", "--profile", "top")
    assert second.returncode == 0, second.stderr
    assert sts.calls["AssumeRole"] == 5  # both hops again, with the new keys
    assert json.loads(second.stdout)["AccessKeyId"] != json.loads(first.stdout)["AccessKeyId"]
    assert run_credproc("credential-process", "--profile", "unrelated").returncode == 0
    assert sts.calls["AssumeRole"] == 5  # the unrelated chain stayed cached

    assert run_credproc("keys", "remove", "base").returncode == 0
    gone = run_credproc("credential-process", "--profile", "top")
    assert gone.returncode == 1
    assert "has no credentials" in gone.stderr


def test_mfa_token_flag_serves_two_roles_with_one_session(
    aws_files: AwsFiles, sts: MotoSTS, test_keyring: Path
) -> None:
    serial = "arn:aws:iam::123456789012:mfa/alice"
    roles = "".join(
        f"[profile {n}]\nrole_arn = arn:aws:iam::{a * 12}:role/{n}\n"
        f"source_profile = base\nmfa_serial = {serial}\n"
        for n, a in (("a", "1"), ("b", "2"))
    )
    aws_files.write_config("[profile base]\nregion = us-east-1\n" + roles)
    feed("keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n")
    no_code = run_credproc("credential-process", "--profile", "a", timeout=20)
    assert no_code.returncode == 4
    assert "no terminal to ask on" in no_code.stderr
    a = run_credproc("credential-process", "--profile", "a", "--mfa-token", "123456")
    assert a.returncode == 0, a.stderr
    b = run_credproc("credential-process", "--profile", "b")  # no code needed: the session is cached
    assert b.returncode == 0, b.stderr
    assert (sts.calls["GetSessionToken"], sts.calls["AssumeRole"]) == (1, 2)
    listed = run_credproc("cache", "list")
    assert "MFA session arn:aws:iam::123456789012:mfa/alice" in listed.stdout


def test_a_passphrase_for_a_key_file_is_stored_under_its_absolute_path(
    test_keyring: Path, tmp_path: Path
) -> None:
    added = subprocess.run(
        [*CREDPROC, "keys", "add", "--passphrase", "./ra.pem"],
        input="pw\n",
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        check=False,
        cwd=tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert stored(test_keyring)[f"passphrase:{tmp_path / 'ra.pem'}"] == "pw"
    home_key = run_credproc("keys", "remove", "--passphrase", "~/ra.pem")
    assert home_key.returncode == 1
    assert f"no passphrase named '{Path(os.environ['HOME']) / 'ra.pem'}'" in home_key.stderr


def test_an_unreadable_config_still_drops_the_named_profiles_cache(
    aws_files: AwsFiles, test_keyring: Path
) -> None:
    from datetime import datetime, timedelta, timezone

    from credproc.cache import Cache, EntryMeta
    from credproc.credentials import Credentials

    cache = Cache.open(dict(os.environ), 0, lambda m: None)
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    cache.store("h-x", Credentials("ASIAEXAMPLE", "s", "t", expires), EntryMeta(profile="base"))
    aws_files.write_config("[profile base\nbroken")
    added = feed("keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n")
    assert added.returncode == 0, added.stderr
    assert "removed 1 cached credential built on 'base'" in added.stderr
