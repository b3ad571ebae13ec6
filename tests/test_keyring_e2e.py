"""End to end on a real Secret Service: gnome-keyring-daemon under dbus-run-session, temp HOME.

Every command runs in its own D-Bus session whose gnome-keyring is unlocked with the test
password, as after a fresh desktop login: what one session stored, the next one reads back from
the encrypted keyring file. The keys go in through stdin, a chain on top resolves against moto,
and no file under the test's folders holds the secret in the clear.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_KEY_ID, BASE_SECRET, CHAIN_CONFIG, CREDPROC, AwsFiles, require
from tests.support.moto_sts import MotoSTS

PASSWORD = "e2e-test-login-password"  # the test keyring's login password, not an AWS secret
SERIAL = "arn:aws:iam::123456789012:mfa/alice"
# Unlock (or only start) the daemon on this session's bus, then run the command with the caller's
# stdin: the password reaches the daemon through its own pipe.
SESSION_SCRIPT = """
if [ "$UNLOCK" = 1 ]; then
  printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
else
  gnome-keyring-daemon --start --components=secrets >/dev/null
fi
exec "$@"
"""


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    require(
        "gnome-keyring-daemon",
        shutil.which("gnome-keyring-daemon") is not None,
        "the Secret Service for the keyring end-to-end test (apt: gnome-keyring)",
    )
    require(
        "dbus-run-session",
        shutil.which("dbus-run-session") is not None,
        "a private D-Bus session for gnome-keyring (apt: dbus)",
    )
    # A short path: the daemon puts sockets here, and socket paths are limited to ~100 bytes.
    path = Path(tempfile.mkdtemp(prefix="cpkr-"))
    path.chmod(0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def in_session(
    runtime_dir: Path,
    *args: str,
    stdin: str = "",
    unlock: bool = True,
    timeout: float = 60,
    program: tuple[str, ...] = tuple(CREDPROC),
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS")
    }
    env.update(XDG_RUNTIME_DIR=str(runtime_dir), KEYRING_PASSWORD=PASSWORD, UNLOCK="1" if unlock else "0")
    return subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", SESSION_SCRIPT, "sh", *program, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
        start_new_session=True,  # no controlling terminal: nothing may prompt
    )


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield path


def test_keys_in_gnome_keyring_serve_a_chain_and_never_touch_disk_in_plaintext(
    aws_files: AwsFiles, sts: MotoSTS, runtime_dir: Path, tmp_path: Path
) -> None:
    aws_files.write_config(
        CHAIN_CONFIG + f"\n[profile admin]\nrole_arn = arn:aws:iam::333333333333:role/admin\n"
        f"source_profile = base\nmfa_serial = {SERIAL}\n"
    )
    added = in_session(runtime_dir, "keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n")
    assert added.returncode == 0, added.stderr
    assert (aws_files.home / ".local/share/keyrings/login.keyring").is_file()

    listed = in_session(runtime_dir, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    # keyrings.alt (a test dependency) makes keyring chain a plaintext file behind the Secret
    # Service; credproc keeps only the Secret Service.
    assert "keyring backend: keyring.backends.SecretService.Keyring" in listed.stderr
    assert listed.stdout.splitlines()[1].split() == ["keys", "base", "AKIAIOSF…"]

    top = in_session(runtime_dir, "credential-process", "--profile", "top")
    assert top.returncode == 0, top.stderr
    answer = json.loads(top.stdout)
    assert answer["SessionToken"] and answer["AccessKeyId"] != BASE_KEY_ID
    admin = in_session(runtime_dir, "credential-process", "--profile", "admin", "--mfa-token", "123456")
    assert admin.returncode == 0, admin.stderr
    assert (sts.calls["AssumeRole"], sts.calls["GetSessionToken"]) == (3, 1)

    secret = BASE_SECRET.encode()
    cache_dir = Path(os.environ["CREDPROC_CACHE_DIR"])
    searched = list(files_under(aws_files.home, cache_dir, runtime_dir, tmp_path))
    assert any(p.parent == cache_dir for p in searched)  # the cache was written and searched
    assert [p for p in searched if secret in p.read_bytes()] == []

    removed = in_session(runtime_dir, "keys", "remove", "base")
    assert removed.returncode == 0, removed.stderr
    gone = in_session(runtime_dir, "credential-process", "--profile", "base")
    assert gone.returncode == 1
    assert "has no credentials" in gone.stderr


def test_a_locked_gnome_keyring_is_a_clear_error_not_a_hang(aws_files: AwsFiles, runtime_dir: Path) -> None:
    aws_files.write_config("[profile base]\nregion = us-east-1\n")
    added = in_session(runtime_dir, "keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n")
    assert added.returncode == 0, added.stderr
    locked = in_session(runtime_dir, "credential-process", "--profile", "base", unlock=False, timeout=30)
    assert locked.returncode == 1
    assert locked.stdout == ""
    lines = [line for line in locked.stderr.splitlines() if line.startswith("credproc:")]
    assert lines == [
        "credproc: error: profile 'base' has no credentials in the files, and the keyring cannot be "
        "searched: the keyring is locked",
        "credproc: hint: unlock it (log in to the desktop session, or unlock the 'login' keyring) "
        "and run again",
    ]


def test_an_encrypted_cache_in_gnome_keyring_holds_no_session_secret_either(
    chain: AwsFiles, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain.credentials.unlink()
    monkeypatch.setenv("CREDPROC_CACHE_ENCRYPTION", "keyring")
    added = in_session(runtime_dir, "keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n")
    assert added.returncode == 0, added.stderr
    first = in_session(runtime_dir, "credential-process", "--profile", "top")
    assert first.returncode == 0, first.stderr
    again = in_session(runtime_dir, "credential-process", "--profile", "top")
    assert again.stdout == first.stdout  # a hit, opened with the key from the keyring
    answer = json.loads(first.stdout)
    cache_dir = Path(os.environ["CREDPROC_CACHE_DIR"])
    entries = list(cache_dir.glob("*.entry"))
    assert len(entries) == 3  # top's answer and two hops
    for path in files_under(chain.home, cache_dir):
        data = path.read_bytes()
        for secret in (BASE_SECRET, answer["SecretAccessKey"], answer["SessionToken"]):
            assert secret.encode() not in data, path


def test_the_aws_cli_assumes_a_role_over_keyring_keys_served_by_credproc(
    chain: AwsFiles, runtime_dir: Path
) -> None:
    # The aws-vault-style setup: the base profile's only "credentials" are a credproc line for
    # itself, which credproc ignores while resolving it, finding the keys in the keyring.
    chain.credentials.unlink()
    chain.write_config(
        chain.config.read_text().replace(
            "[profile base]\n",
            f"[profile base]\ncredential_process = {sys.executable} -m credproc credential-process --profile base\n",
        )
    )
    added = in_session(runtime_dir, "keys", "add", "base", stdin=f"{BASE_KEY_ID}\n{BASE_SECRET}\n")
    assert added.returncode == 0, added.stderr
    done = in_session(
        runtime_dir,
        "sts",
        "get-caller-identity",
        "--profile",
        "top",
        "--output",
        "json",
        program=(sys.executable, "-m", "awscli"),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"].startswith("arn:aws:sts::222222222222:assumed-role/top/")
    assert BASE_SECRET not in done.stdout + done.stderr
