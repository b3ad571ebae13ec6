"""credproc.keystore: the schema, the backend policy (no fail/null/plaintext), clear errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import keyring.core
import pytest
from keyring.backends import fail, null
from keyrings.alt.file import PlaintextKeyring

from credproc import keystore
from credproc.errors import ConfigError
from tests.conftest import BASE_KEY_ID, BASE_SECRET
from tests.support.keyrings import MemoryKeyring


def use_backend(monkeypatch: pytest.MonkeyPatch, backend: object) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    keystore.forget_backend()


@pytest.fixture(autouse=True)
def _fresh_choice() -> Iterator[None]:
    keystore.forget_backend()
    yield
    keystore.forget_backend()


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    kr = MemoryKeyring()
    use_backend(monkeypatch, kr)
    return kr


def test_keys_are_stored_under_the_shared_schema(memory: MemoryKeyring) -> None:
    keystore.store(keystore.KEYS, "base", keystore.AccessKeys(BASE_KEY_ID, BASE_SECRET).to_json())
    raw = memory.store[("credproc", "keys:base")]
    assert json.loads(raw) == {"aws_access_key_id": BASE_KEY_ID, "aws_secret_access_key": BASE_SECRET}
    assert keystore.get_keys("base") == keystore.AccessKeys(BASE_KEY_ID, BASE_SECRET)
    assert keystore.read_index() == {"keys": ["base"], "passphrase": []}


def test_passphrases_are_read_by_name(memory: MemoryKeyring) -> None:
    keystore.store(keystore.PASSPHRASE, "/keys/ra.pem", "correct horse")
    assert memory.store[("credproc", "passphrase:/keys/ra.pem")] == "correct horse"
    assert keystore.get_passphrase("/keys/ra.pem") == "correct horse"
    assert keystore.get_passphrase("other") is None


def test_passphrases_can_be_read_from_many_threads_at_once(memory: MemoryKeyring) -> None:
    keystore.store(keystore.PASSPHRASE, "ra", "pw")
    keystore.forget_backend()  # the first lookups race to choose the backend
    results: list[str | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(keystore.get_passphrase("ra"))) for _ in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["pw"] * 16


def test_remove_reports_whether_anything_was_there(memory: MemoryKeyring) -> None:
    keystore.store(keystore.KEYS, "base", keystore.AccessKeys(BASE_KEY_ID, BASE_SECRET).to_json())
    assert keystore.remove(keystore.KEYS, "base") is True
    assert keystore.get_keys("base") is None
    assert keystore.read_index()["keys"] == []
    assert keystore.remove(keystore.KEYS, "base") is False


def test_a_foreign_entry_under_keys_is_a_clear_error(memory: MemoryKeyring) -> None:
    memory.store[("credproc", "keys:base")] = "not json"
    with pytest.raises(ConfigError, match="not credproc's format"):
        keystore.get_keys("base")


def test_a_damaged_index_reads_as_empty(memory: MemoryKeyring) -> None:
    memory.store[("credproc", "index")] = "[1, 2]"
    assert keystore.read_index() == {"keys": [], "passphrase": []}
    memory.store[("credproc", "index")] = "{"
    assert keystore.read_index() == {"keys": [], "passphrase": []}


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (fail.Keyring(), "no OS keyring is available"),
        (null.Keyring(), "the keyring is disabled"),
        (PlaintextKeyring(), "keeps secrets in a plaintext file; credproc refuses it"),
    ],
)
def test_unsafe_backends_are_refused_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, backend: object, message: str
) -> None:
    use_backend(monkeypatch, backend)
    with pytest.raises(ConfigError, match=message) as info:
        keystore.get_passphrase("x")
    assert info.value.hint is not None
    assert "Secret Service" in info.value.hint


def test_a_chainer_uses_its_best_safe_member_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backends.chainer import ChainerBackend

    safe = MemoryKeyring()
    monkeypatch.setattr(ChainerBackend, "backends", [PlaintextKeyring(), safe, MemoryKeyring()])
    use_backend(monkeypatch, ChainerBackend())
    assert keystore.backend() is safe


def test_a_chainer_of_only_unsafe_backends_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backends.chainer import ChainerBackend

    monkeypatch.setattr(ChainerBackend, "backends", [PlaintextKeyring()])
    use_backend(monkeypatch, ChainerBackend())
    with pytest.raises(ConfigError, match="no OS keyring"):
        keystore.backend()


def test_a_backend_named_in_the_environment_that_cannot_load_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no_such_module.Keyring")
    use_backend(monkeypatch, None)
    with pytest.raises(ConfigError, match="cannot be loaded") as info:
        keystore.backend()
    assert info.value.hint is not None
    assert "PYTHON_KEYRING_BACKEND" in info.value.hint


def test_a_locked_keyring_says_so_and_how_to_unlock(memory: MemoryKeyring) -> None:
    memory.locked = True
    with pytest.raises(ConfigError, match="the keyring is locked") as info:
        keystore.get_keys("base")
    assert info.value.hint is not None
    assert "unlock" in info.value.hint


def test_other_backend_failures_become_one_line_errors(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(service: str, username: str, password: str) -> None:
        raise RuntimeError("D-Bus went away\nsecond line")

    monkeypatch.setattr(memory, "set_password", broken)
    with pytest.raises(ConfigError) as info:
        keystore.set_secret("keys:x", "value")
    assert info.value.message == "cannot write to the keyring: RuntimeError: D-Bus went away"


@pytest.mark.parametrize("key_id", [BASE_KEY_ID, "ASIAIOSFODNN7EXAMPLE", f"  {BASE_KEY_ID}\n"])
def test_key_ids_of_both_kinds_are_accepted(key_id: str) -> None:
    assert keystore.check_key_id(key_id) == key_id.strip()


@pytest.mark.parametrize(
    "key_id", ["", "AKIA", "akiaiosfodnn7example", "AKIDIOSFODNN7EXAMPLE", BASE_KEY_ID + "X", BASE_SECRET]
)
def test_malformed_key_ids_are_refused_without_repeating_them(key_id: str) -> None:
    with pytest.raises(ConfigError) as info:
        keystore.check_key_id(key_id)
    # A secret pasted into the wrong prompt must not end up on stderr.
    assert info.value.message == "that is not an access key id"


@pytest.mark.parametrize("secret", ["short", BASE_SECRET + "x" * 20, BASE_SECRET[:-1] + "!", "x" * 35])
def test_malformed_secrets_are_refused_without_echoing_them(secret: str) -> None:
    with pytest.raises(ConfigError) as info:
        keystore.check_secret(secret)
    assert secret not in f"{info.value.message} {info.value.hint}"


def test_access_keys_never_show_the_secret_in_repr() -> None:
    assert BASE_SECRET not in repr(keystore.AccessKeys(BASE_KEY_ID, BASE_SECRET))
