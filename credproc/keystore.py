"""Secrets in the OS keyring, one schema for every kind (the keyring issue extends this module).

Service name ``credproc``; the username says what the secret is:
- ``keys:<profile>``        JSON ``{"aws_access_key_id": ..., "aws_secret_access_key": ...}``
- ``passphrase:<name>``     a private-key passphrase; ``<name>`` is a profile name or the key
                            file's absolute path (Roles Anywhere looks up both, in that order)

``keyring`` is imported only here and only when a secret is needed: never on the cache-hit path.
"""

from __future__ import annotations

from typing import Any

SERVICE = "credproc"


def _keyring() -> Any:
    import keyring

    return keyring


def get_secret(username: str) -> str | None:
    value = _keyring().get_password(SERVICE, username)
    return value if isinstance(value, str) else None


def set_secret(username: str, value: str) -> None:
    _keyring().set_password(SERVICE, username, value)


def delete_secret(username: str) -> None:
    _keyring().delete_password(SERVICE, username)


def get_passphrase(name: str) -> str | None:
    return get_secret(f"passphrase:{name}")
