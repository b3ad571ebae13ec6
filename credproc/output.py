"""One place decides what goes to stdout (payloads) and stderr (everything a person reads)."""

from __future__ import annotations

import sys

PREFIX = "credproc"


def payload(text: str) -> None:
    """The data channel: credential JSON, env statements, listings a script parses."""
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"{PREFIX}: warning: {message}\n")
    sys.stderr.flush()


def info(message: str) -> None:
    sys.stderr.write(f"{PREFIX}: {message}\n")
    sys.stderr.flush()


def error(message: str, hint: str | None = None) -> None:
    sys.stderr.write(f"{PREFIX}: error: {message}\n")
    if hint:
        sys.stderr.write(f"{PREFIX}: hint: {hint}\n")
    sys.stderr.flush()
