"""Cache encryption at rest (opt-in): sealed payloads, keyring-held key, every failure a miss."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import keyring.core
import pytest
from keyring.backends import fail

from credproc import cache_crypto, cachefile, cachekey, keystore
from credproc.cache import Cache, EntryMeta
from credproc.credentials import Credentials
from tests.conftest import BASE_SECRET, CREDPROC, REPO, AwsFiles, run_credproc
from tests.support.keyrings import MemoryKeyring
from tests.support.moto_sts import MotoSTS

SESSION_SECRET = "S" * 40
TOKEN = "T" * 300


# One fixed expiry: a test that built two at different moments could straddle a second boundary.
EXPIRES = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)


def creds() -> Credentials:
    return Credentials("ASIAEXAMPLEEXAMPLE12", SESSION_SECRET, TOKEN, EXPIRES)


def sealed_cache(warnings: list[str] | None = None) -> Cache:
    sink = warnings if warnings is not None else []
    return Cache.open({**os.environ, cache_crypto.ENV: "keyring"}, 0, sink.append)


@pytest.mark.parametrize(
    ("value", "on"),
    [("keyring", True), ("1", True), ("TRUE", True), ("", False), ("0", False), ("off", False)],
)
def test_encryption_is_off_unless_asked_for(value: str, on: bool) -> None:
    assert cache_crypto.enabled({cache_crypto.ENV: value}) is on
    assert cache_crypto.enabled({}) is False


def test_sealed_entries_hold_no_secret_and_read_back(memory: MemoryKeyring) -> None:
    cache = sealed_cache()
    cache.store("p-one", creds(), EntryMeta(profile="top"))
    raw = (Path(os.environ["CREDPROC_CACHE_DIR"]) / "p-one.entry").read_bytes()
    assert SESSION_SECRET.encode() not in raw and TOKEN.encode() not in raw
    assert cachefile.decode_entry(raw, "p-one").payload.startswith(cachefile.SEALED)  # type: ignore[union-attr]
    assert ("credproc", "cache-key") in memory.store
    assert cache.fresh("p-one") == creds()
    # Turning encryption off later still reads what was sealed (the key is still in the keyring).
    assert Cache.open(dict(os.environ), 0, lambda m: None).fresh("p-one") == creds()
    assert [item.meta for item in cache.items()] == [EntryMeta(profile="top")]


def test_a_sealed_payload_moved_to_another_entry_is_a_miss(memory: MemoryKeyring) -> None:
    cache = sealed_cache()
    cache.store("p-one", creds(), EntryMeta())
    folder = Path(os.environ["CREDPROC_CACHE_DIR"])
    (folder / "p-two.entry").write_bytes((folder / "p-one.entry").read_bytes())
    (folder / "p-two.entry").chmod(0o600)
    assert cache.fresh("p-two") is None


def test_a_lost_or_damaged_key_is_a_miss_never_an_error(memory: MemoryKeyring) -> None:
    cache = sealed_cache()
    cache.store("p-one", creds(), EntryMeta())
    memory.store[("credproc", "cache-key")] = "bm90IDMyIGJ5dGVz"  # valid base64, wrong length
    assert cache.fresh("p-one") is None
    memory.store[("credproc", "cache-key")] = "%%%"
    assert cache.fresh("p-one") is None
    del memory.store[("credproc", "cache-key")]
    assert cache.fresh("p-one") is None
    memory.locked = True
    assert cache.fresh("p-one") is None


def test_another_key_cannot_open_the_entry(memory: MemoryKeyring) -> None:
    cache = sealed_cache()
    cache.store("p-one", creds(), EntryMeta())
    del memory.store[("credproc", "cache-key")]
    cache.store("p-other", creds(), EntryMeta())  # creates a new key
    assert cache.fresh("p-one") is None
    assert cache.fresh("p-other") == creds()


def test_plain_entries_are_refreshed_once_encryption_is_on(memory: MemoryKeyring) -> None:
    Cache.open(dict(os.environ), 0, lambda m: None).store("p-one", creds(), EntryMeta())
    assert sealed_cache().fresh("p-one") is None


def test_no_keyring_means_no_cache_never_a_plaintext_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())
    keystore.forget_backend()
    warnings: list[str] = []
    sealed_cache(warnings).store("p-one", creds(), EntryMeta())
    assert not (Path(os.environ["CREDPROC_CACHE_DIR"]) / "p-one.entry").exists()
    assert warnings == [
        "cache encryption unavailable (no OS keyring is available to keep secrets in); credentials not cached"
    ]
    keystore.forget_backend()


def test_a_damaged_stored_key_refuses_to_seal(memory: MemoryKeyring) -> None:
    memory.store[("credproc", "cache-key")] = "%%%"
    warnings: list[str] = []
    sealed_cache(warnings).store("p-one", creds(), EntryMeta())
    assert "the cache key in the keyring is damaged" in warnings[0]


def test_unseal_refuses_what_is_not_sealed(memory: MemoryKeyring) -> None:
    assert cache_crypto.unseal("p-one", b'{"Version":1}') is None
    assert cache_crypto.unseal("p-one", cachefile.SEALED + b"short") is None


def test_sealed_hits_are_served_by_a_real_process_and_the_plain_path_steps_aside(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyrings.FileKeyring")
    monkeypatch.setenv("TEST_KEYRING_FILE", str(tmp_path / "kr.json"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv(cache_crypto.ENV, "keyring")
    first = run_credproc("credential-process", "--profile", "top")
    assert first.returncode == 0, first.stderr
    secret = json.loads(first.stdout)["SecretAccessKey"].encode()
    for path in Path(os.environ["CREDPROC_CACHE_DIR"]).iterdir():
        assert secret not in path.read_bytes()
        assert BASE_SECRET.encode() not in path.read_bytes()

    env = dict(os.environ)
    hit = subprocess.run(
        [CREDPROC[0], "-X", "importtime", *CREDPROC[1:], "credential-process", "--profile", "top"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert hit.returncode == 0, hit.stderr
    assert hit.stdout == first.stdout
    imported = {line.split("|")[-1].strip() for line in hit.stderr.splitlines() if "|" in line}
    assert "credproc.cache_crypto" in imported and "click" not in imported  # the sealed hit path

    env.pop(cache_crypto.ENV)  # encryption turned off later: the plain path must not print ciphertext
    later = subprocess.run(
        [*CREDPROC, "credential-process", "--profile", "top"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert later.returncode == 0, later.stderr
    assert later.stdout == first.stdout
    assert sts.calls["AssumeRole"] == 2


def test_the_sealed_hit_path_prints_only_what_it_can_open(
    aws_files: AwsFiles, memory: MemoryKeyring, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    argv = ["--profile", "top"]
    assert cache_crypto.try_hit(argv, os.environ) is False  # nothing cached
    key = cachekey.answer_key({"profile": "top"}, os.environ)
    sealed_cache().store(key, creds(), EntryMeta(profile="top"))
    assert cache_crypto.try_hit(argv, os.environ) is True
    assert capsysbinary.readouterr().out == (creds().to_process_json() + "\n").encode()
    del memory.store[("credproc", "cache-key")]
    assert cache_crypto.try_hit(argv, os.environ) is False
    assert capsysbinary.readouterr().out == b""
