"""Reading the user's certificate and key files with errors that name the file. Light on imports:
the source reads the certificate to compute its cache identity without loading ``cryptography``."""

from __future__ import annotations

from credproc.errors import ConfigError


def read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} file {path} is a folder, not a file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from None
