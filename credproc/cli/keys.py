"""``credproc keys add|list|remove NAME``: secrets in the OS keyring, never on disk in plaintext."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict

import click

from credproc import config, keystore, output
from credproc.cache import Cache
from credproc.cli.main import cli
from credproc.commands import keys as keys_cmd
from credproc.errors import ConfigError
from credproc.terminal import Terminal, is_stdin_terminal

FLAG_HELP = "A private-key passphrase (Roles Anywhere) instead of access keys."


@cli.group("keys")
def keys_group() -> None:
    """Long-term IAM keys and key passphrases in the OS keyring.

    A profile with no keys in ~/.aws finds them here under its own name (as aws-vault). The
    keyring backend is keyring's choice (PYTHON_KEYRING_BACKEND, keyringrc.cfg, else the best
    installed); a missing, disabled or plaintext backend is refused.
    """


def _read_stdin() -> str:
    return sys.stdin.read(keys_cmd.MAX_INPUT)


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
        profiles = keys_cmd.dependents(aws_config, name, environ)
    except ConfigError:
        profiles = {name}
    else:
        if check_profile and name not in aws_config.profiles:
            output.info(f"note: add a [profile {name}] section to {aws_config.config_file} to use these keys")
    removed = keys_cmd.clear_cache(cache, profiles)
    if removed:
        output.info(f"removed {removed} cached credential{'s' if removed != 1 else ''} built on {name!r}")


@keys_group.command("add")
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
    label = keys_cmd.backend_label()  # refuse a bad keyring before asking for anything
    if passphrase:
        name = keys_cmd.passphrase_name(name, os.environ)
        value = _prompt_passphrase(name) if from_terminal else keys_cmd.parse_passphrase_input(_read_stdin())
        keys_cmd.add_passphrase(name, value)
        output.info(f"stored the passphrase {name!r} in {label}")
    else:
        keys = _prompt_keys(name) if from_terminal else keys_cmd.parse_keys_input(_read_stdin())
        keys_cmd.add_keys(name, keys)
        output.info(f"stored keys {keys_cmd.key_id_prefix(keys.access_key_id)} for {name!r} in {label}")
    _forget_cached(name, check_profile=not passphrase)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_cmd(as_json: bool) -> None:
    """List stored names, the backend and key id prefixes (never a secret)."""
    label = keys_cmd.backend_label()
    rows = keys_cmd.rows()
    if as_json:
        output.payload("".join(json.dumps({**asdict(r), "backend": label}) + "\n" for r in rows))
        return
    output.info(f"keyring backend: {label}")
    if not rows:
        output.info("nothing stored; add keys with `credproc keys add NAME`")
        return
    lines = [f"{'KIND':<11} {'NAME':<32} KEY ID"]
    lines += [f"{r.kind:<11} {r.name:<32} {r.key_id_prefix}" for r in rows]
    output.payload("\n".join(lines))


@keys_group.command("remove")
@click.argument("name")
@click.option("--passphrase", is_flag=True, help=FLAG_HELP)
def remove_cmd(name: str, passphrase: bool) -> None:
    """Remove the keys (or passphrase) stored under NAME."""
    kind = keystore.PASSPHRASE if passphrase else keystore.KEYS
    if passphrase:
        name = keys_cmd.passphrase_name(name, os.environ)
    if not keys_cmd.remove(kind, name):
        what = "passphrase" if passphrase else "keys"
        raise ConfigError(f"no {what} named {name!r} in the keyring", "see `credproc keys list`")
    output.info(f"removed the {'passphrase' if passphrase else 'keys'} {name!r}")
    _forget_cached(name)
