"""One place decides what goes to stdout (payloads) and stderr (everything a person reads)."""

from __future__ import annotations

import sys

from credproc.errors import ConfigError
from credproc.safetext import printable

PREFIX = "credproc"


def payload(text: str) -> None:
    """The data channel: credential JSON, env statements, listings a script parses.

    All or nothing: text the output's encoding cannot carry is refused before a byte is written,
    with an error that names the encoding and never the text (it may hold a secret).
    """
    text = text if text.endswith("\n") or not text else text + "\n"
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding, getattr(sys.stdout, "errors", None) or "strict")
    except UnicodeEncodeError:
        raise ConfigError(
            f"the output's encoding ({encoding}) cannot carry what credproc must print",
            "set PYTHONIOENCODING=utf-8 (or PYTHONUTF8=1) for credproc",
        ) from None
    except LookupError:  # an encoding name Python does not know: let the stream decide
        pass
    sys.stdout.write(text)
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
