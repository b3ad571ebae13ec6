"""A SoftHSM2 token in a temporary folder, made the way aws_signing_helper's Makefile makes its
test token: ``softhsm2-util --init-token`` (label credential-helper-test, SO PIN 12345678, user PIN
1234), keys imported with ``softhsm2-util --import``, certificates written with ``p11tool``.

SoftHSM reads ``SOFTHSM2_CONF`` once per process, at C_Initialize: one token per test session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

LIBRARIES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
)
LABEL, SO_PIN, PIN = "credential-helper-test", "12345678", "1234"


def library() -> str | None:
    return next((path for path in LIBRARIES if os.path.exists(path)), None)


def missing() -> str | None:
    """Why a token cannot be made here, or None."""
    if library() is None:
        return "libsofthsm2.so (Debian softhsm2)"
    for tool, package in (("softhsm2-util", "softhsm2"), ("p11tool", "gnutls-bin")):
        if shutil.which(tool) is None:
            return f"{tool} (Debian {package})"
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        return "python-pkcs11 (pip install 'credproc[pkcs11]')"
    return None


@dataclass(frozen=True)
class Token:
    directory: Path
    conf: Path
    lib: str
    label: str = LABEL
    pin: str = PIN

    def uri(self, label: str | None = None, pin: bool = True) -> str:
        text = f"pkcs11:token={self.label}" + (f";object={label}" if label else "")
        return text + (f"?pin-value={self.pin}" if pin else "")

    def _run(self, *argv: str) -> None:
        subprocess.run(
            argv,
            check=True,
            capture_output=True,
            timeout=60,
            env={**os.environ, "SOFTHSM2_CONF": str(self.conf)},
        )

    def add_token(self, label: str) -> Token:
        """A second token in the same store (another slot); before the module is first loaded."""
        self._run(
            "softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", PIN
        )
        return replace(self, label=label)

    def add(self, key: Any, cert: x509.Certificate, label: str, object_id: int) -> None:
        """Import ``key`` (it stays in the token) and ``cert`` under one label and CKA_ID."""
        self.add_key(key, label, object_id)
        self.add_certificate(cert, label, object_id)

    def add_key(self, key: Any, label: str, object_id: int) -> None:
        key_file = self.directory / f"{label}-key.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self._run(
            "softhsm2-util",
            "--token",
            self.label,
            "--pin",
            self.pin,
            "--import",
            str(key_file),
            "--label",
            label,
            "--id",
            f"{object_id:02x}",
        )
        key_file.unlink()  # from here on the key exists only inside the token

    def add_certificate(
        self, cert: x509.Certificate, label: str, object_id: int | None, private: bool = False
    ) -> None:
        """``object_id`` None writes the certificate without a CKA_ID; ``private`` ones need a login."""
        cert_file = self.directory / f"{label}-cert.pem"  # labels differ across the tokens
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._run(
            "p11tool",
            "--provider",
            self.lib,
            "--load-certificate",
            str(cert_file),
            "--mark-private" if private else "--no-mark-private",
            "--label",
            label,
            *(["--id", f"{object_id:02x}"] if object_id is not None else []),
            "--set-pin",
            self.pin,
            "--login",
            "--write",
            f"pkcs11:token={self.label}",
        )


def make(directory: Path) -> Token:
    """Initialise an empty token; sets SOFTHSM2_CONF for this process (and its children)."""
    lib = library()
    assert lib is not None
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    token = Token(directory, conf, lib)
    token._run("softhsm2-util", "--init-token", "--free", "--label", LABEL, "--so-pin", SO_PIN, "--pin", PIN)
    return token
