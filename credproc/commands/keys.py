"""``keys add|list|remove``: long-term keys and key passphrases in the OS keyring.

Plain functions: text in, values out. The click layer decides where the text comes from (a hidden
prompt on the terminal, or stdin when it is not one) and prints the results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from credproc import keystore
from credproc.cache import Cache, CachedItem
from credproc.config import AwsConfig, get_str
from credproc.errors import ConfigError, NeedsHumanError

MAX_INPUT = 64 * 1024  # stdin is read whole; nothing legitimate is this long


@dataclass(frozen=True)
class Row:
    kind: str  # "keys" or "passphrase"
    name: str
    key_id_prefix: str  # "" for passphrases


def key_id_prefix(key_id: str) -> str:
    """Enough to tell keys apart (AWS's console shows as much), never the whole id."""
    return key_id[:8] + "…"


def parse_keys_input(text: str) -> keystore.AccessKeys:
    """Keys piped on stdin: the access key id, then the secret, on their own lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise NeedsHumanError(
            "no keys on stdin and no terminal to ask on",
            "pipe the access key id and the secret access key, one per line",
        )
    if len(lines) != 2:
        raise ConfigError(
            f"expected 2 lines on stdin (access key id, secret access key), got {len(lines)}"
        )
    return keystore.AccessKeys(keystore.check_key_id(lines[0]), keystore.check_secret(lines[1]))


def parse_passphrase_input(text: str) -> str:
    """A passphrase piped on stdin: the first line, exactly (spaces are part of it)."""
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first:
        raise NeedsHumanError(
            "no passphrase on stdin and no terminal to ask on", "pipe the passphrase as one line"
        )
    return first


def passphrase_name(name: str, environ: Mapping[str, str]) -> str:
    """A profile name as given; a key file path made absolute, as Roles Anywhere looks it up."""
    import os

    from credproc.paths import expand_user

    if name.startswith(("~", ".")) or "/" in name or os.sep in name:
        return os.path.abspath(expand_user(name, environ))
    return name


def add_keys(name: str, keys: keystore.AccessKeys) -> None:
    keystore.store(keystore.KEYS, name, keys.to_json())


def add_passphrase(name: str, passphrase: str) -> None:
    keystore.store(keystore.PASSPHRASE, name, passphrase)


def remove(kind: str, name: str) -> bool:
    return keystore.remove(kind, name)


def rows() -> list[Row]:
    index = keystore.read_index()
    found = []
    for name in index[keystore.KEYS]:
        keys = keystore.get_keys(name)
        if keys is not None:  # removed behind credproc's back: not listed
            found.append(Row(keystore.KEYS, name, key_id_prefix(keys.access_key_id)))
    for name in index[keystore.PASSPHRASE]:
        if keystore.get_passphrase(name) is not None:
            found.append(Row(keystore.PASSPHRASE, name, ""))
    return found


def backend_label() -> str:
    return keystore.backend_name(keystore.backend())


def dependents(config: AwsConfig, name: str, environ: Mapping[str, str]) -> set[str]:
    """``name`` and every profile whose chain reaches it (source_profile, or credential_process
    lines that call credproc), so cached answers built on rotated keys can be dropped."""
    from credproc.sources.process import credproc_target, split_command

    edges: dict[str, str] = {}
    for profile, section in config.profiles.items():
        try:
            parent = get_str(section, "source_profile")
            command = get_str(section, "credential_process")
            if not parent and command:
                parent = credproc_target(split_command(command), environ)
        except ConfigError:
            continue
        if parent and parent != profile:
            edges[profile] = parent
    found = {name}
    grew = True
    while grew:
        grew = False
        for profile, parent in edges.items():
            if parent in found and profile not in found:
                found.add(profile)
                grew = True
    return found


def clear_cache(cache: Cache, profiles: set[str]) -> int:
    def built_on(item: CachedItem) -> bool:
        return item.meta.profile in profiles

    return cache.clear(built_on)
