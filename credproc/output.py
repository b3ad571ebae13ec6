"""One place decides what goes to stdout (payloads) and stderr (everything a person reads)."""

from __future__ import annotations

import sys

from credproc.safetext import printable

PREFIX = "credproc"


def payload(text: str) -> None:
    """The data channel: credential JSON, env statements, listings a script parses."""
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"{PREFIX}: warning: {printable(message)}\n")
    sys.stderr.flush()


def info(message: str) -> None:
    sys.stderr.write(f"{PREFIX}: {printable(message)}\n")
    sys.stderr.flush()


def error(message: str, hint: str | None = None) -> None:
    sys.stderr.write(f"{PREFIX}: error: {printable(message)}\n")
    if hint:
        sys.stderr.write(f"{PREFIX}: hint: {printable(hint)}\n")
    sys.stderr.flush()
