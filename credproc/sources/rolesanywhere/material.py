"""Certificates and private keys from files, in every format Roles Anywhere users hold them.

Certificates: PEM or DER, or inside a PKCS#12 bundle. Keys: PEM PKCS#1 (RSA), SEC1 (EC), PKCS#8,
encrypted PKCS#8, DER, or PKCS#12 (``.p12``/``.pfx``, with or without a password); RSA, EC P-256/P-384
and ML-DSA-44/65/87. A "combo" PEM (certificate and key in one file, as aws_signing_helper's
``*-combo.pem``) may be given as the certificate alone. Intermediates: a PEM bundle, or the extra
certificates of the PKCS#12 bundle.

A key that lives in a device (a PKCS#11 token, a TPM) is a ``TokenKey``: it signs where it lives.
References to such keys (``pkcs11:`` URIs, TPM ``handle:0x...`` and ``TSS2 PRIVATE KEY`` files) are
recognised here, so a message says what the file or value really is.

A passphrase is asked for only when a file turns out to need one, through ``Passphrases``, so the
caller decides where it comes from (keyring, environment, terminal) and how often to retry.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, rsa
from cryptography.hazmat.primitives.serialization import (
    load_der_private_key,
    load_pem_private_key,
    pkcs12,
)

from credproc.errors import ConfigError
from credproc.sources.rolesanywhere.files import read_file

MLDSAPrivateKey = mldsa.MLDSA44PrivateKey | mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | MLDSAPrivateKey
LOCAL_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    mldsa.MLDSA44PrivateKey,
    mldsa.MLDSA65PrivateKey,
    mldsa.MLDSA87PrivateKey,
)
PKCS12_SUFFIXES = (".p12", ".pfx")
PKCS11_PREFIX = "pkcs11:"
TPM_HANDLE_PREFIX = "handle:"
TPM_PEM_LABEL = "TSS2 PRIVATE KEY"
# Below this Go (and so aws_signing_helper) refuses RSA; between it and 2048 the helper signs and the
# service decides, and so does credproc, with a warning.
RSA_MIN_BITS, RSA_SERVICE_BITS = 1024, (2048, 4096)
# DER of the ML-DSA algorithm OIDs (FIPS 204; 2.16.840.1.101.3.4.3.17-19), to name a key or
# certificate the installed cryptography cannot read.
_MLDSA_OIDS = {
    bytes.fromhex("0609608648016503040311"): "ML-DSA-44",
    bytes.fromhex("0609608648016503040312"): "ML-DSA-65",
    bytes.fromhex("0609608648016503040313"): "ML-DSA-87",
}
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----\r?\n.*?-----END \1-----\r?\n?", re.DOTALL)
Warn = Callable[[str], None]


@runtime_checkable
class TokenKey(Protocol):
    """A private key inside a device: it signs there, and never leaves it.

    ``algorithm`` is the Roles Anywhere algorithm name (``AWS4-X509-RSA-SHA256``...);
    ``sign_string`` signs the string to sign as that algorithm prescribes (hashing included).
    """

    algorithm: str

    def sign_string(self, message: bytes) -> bytes: ...


# Opens a TPM key: (handle:0x... or file path, the TSS2 PRIVATE KEY block or None, its certificate).
TpmOpen = Callable[[str, bytes | None, x509.Certificate], TokenKey]
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
    key: PrivateKey | TokenKey = field(repr=False)


def _ignore(message: str) -> None:
    del message


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """(label, whole block) for every PEM block, in file order."""
    return [(m.group(1).decode("ascii"), m.group(0)) for m in _PEM_BLOCK.finditer(data)]


def _der_of(data: bytes) -> bytes:
    """The DER inside the first PEM block (or the data itself), for sniffing algorithm OIDs."""
    blocks = pem_blocks(data)
    if not blocks:
        return data
    body = b"".join(line for line in blocks[0][1].splitlines()[1:-1] if b":" not in line)
    try:
        return base64.b64decode(body)
    except ValueError:
        return b""


def mldsa_variant(data: bytes) -> str | None:
    """ "ML-DSA-65"... when a key or certificate names an ML-DSA algorithm."""
    der = _der_of(data)
    return next((name for oid, name in _MLDSA_OIDS.items() if oid in der), None)


def tpm_key_message(what: str, value: str) -> ConfigError:
    if what.startswith("certificate"):
        return ConfigError(
            f"{what} {value} is a TPM key (a TSS2 PRIVATE KEY file), not a certificate",
            "pass it as --private-key (rolesanywhere_private_key) and the certificate as --certificate",
        )
    return ConfigError(
        f"{what} {value} is a TPM key (a TSS2 PRIVATE KEY file or a handle:0x... reference): "
        "this command cannot use TPM keys",
        "credential-process, serve, update and the profile keys take them",
    )


def pkcs11_lib_message(what: str, value: str) -> ConfigError:
    return ConfigError(
        f"{what} {value} is a PKCS#11 URI: pass --pkcs11-lib",
        "name the token's PKCS#11 module, e.g. --pkcs11-lib /usr/lib/softhsm/libsofthsm2.so",
    )


def is_pkcs12(path: str, data: bytes | None = None) -> bool:
    if path.lower().endswith(PKCS12_SUFFIXES):
        return True
    # A DER SEQUENCE whose first element is INTEGER 3 (the PFX version) is PKCS#12 whatever its name.
    blob = data if data is not None else b""
    return len(blob) > 8 and blob[0] == 0x30 and b"\x02\x01\x03" in blob[1:8]


def load_certificates(data: bytes, path: str, what: str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one in a DER file."""
    if b"-----BEGIN" in data:
        blocks = pem_blocks(data)
        cert_blocks = [block for label, block in blocks if label in ("CERTIFICATE", "X509 CERTIFICATE")]
        if not cert_blocks:
            _not_a_certificate(blocks, path, what)
        try:
            return [x509.load_pem_x509_certificate(block) for block in cert_blocks]
        except ValueError:
            raise ConfigError(f"{what} file {path} holds no readable PEM certificate") from None
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise ConfigError(f"{what} file {path} is neither a PEM nor a DER certificate") from None


def _not_a_certificate(blocks: list[tuple[str, bytes]], path: str, what: str) -> None:
    labels = [label for label, _ in blocks]
    if TPM_PEM_LABEL in labels:
        raise tpm_key_message(f"{what} file", path)
    if any(label.endswith("PRIVATE KEY") for label in labels):
        raise ConfigError(
            f"{what} file {path} is a private key, not a certificate",
            "pass it as --private-key (rolesanywhere_private_key) and the certificate as --certificate",
        )
    raise ConfigError(f"{what} file {path} holds no readable PEM certificate")


def _check_key_type(key: object, path: str, warn: Warn = _ignore) -> PrivateKey:
    if isinstance(key, rsa.RSAPrivateKey):
        low, high = RSA_SERVICE_BITS
        if key.key_size < RSA_MIN_BITS:
            raise ConfigError(
                f"the RSA key in {path} has {key.key_size} bits; too small to sign with "
                f"(Roles Anywhere takes {low}-{high})"
            )
        if not low <= key.key_size <= high:
            # aws_signing_helper signs with any RSA key and lets the service decide: so does credproc.
            warn(
                f"the RSA key in {path} has {key.key_size} bits; Roles Anywhere documents {low}-{high} "
                "and may refuse it"
            )
        return key
    if isinstance(key, LOCAL_KEY_TYPES[2:]):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, (ec.SECP256R1, ec.SECP384R1)):
            raise ConfigError(
                f"the EC key in {path} is on {key.curve.name}; Roles Anywhere takes P-256 or P-384"
            )
        return key
    raise ConfigError(
        f"the key in {path} is neither RSA, EC nor ML-DSA; Roles Anywhere takes RSA, EC P-256/P-384 or ML-DSA"
    )


def mldsa_readable() -> bool:
    """Whether this build of cryptography reads ML-DSA keys (its OpenSSL is 3.5 or later)."""
    from cryptography.hazmat.backends.openssl.backend import backend

    return bool(backend.mldsa_supported())


def _unreadable_mldsa(data: bytes, path: str) -> ConfigError | None:
    """The error for an ML-DSA key this build cannot read; None when the key is not ML-DSA or the
    build reads ML-DSA (then a failure is the file's own fault, said by the caller)."""
    variant = mldsa_variant(data)
    if variant is None or mldsa_readable():
        return None
    return ConfigError(
        f"private key file {path} is an {variant} key, which this build of the cryptography package "
        "cannot read",
        "install cryptography 48 or later built with OpenSSL 3.5 or later (the PyPI wheels are)",
    )


def _unsupported(data: bytes, path: str, exc: Exception) -> ConfigError:
    return _unreadable_mldsa(data, path) or ConfigError(
        f"private key file {path} cannot be read: {type(exc).__name__}"
    )


def _load_key_bytes(data: bytes, password: bytes | None) -> object:
    """Raises TypeError when a password is needed, ValueError when it is wrong or the data bad."""
    # OpenSSL's RSA consistency check costs ~0.4 s for a 4096-bit key on every cold run. It guards
    # against keys crafted by an attacker; this is the user's own key, whose public half is checked
    # against the certificate next, and a broken one only yields a signature AWS refuses.
    if b"-----BEGIN" in data:
        return load_pem_private_key(data, password, unsafe_skip_rsa_key_validation=True)
    return load_der_private_key(data, password, unsafe_skip_rsa_key_validation=True)


def _key_block(data: bytes, path: str) -> bytes:
    """The private key of a PEM file (which may also hold certificates: a combo file)."""
    if b"-----BEGIN" not in data:
        return data
    blocks = pem_blocks(data)
    labels = [label for label, _ in blocks]
    if TPM_PEM_LABEL in labels:
        raise tpm_key_message("private key file", path)
    keys = [block for label, block in blocks if label.endswith("PRIVATE KEY")]
    if keys:
        return keys[0]
    if any(label in ("CERTIFICATE", "X509 CERTIFICATE") for label in labels):
        raise ConfigError(
            f"private key file {path} holds a certificate but no private key",
            "pass the key file (or a file holding both, or a .p12/.pfx bundle)",
        )
    return data


def load_key(data: bytes, path: str, ask: PassphraseSource, warn: Warn = _ignore) -> PrivateKey:
    data = _key_block(data, path)
    try:
        key = _load_key_bytes(data, None)
    except TypeError:
        key = None  # encrypted: ask below
    except UnsupportedAlgorithm as exc:
        raise _unsupported(data, path, exc) from None
    except ValueError:
        raise _unreadable_mldsa(data, path) or ConfigError(
            f"private key file {path} is not a readable PEM or DER private key",
            "expected PKCS#1, SEC1 or PKCS#8 (optionally encrypted), or a .p12/.pfx bundle",
        ) from None
    attempt = 0
    while key is None and attempt < MAX_ATTEMPTS:
        password = ask(path, attempt).encode()
        attempt += 1
        try:
            key = _load_key_bytes(data, password)
        except UnsupportedAlgorithm as exc:
            # The passphrase was right: what it unlocked is a key this cryptography cannot read.
            raise _unsupported(data, path, exc) from None
        except ValueError:
            continue
    if key is None:
        raise ConfigError(f"wrong passphrase for private key file {path}")
    return _check_key_type(key, path, warn)


def _pkcs12_passwords(path: str, ask: PassphraseSource) -> Iterator[bytes | None]:
    # No password and the empty password are both common for PKCS#12; only then ask.
    yield None
    yield b""
    for attempt in range(MAX_ATTEMPTS):
        yield ask(path, attempt).encode()


def load_pkcs12(data: bytes, path: str, ask: PassphraseSource, warn: Warn = _ignore) -> Material:
    for password in _pkcs12_passwords(path, ask):
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except ValueError:
            continue  # a wrong password and a damaged file look alike
        if key is None or cert is None:
            raise ConfigError(f"PKCS#12 file {path} must hold both a private key and its certificate")
        return Material(cert, tuple(extra), _check_key_type(key, path, warn))
    raise ConfigError(f"wrong password for PKCS#12 file {path}, or the file is damaged")


def _is_pkcs11(value: str | None) -> bool:
    return bool(value) and str(value).startswith(PKCS11_PREFIX)


def load(
    certificate: str,
    private_key: str | None,
    intermediates: str | None,
    ask: PassphraseSource,
    *,
    warn: Warn = _ignore,
    token: Callable[[str, str | None, x509.Certificate | None], Material] | None = None,
    tpm: TpmOpen | None = None,
) -> Material:
    """Read the certificate, key and chain named by the user.

    With a PKCS#12 certificate file, the key (and chain) come from it and ``private_key`` may be
    omitted; aws_signing_helper's ``--cert-selector``-free usage passes the .p12 as --certificate.
    A combo PEM (key and certificate in one file) may be passed as the certificate alone.

    ``token(certificate, private_key, file_certificate)`` opens a PKCS#11 token when the certificate
    or the key is a ``pkcs11:`` URI (see ``credproc.sources.rolesanywhere.pkcs11``); without it such a URI is
    refused with a message saying what it is.

    ``tpm(reference, pem, certificate)`` opens a TPM key (``credproc.sources.rolesanywhere.tpm``):
    a ``handle:0x...`` (``pem`` None) or a ``TSS2 PRIVATE KEY`` file (its bytes); without it such
    a key is refused the same way.
    """
    if private_key and private_key.startswith(TPM_HANDLE_PREFIX):
        if tpm is None:
            raise tpm_key_message("private key", private_key)
        return _with_intermediates(_tpm_material(certificate, private_key, None, tpm), intermediates)
    if _is_pkcs11(certificate) or _is_pkcs11(private_key):
        if token is None:
            which = certificate if _is_pkcs11(certificate) else private_key
            raise pkcs11_lib_message("certificate" if which == certificate else "private key", str(which))
        file_cert = None
        if not _is_pkcs11(certificate):
            cert_bytes = read_file(certificate, "certificate")
            file_cert = load_certificates(cert_bytes, certificate, "certificate")[0]
        material = token(certificate, private_key, file_cert)
        return _with_intermediates(material, intermediates)
    cert_data = read_file(certificate, "certificate")
    if is_pkcs12(certificate, cert_data):
        material = load_pkcs12(cert_data, certificate, ask, warn)
        if private_key and os.path.abspath(private_key) != os.path.abspath(certificate):
            raise ConfigError(
                f"{certificate} is a PKCS#12 bundle holding its own key; do not also give a private key"
            )
    else:
        certs = load_certificates(cert_data, certificate, "certificate")
        if not private_key:
            labels = [label for label, _ in pem_blocks(cert_data)]
            if TPM_PEM_LABEL in labels and tpm is None:
                raise tpm_key_message("certificate file", certificate)
            if TPM_PEM_LABEL not in labels and not any(label.endswith("PRIVATE KEY") for label in labels):
                raise ConfigError(
                    "Roles Anywhere needs a private key with a PEM or DER certificate",
                    "set rolesanywhere_private_key (or --private-key), use a .p12/.pfx bundle, or a "
                    "PEM file holding both the certificate and its key",
                )
            private_key = certificate  # a combo file: the key is in the certificate file
        key_data = cert_data if private_key == certificate else read_file(private_key, "private key")
        if tpm is not None and b"-----BEGIN " + TPM_PEM_LABEL.encode() in key_data:
            block = next(b for label, b in pem_blocks(key_data) if label == TPM_PEM_LABEL)
            return _with_intermediates(
                Material(certs[0], tuple(certs[1:]), tpm(private_key, block, certs[0])), intermediates
            )
        key = (
            load_pkcs12(key_data, private_key, ask, warn).key
            if is_pkcs12(private_key, key_data)
            else load_key(key_data, private_key, ask, warn)
        )
        # A PEM certificate file may carry its chain after the leaf, as many CAs deliver it.
        material = Material(certs[0], tuple(certs[1:]), key)
    return _with_intermediates(material, intermediates)


def _tpm_material(certificate: str, reference: str, pem: bytes | None, tpm: TpmOpen) -> Material:
    cert_data = read_file(certificate, "certificate")
    if is_pkcs12(certificate, cert_data):
        raise ConfigError(
            f"{certificate} is a PKCS#12 bundle holding its own key; a TPM key needs a PEM or DER certificate"
        )
    certs = load_certificates(cert_data, certificate, "certificate")
    return Material(certs[0], tuple(certs[1:]), tpm(reference, pem, certs[0]))


def _with_intermediates(material: Material, intermediates: str | None) -> Material:
    if not intermediates:
        return material
    chain = load_certificates(read_file(intermediates, "intermediates"), intermediates, "intermediates")
    return Material(material.certificate, tuple(chain), material.key)
