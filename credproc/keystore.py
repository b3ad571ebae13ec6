"""Secrets in the OS keyring, one schema for every kind.

Service name ``credproc``; the username says what the secret is:
- ``keys:<profile>``        JSON ``{"aws_access_key_id": ..., "aws_secret_access_key": ...}``
- ``passphrase:<name>``     a private-key passphrase; ``<name>`` is a profile name or the key
                            file's absolute path (Roles Anywhere looks up both, in that order)
- ``index``                 JSON ``{"keys": [...], "passphrase": [...]}``: the names stored, because
                            keyring has no portable way to enumerate entries (``keys list``). Not secret.

``keyring`` is imported only here and only when a secret is needed: never on the cache-hit path.

Backend policy: credproc uses the backend keyring picks (``PYTHON_KEYRING_BACKEND``, then keyringrc,
then the best one installed) but refuses the ones that would keep secrets in the clear or not at
all (the "fail" and "null" backends, ``keyrings.alt``'s PlaintextKeyring). A chainer is narrowed to
its best acceptable member, so a locked Secret Service can never fall through to a plaintext file.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from credproc.errors import ConfigError

SERVICE = "credproc"
KEYS, PASSPHRASE, INDEX = "keys", "passphrase", "index"
KINDS = (KEYS, PASSPHRASE)

KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
# Secret access keys are 40 base64 characters; allow a little slack, never other characters.
SECRET = re.compile(r"^[A-Za-z0-9/+=]{36,48}$")

FIX_HINT = (
    "run a Secret Service (gnome-keyring, KeePassXC) in your session, or point PYTHON_KEYRING_BACKEND "
    "at an encrypted backend; see `credproc keys --help`"
)
LOCKED_ERRORS = frozenset({"KeyringLocked", "LockedException"})
T = TypeVar("T")

_lock = threading.Lock()  # the Roles Anywhere helper looks passphrases up from several threads
_chosen: list[Any] = []


@dataclass(frozen=True)
class AccessKeys:
    access_key_id: str
    secret_access_key: str = field(repr=False)

    def to_json(self) -> str:
        return json.dumps(
            {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}
        )


def check_key_id(value: str) -> str:
    value = value.strip()
    if not KEY_ID.match(value):
        raise ConfigError(
            "that is not an access key id",
            "an access key id is AKIA or ASIA followed by 16 capital letters or digits",
        )
    return value


def check_secret(value: str) -> str:
    value = value.strip()
    if not SECRET.match(value):
        # Never quote the value: it is (nearly) a secret.
        raise ConfigError(
            f"that is not a secret access key ({len(value)} characters)",
            "a secret access key is 40 characters of letters, digits, '/' and '+'",
        )
    return value


def backend_name(kr: Any) -> str:
    cls = type(kr)
    return f"{cls.__module__}.{cls.__qualname__}"


def _refusal(kr: Any) -> ConfigError | None:
    """Why ``kr`` may not hold credproc's secrets, or None when it may."""
    name = backend_name(kr)
    if name == "keyring.backends.fail.Keyring":
        return ConfigError("no OS keyring is available to keep secrets in", FIX_HINT)
    if name == "keyring.backends.null.Keyring":
        return ConfigError("the keyring is disabled (null backend)", FIX_HINT)
    if "plaintext" in name.lower():
        return ConfigError(
            f"the keyring backend {name} keeps secrets in a plaintext file; credproc refuses it",
            FIX_HINT,
        )
    return None


def _choose(kr: Any) -> Any:
    if backend_name(kr) == "keyring.backends.chainer.ChainerBackend":
        members = [b for b in kr.backends if _refusal(b) is None]
        if not members:
            raise ConfigError("no OS keyring is available to keep secrets in", FIX_HINT)
        return members[0]
    refusal = _refusal(kr)
    if refusal is not None:
        raise refusal
    return kr


def backend() -> Any:
    """The acceptable keyring backend, chosen once per process; ConfigError when there is none."""
    with _lock:
        if not _chosen:
            import keyring

            try:
                kr = keyring.get_keyring()
            except (ImportError, AttributeError) as exc:  # PYTHON_KEYRING_BACKEND names no class
                raise ConfigError(
                    f"the keyring backend cannot be loaded ({type(exc).__name__})",
                    "check PYTHON_KEYRING_BACKEND and your keyringrc.cfg",
                ) from None
            _chosen.append(_choose(kr))
        return _chosen[0]


def forget_backend() -> None:
    """Choose the backend again on next use (tests switch backends within one process)."""
    with _lock:
        _chosen.clear()


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn the keyring library's (and SecretStorage's) exceptions into one clear ConfigError."""
    try:
        yield
    except Exception as exc:
        # keyring's KeyringLocked, or SecretStorage's LockedException for a locked item
        if type(exc).__name__ in LOCKED_ERRORS:
            raise ConfigError(
                f"cannot {action}: the keyring is locked",
                "unlock it (log in to the desktop session, or unlock the 'login' keyring) and run again",
            ) from None
        detail = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise ConfigError(
            f"cannot {action}: {type(exc).__name__}{': ' + detail if detail else ''}", FIX_HINT
        ) from None


def _call(action: str, op: Callable[[Any], T]) -> T:
    kr = backend()
    with _translated(action):
        return op(kr)


def get_secret(username: str) -> str | None:
    value = _call("read the keyring", lambda kr: kr.get_password(SERVICE, username))
    return value if isinstance(value, str) else None


def set_secret(username: str, value: str) -> None:
    _call("write to the keyring", lambda kr: kr.set_password(SERVICE, username, value))


def delete_secret(username: str) -> bool:
    """Delete; False when there was nothing to delete."""
    from keyring.errors import PasswordDeleteError

    def op(kr: Any) -> bool:
        try:
            kr.delete_password(SERVICE, username)
        except PasswordDeleteError:
            return False
        return True

    return _call("delete from the keyring", op)


def get_passphrase(name: str) -> str | None:
    return get_secret(f"{PASSPHRASE}:{name}")


def get_keys(profile: str) -> AccessKeys | None:
    raw = get_secret(f"{KEYS}:{profile}")
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return AccessKeys(str(data["aws_access_key_id"]), str(data["aws_secret_access_key"]))
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"the keyring entry for profile {profile!r} is not credproc's format",
            f"store the keys again with `credproc keys add {profile}`",
        ) from None


# --- the index of stored names (for `keys list`) -------------------------------------------------


def read_index() -> dict[str, list[str]]:
    raw = get_secret(INDEX)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return {kind: sorted({str(n) for n in data.get(kind, [])}) for kind in KINDS}


def _update_index(kind: str, name: str, present: bool) -> None:
    index = read_index()
    names = set(index[kind])
    if present:
        names.add(name)
    else:
        names.discard(name)
    index[kind] = sorted(names)
    set_secret(INDEX, json.dumps(index, sort_keys=True))


def store(kind: str, name: str, value: str) -> None:
    set_secret(f"{kind}:{name}", value)
    _update_index(kind, name, True)


def remove(kind: str, name: str) -> bool:
    existed = delete_secret(f"{kind}:{name}")
    _update_index(kind, name, False)
    return existed
