"""``credproc keys add|list|remove NAME``: long-term keys and key passphrases in the OS keyring,
never on disk in plaintext.

Plain functions first: text in, values out. The click commands at the bottom decide where the text
comes from (a hidden prompt on the terminal, or stdin when it is not one) and print the results.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import click

from credproc import config, keystore, output
from credproc.cache import Cache, CachedItem
from credproc.config import AwsConfig, get_str
from credproc.errors import ConfigError, NeedsHumanError
from credproc.terminal import Terminal, is_stdin_terminal

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
        raise ConfigError(f"expected 2 lines on stdin (access key id, secret access key), got {len(lines)}")
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


FLAG_HELP = "A private-key passphrase (Roles Anywhere) instead of access keys."


@click.group("keys")
def command() -> None:
    """Long-term IAM keys and key passphrases in the OS keyring.

    A profile with no keys in ~/.aws finds them here under its own name (as aws-vault). The
    keyring backend is keyring's choice (PYTHON_KEYRING_BACKEND, keyringrc.cfg, else the best
    installed); a missing, disabled or plaintext backend is refused.
    """


def _read_stdin() -> str:
    return sys.stdin.read(MAX_INPUT)


def _prompt_keys(name: str) -> keystore.AccessKeys:
    term = Terminal()
    why = f"keys for {name!r} are needed"
    key_id = keystore.check_key_id(term.ask("Access key ID: ", why))
    secret = keystore.check_secret(term.ask("Secret access key: ", why, secret=True))
    return keystore.AccessKeys(key_id, secret)


def _prompt_passphrase(name: str) -> str:
    term = Terminal()
    why = f"the passphrase for {name!r} is needed"
    first = term.ask("Passphrase: ", why, secret=True)
    if not first:
        raise ConfigError("the passphrase is empty")
    if term.ask("Passphrase again: ", why, secret=True) != first:
        raise ConfigError("the two passphrases differ; nothing stored")
    return first


def _forget_cached(name: str, check_profile: bool = False) -> None:
    """Drop cached credentials built on ``name`` so new (or removed) keys take effect now."""
    environ = dict(os.environ)
    cache = Cache.open(environ, 0, output.warn)
    try:
        aws_config = config.load(environ)
        profiles = dependents(aws_config, name, environ)
    except ConfigError:
        profiles = {name}
    else:
        if check_profile and name not in aws_config.profiles:
            output.info(f"note: add a [profile {name}] section to {aws_config.config_file} to use these keys")
    removed = clear_cache(cache, profiles)
    if removed:
        output.info(f"removed {removed} cached credential{'s' if removed != 1 else ''} built on {name!r}")


@command.command("add")
@click.argument("name")
@click.option("--passphrase", is_flag=True, help=FLAG_HELP)
def add_cmd(name: str, passphrase: bool) -> None:
    """Store keys (or, with --passphrase, a key passphrase) under NAME.

    NAME is a profile name; for --passphrase it may also be a private key file (stored under its
    absolute path, where Roles Anywhere looks second).

    On a terminal it prompts (the secret is not echoed); otherwise it reads stdin: the access key
    id and the secret access key on two lines, or the passphrase on one.
    """
    from_terminal = is_stdin_terminal()
    label = backend_label()  # refuse a bad keyring before asking for anything
    if passphrase:
        name = passphrase_name(name, os.environ)
        value = _prompt_passphrase(name) if from_terminal else parse_passphrase_input(_read_stdin())
        add_passphrase(name, value)
        output.info(f"stored the passphrase {name!r} in {label}")
    else:
        keys = _prompt_keys(name) if from_terminal else parse_keys_input(_read_stdin())
        add_keys(name, keys)
        output.info(f"stored keys {key_id_prefix(keys.access_key_id)} for {name!r} in {label}")
    _forget_cached(name, check_profile=not passphrase)


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_cmd(as_json: bool) -> None:
    """List stored names, the backend and key id prefixes (never a secret)."""
    label = backend_label()
    found = rows()
    if as_json:
        output.payload("".join(json.dumps({**asdict(r), "backend": label}) + "\n" for r in found))
        return
    output.info(f"keyring backend: {label}")
    if not found:
        output.info("nothing stored; add keys with `credproc keys add NAME`")
        return
    lines = [f"{'KIND':<11} {'NAME':<32} KEY ID"]
    lines += [f"{r.kind:<11} {r.name:<32} {r.key_id_prefix}" for r in found]
    output.payload("\n".join(lines))


@command.command("remove")
@click.argument("name")
@click.option("--passphrase", is_flag=True, help=FLAG_HELP)
def remove_cmd(name: str, passphrase: bool) -> None:
    """Remove the keys (or passphrase) stored under NAME."""
    kind = keystore.PASSPHRASE if passphrase else keystore.KEYS
    if passphrase:
        name = passphrase_name(name, os.environ)
    if not remove(kind, name):
        what = "passphrase" if passphrase else "keys"
        raise ConfigError(f"no {what} named {name!r} in the keyring", "see `credproc keys list`")
    output.info(f"removed the {'passphrase' if passphrase else 'keys'} {name!r}")
    _forget_cached(name)
