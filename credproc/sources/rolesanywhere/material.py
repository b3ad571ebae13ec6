"""Certificates and private keys from files, in every format Roles Anywhere users hold them.

Certificates: PEM or DER, or inside a PKCS#12 bundle. Keys: PEM PKCS#1 (RSA), SEC1 (EC), PKCS#8,
encrypted PKCS#8, DER, or PKCS#12 (``.p12``/``.pfx``, with or without a password). Intermediates:
a PEM bundle, or the extra certificates of the PKCS#12 bundle.

A passphrase is asked for only when a file turns out to need one, through ``Passphrases``, so the
caller decides where it comes from (keyring, environment, terminal) and how often to retry.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    load_der_private_key,
    load_pem_private_key,
    pkcs12,
)

from credproc.errors import ConfigError
from credproc.sources.rolesanywhere.files import read_file

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PKCS12_SUFFIXES = (".p12", ".pfx")

# Called with (file path, attempt number from 0); returns a passphrase or raises: ConfigError when a
# stored passphrase proved wrong, NeedsHumanError when no one can be asked.
PassphraseSource = Callable[[str, int], str]
# A backstop only: the PassphraseSource decides when to give up (by raising).
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Material:
    """What signing needs: the leaf certificate, its chain (leaf's issuer first) and the key."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: PrivateKey = field(repr=False)


def is_pkcs12(path: str, data: bytes | None = None) -> bool:
    if path.lower().endswith(PKCS12_SUFFIXES):
        return True
    # A DER SEQUENCE whose first element is INTEGER 3 (the PFX version) is PKCS#12 whatever its name.
    blob = data if data is not None else b""
    return len(blob) > 8 and blob[0] == 0x30 and b"\x02\x01\x03" in blob[1:8]


def load_certificates(data: bytes, path: str, what: str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one in a DER file."""
    if b"-----BEGIN" in data:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise ConfigError(f"{what} file {path} holds no readable PEM certificate") from None
        return certs
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise ConfigError(f"{what} file {path} is neither a PEM nor a DER certificate") from None


def _check_key_type(key: object, path: str) -> PrivateKey:
    if isinstance(key, rsa.RSAPrivateKey):
        if not 2048 <= key.key_size <= 4096:
            raise ConfigError(
                f"the RSA key in {path} has {key.key_size} bits; Roles Anywhere takes 2048-4096"
            )
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, (ec.SECP256R1, ec.SECP384R1)):
            raise ConfigError(
                f"the EC key in {path} is on {key.curve.name}; Roles Anywhere takes P-256 or P-384"
            )
        return key
    raise ConfigError(f"the key in {path} is neither RSA nor EC; Roles Anywhere takes RSA or EC P-256/P-384")


def _load_key_bytes(data: bytes, password: bytes | None) -> object:
    """Raises TypeError when a password is needed, ValueError when it is wrong or the data bad."""
    # OpenSSL's RSA consistency check costs ~0.4 s for a 4096-bit key on every cold run. It guards
    # against keys crafted by an attacker; this is the user's own key, whose public half is checked
    # against the certificate next, and a broken one only yields a signature AWS refuses.
    if b"-----BEGIN" in data:
        return load_pem_private_key(data, password, unsafe_skip_rsa_key_validation=True)
    return load_der_private_key(data, password, unsafe_skip_rsa_key_validation=True)


def load_key(data: bytes, path: str, ask: PassphraseSource) -> PrivateKey:
    try:
        key = _load_key_bytes(data, None)
    except TypeError:
        key = None  # encrypted: ask below
    except ValueError:
        raise ConfigError(
            f"private key file {path} is not a readable PEM or DER private key",
            "expected PKCS#1, SEC1 or PKCS#8 (optionally encrypted), or a .p12/.pfx bundle",
        ) from None
    except Exception as exc:  # UnsupportedAlgorithm for exotic ciphers
        raise ConfigError(f"private key file {path} cannot be read: {type(exc).__name__}") from None
    attempt = 0
    while key is None and attempt < MAX_ATTEMPTS:
        password = ask(path, attempt).encode()
        attempt += 1
        try:
            key = _load_key_bytes(data, password)
        except ValueError:
            continue
    if key is None:
        raise ConfigError(f"wrong passphrase for private key file {path}")
    return _check_key_type(key, path)


def _pkcs12_passwords(path: str, ask: PassphraseSource) -> Iterator[bytes | None]:
    # No password and the empty password are both common for PKCS#12; only then ask.
    yield None
    yield b""
    for attempt in range(MAX_ATTEMPTS):
        yield ask(path, attempt).encode()


def load_pkcs12(data: bytes, path: str, ask: PassphraseSource) -> Material:
    for password in _pkcs12_passwords(path, ask):
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except ValueError:
            continue  # a wrong password and a damaged file look alike
        except Exception as exc:
            raise ConfigError(f"PKCS#12 file {path} cannot be read: {type(exc).__name__}") from None
        if key is None or cert is None:
            raise ConfigError(f"PKCS#12 file {path} must hold both a private key and its certificate")
        return Material(cert, tuple(extra), _check_key_type(key, path))
    raise ConfigError(f"wrong password for PKCS#12 file {path}, or the file is damaged")


def load(
    certificate: str,
    private_key: str | None,
    intermediates: str | None,
    ask: PassphraseSource,
) -> Material:
    """Read the certificate, key and chain named by the user.

    With a PKCS#12 certificate file, the key (and chain) come from it and ``private_key`` may be
    omitted; aws_signing_helper's ``--cert-selector``-free usage passes the .p12 as --certificate.
    """
    cert_data = read_file(certificate, "certificate")
    if is_pkcs12(certificate, cert_data):
        material = load_pkcs12(cert_data, certificate, ask)
        if private_key and os.path.abspath(private_key) != os.path.abspath(certificate):
            raise ConfigError(
                f"{certificate} is a PKCS#12 bundle holding its own key; do not also give a private key"
            )
    else:
        certs = load_certificates(cert_data, certificate, "certificate")
        if not private_key:
            raise ConfigError(
                "Roles Anywhere needs a private key with a PEM or DER certificate",
                "set rolesanywhere_private_key (or --private-key), or use a .p12/.pfx bundle",
            )
        key_data = read_file(private_key, "private key")
        key = load_pkcs12(key_data, private_key, ask).key if is_pkcs12(private_key, key_data) \
            else load_key(key_data, private_key, ask)
        # A PEM certificate file may carry its chain after the leaf, as many CAs deliver it.
        material = Material(certs[0], tuple(certs[1:]), key)
    if intermediates:
        chain = load_certificates(read_file(intermediates, "intermediates"), intermediates, "intermediates")
        material = Material(material.certificate, tuple(chain), material.key)
    return material
