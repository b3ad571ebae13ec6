"""A throw-away PKI for the Roles Anywhere tests: a trust-anchor CA, intermediates, leaves for
RSA 2048/4096 and EC P-256/P-384 keys, written in every format users hold them in.

Keys are generated once per test session (RSA 4096 takes a while) and reused; certificates are
cheap and made per test as needed.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support import leaks

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KEY_KINDS = ("rsa2048", "rsa4096", "p256", "p384")
PASSPHRASE = "correct horse battery staple"


def key(kind: str, index: int = 0) -> PrivateKey:
    """A key of ``kind``; ``index`` gives distinct keys of one kind (a 'wrong key'). Made once per
    session: ``key("p256")`` and ``key("p256", 0)`` are the same key."""
    return _key(kind, index)


@functools.cache
def _key(kind: str, index: int) -> PrivateKey:
    del index  # part of the cache key only
    made: PrivateKey
    if kind.startswith("rsa"):
        made = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    else:
        curve = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}[kind]
        made = ec.generate_private_key(curve)
    leaks.remember_pem(
        made.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return made


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "credproc tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class Ca:
    name: str
    key: PrivateKey
    cert: x509.Certificate
    serials: list[int] = field(default_factory=list)

    @classmethod
    def root(cls, name: str = "credproc test root CA", kind: str = "p256", index: int = 0) -> Ca:
        k = key(kind, 100 + index)
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
            .sign(k, hashes.SHA256())
        )
        return cls(name, k, cert)

    def _builder(
        self, subject: str, public_key: CertificatePublicKeyTypes, days: tuple[float, float]
    ) -> x509.CertificateBuilder:
        now = _now()
        serial = x509.random_serial_number()
        self.serials.append(serial)
        return (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(now + timedelta(days=days[0]))
            .not_valid_after(now + timedelta(days=days[1]))
            # Key identifiers: Python 3.13's strict X.509 verification (VERIFY_X509_STRICT) wants them,
            # as every public CA sets them.
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )

    def intermediate(self, name: str = "credproc test intermediate CA", kind: str = "p384") -> Ca:
        k = key(kind, 200)
        cert = (
            self._builder(name, k.public_key(), (-1, 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(self.key, hashes.SHA256())
        )
        return Ca(name, k, cert)

    def leaf(
        self,
        public_key: object,
        subject: str = "workload",
        days: tuple[float, float] = (-1, 10),
    ) -> x509.Certificate:
        return (
            self._builder(subject, cast(CertificatePublicKeyTypes, public_key), days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def server(self, public_key: object) -> x509.Certificate:
        """A TLS server certificate for 127.0.0.1 and localhost (the emulator's HTTPS mode)."""
        return (
            self._builder("127.0.0.1", cast(CertificatePublicKeyTypes, public_key), (-1, 10))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_bytes(k: PrivateKey, fmt: str, passphrase: str = PASSPHRASE) -> bytes:
    """``fmt``: pkcs1 (RSA) / sec1 (EC) = traditional PEM, pkcs8, pkcs8-encrypted, pkcs8-der."""
    enc = serialization.Encoding
    none = serialization.NoEncryption()
    if fmt in ("pkcs1", "sec1"):
        return k.private_bytes(enc.PEM, serialization.PrivateFormat.TraditionalOpenSSL, none)
    if fmt == "pkcs8":
        return k.private_bytes(enc.PEM, serialization.PrivateFormat.PKCS8, none)
    if fmt == "pkcs8-der":
        return k.private_bytes(enc.DER, serialization.PrivateFormat.PKCS8, none)
    if fmt == "pkcs8-encrypted":
        return k.private_bytes(
            enc.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
    raise ValueError(fmt)


def p12_bytes(
    k: PrivateKey, cert: x509.Certificate, chain: list[x509.Certificate], password: str | None
) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"workload", k, cert, chain or None, encryption)


def traditional_format(kind: str) -> str:
    return "pkcs1" if kind.startswith("rsa") else "sec1"


@dataclass(frozen=True)
class Files:
    certificate: Path
    private_key: Path | None
    intermediates: Path | None


def write_identity(
    directory: Path,
    k: PrivateKey,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    fmt: str,
    *,
    chain_in: str = "file",
    password: str | None = PASSPHRASE,
) -> Files:
    """Write cert + key in ``fmt`` (a ``key_bytes`` format, ``der-cert`` or ``p12``).

    ``chain_in``: ``file`` (an intermediates bundle), ``p12`` (inside the bundle), ``none``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    inter = None
    if chain and chain_in == "file":
        inter = directory / "chain.pem"
        inter.write_bytes(pem(*chain))
    if fmt == "p12":
        bundle = directory / "identity.p12"
        bundle.write_bytes(p12_bytes(k, cert, chain if chain_in == "p12" else [], password))
        return Files(bundle, None, inter)
    cert_path = directory / "cert.pem"
    if fmt == "der-cert":
        cert_path = directory / "cert.der"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        fmt = "pkcs8"
    else:
        cert_path.write_bytes(pem(cert))
    key_path = directory / ("key.der" if fmt == "pkcs8-der" else "key.pem")
    key_path.write_bytes(key_bytes(k, fmt))
    return Files(cert_path, key_path, inter)
