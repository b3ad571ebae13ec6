"""Keyring backends for tests only (the issue's "in-memory keyring backend").

``MemoryKeyring`` serves in-process tests. ``FileKeyring`` lets a credproc started as a real
process (run_credproc, pexpect) share one store with the test: it keeps a JSON file at
``$TEST_KEYRING_FILE``, in the clear, so it exists only here and only for fake keys. The real
Secret Service is exercised by tests/test_keyring_e2e.py. ``FailingKeyring`` is the default of
every test: the developer's own keyring is never reached.
"""

from __future__ import annotations

import json
import os

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, KeyringLocked, PasswordDeleteError

UNSET = (
    "a test reached for a keyring without installing one (tests/support/keyrings.py): use the "
    "`memory` or `test_keyring` fixture"
)


class FailingKeyring(KeyringBackend):
    """What every test gets until it installs a keyring of its own (conftest's hermetic_env, in
    this process and, through PYTHON_KEYRING_BACKEND, in every credproc it starts): a test must
    never read or write the developer's own keyring. Every call fails, naming the fixtures."""

    priority = -10

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError(UNSET)

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError(UNSET)

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringError(UNSET)


class MemoryKeyring(KeyringBackend):
    priority = -10  # never chosen by keyring's auto-detection, only by set_keyring()

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring is unannotated
        self.store: dict[tuple[str, str], str] = {}
        self.locked = False

    def _check(self) -> None:
        if self.locked:
            raise KeyringLocked("Failed to unlock the collection!")

    def get_password(self, service: str, username: str) -> str | None:
        self._check()
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._check()
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._check()
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("No such password!")


class FileKeyring(KeyringBackend):
    priority = -10

    def _load(self) -> dict[str, str]:
        path = os.environ["TEST_KEYRING_FILE"]
        if not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as fh:
            data: dict[str, str] = json.load(fh)
        return data

    def _save(self, data: dict[str, str]) -> None:
        with open(os.environ["TEST_KEYRING_FILE"], "w", encoding="utf-8") as fh:
            json.dump(data, fh)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\0{username}"] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}\0{username}", None) is None:
            raise PasswordDeleteError("No such password!")
        self._save(data)
