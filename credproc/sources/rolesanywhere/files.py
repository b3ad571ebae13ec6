"""Reading the user's certificate and key files with errors that name the file. Light on imports:
the source reads the certificate to compute its cache identity without loading ``cryptography``."""

from __future__ import annotations

from credproc import smallfile
from credproc.errors import ConfigError


def read_file(path: str, what: str) -> bytes:
    """A certificate, key or bundle: a regular file of at most 1 MiB (a FIFO, a device or a folder
    is refused at once, never waited on or read without end)."""
    try:
        return smallfile.read(path, smallfile.TOKEN_LIMIT)
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path} does not exist") from None
    except smallfile.NotASmallFile as exc:
        raise ConfigError(f"{what} file {path} cannot be used: {exc.strerror}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from None
