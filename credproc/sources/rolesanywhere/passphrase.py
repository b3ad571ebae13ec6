"""Where a private key's passphrase comes from, in order: the OS keyring under the profile's name,
then under the key file's absolute path; the environment variable ``PASSPHRASE_ENV``; a prompt on
the controlling terminal (three tries). With no terminal, a run that still needs one fails fast:
exit 4 when nothing was stored, exit 1 when what was stored is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from credproc.errors import ConfigError, NeedsHumanError
from credproc.terminal import Terminal

PASSPHRASE_ENV = "CREDPROC_PRIVATE_KEY_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
PROMPT_TRIES = 3


def _keyring_lookup(name: str) -> str | None:
    from credproc import keystore

    try:
        return keystore.get_passphrase(name)
    except Exception:  # no backend, a locked or broken one: the keyring is optional here
        return None


@dataclass
class Passphrases:
    """A ``material.PassphraseSource``: called once per attempt, for one file at a time. Each stored
    passphrase is tried once; being called again means the previous answer was wrong."""

    environ: Mapping[str, str]
    terminal: Terminal
    profile: str | None = None
    lookup: Callable[[str], str | None] = _keyring_lookup
    _used: list[str] = field(default_factory=list)  # where the answers given so far came from
    _next: int = 0
    _prompts: int = 0

    def _candidates(self, path: str) -> list[tuple[str, str | None]]:
        """(where, keyring name); a None name stands for the environment variable."""
        names = [self.profile] if self.profile else []
        names.append(os.path.abspath(path))
        found: list[tuple[str, str | None]] = [(f"keyring entry passphrase:{n}", n) for n in names]
        return [*found, (PASSPHRASE_ENV, None)]

    def __call__(self, path: str, attempt: int) -> str:
        if attempt == 0:
            self._used, self._next, self._prompts = [], 0, 0
        candidates = self._candidates(path)
        while self._next < len(candidates):
            origin, name = candidates[self._next]
            self._next += 1
            value = self.lookup(name) if name is not None else self.environ.get(PASSPHRASE_ENV)
            if value:
                self._used.append(origin)
                return value
        return self._prompt(path)

    def _prompt(self, path: str) -> str:
        if self._prompts >= PROMPT_TRIES:
            raise ConfigError(f"wrong passphrase for private key file {path}")
        if not self.terminal.available():
            if self._used:
                raise ConfigError(
                    f"wrong passphrase for private key file {path} (from {', '.join(self._used)})",
                    f"store the right one in the keyring or in {PASSPHRASE_ENV}",
                )
            raise NeedsHumanError(
                f"the private key file {path} is encrypted and there is no terminal to ask for "
                "its passphrase",
                f"store it in the keyring as passphrase:{self.profile or os.path.abspath(path)}, "
                f"or set {PASSPHRASE_ENV}",
            )
        self._prompts += 1
        again = " (wrong, try again)" if self._prompts > 1 or self._used else ""
        return self.terminal.ask(
            f"Passphrase for {path}{again}: ",
            f"the private key file {path} needs a passphrase",
            secret=True,
        )
