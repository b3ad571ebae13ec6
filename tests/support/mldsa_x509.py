"""ML-DSA (FIPS 204) certificates for the tests.

cryptography 48 reads ML-DSA keys and certificates and signs with ML-DSA, but its
``CertificateBuilder`` takes no ML-DSA public key, and OpenSSL before 3.5 (this machine's 3.0)
cannot make one. So: build the TBSCertificate with a stand-in EC key, put the ML-DSA
SubjectPublicKeyInfo in its place, and sign the TBS with the issuer's key (ML-DSA for a self-signed
certificate as aws_signing_helper's fixtures have, or the test CA's EC/RSA key). RFC 9881 shapes:
the algorithm identifiers id-ml-dsa-44/65/87 with absent parameters.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support import leaks

VARIANTS: dict[str, type[mldsa.MLDSA44PrivateKey | mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey]] = {
    "mldsa44": mldsa.MLDSA44PrivateKey,
    "mldsa65": mldsa.MLDSA65PrivateKey,
    "mldsa87": mldsa.MLDSA87PrivateKey,
}
OIDS = {
    "mldsa44": "2.16.840.1.101.3.4.3.17",
    "mldsa65": "2.16.840.1.101.3.4.3.18",
    "mldsa87": "2.16.840.1.101.3.4.3.19",
}
MLDSAPrivate = mldsa.MLDSA44PrivateKey | mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey


def generate(kind: str) -> Any:
    key = VARIANTS[kind].generate()
    leaks.remember_pem(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return key


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _header(der: bytes, at: int) -> tuple[int, int]:
    """(offset of the contents, their length) of the TLV at ``at``."""
    first = der[at + 1]
    if first < 0x80:
        return at + 2, first
    count = first & 0x7F
    return at + 2 + count, int.from_bytes(der[at + 2 : at + 2 + count], "big")


def _elements(sequence: bytes) -> list[bytes]:
    start, length = _header(sequence, 0)
    out, at = [], start
    while at < start + length:
        body, size = _header(sequence, at)
        out.append(sequence[at : body + size])
        at = body + size
    return out


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for value in parts[2:]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, body)


def kind_of(key: Any) -> str | None:
    return next((k for k, cls in VARIANTS.items() if isinstance(key, cls)), None)


def certificate(
    public_key: Any,
    subject: x509.Name,
    issuer: x509.Name,
    issuer_key: Any,
    *,
    serial: int | None = None,
    days: tuple[float, float] = (-1, 10),
    ca: bool = False,
) -> x509.Certificate:
    """A certificate for an ML-DSA ``public_key`` signed by ``issuer_key`` (ML-DSA, EC or RSA)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    stand_in = ec.generate_private_key(ec.SECP256R1())
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ski = hashlib.sha1(spki).digest()  # RFC 5280 key identifier method 1
    usage = (
        x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        if ca
        else x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(stand_in.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now + timedelta(days=days[0]))
        .not_valid_after(now + timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier(ski), critical=False)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    placeholder = builder.sign(stand_in, hashes.SHA256())
    tbs = _elements(placeholder.tbs_certificate_bytes)
    kind = kind_of(issuer_key)
    if kind is not None:
        algorithm = _tlv(0x30, _oid(OIDS[kind]))
    elif isinstance(issuer_key, rsa.RSAPrivateKey):
        algorithm = _tlv(0x30, _oid("1.2.840.113549.1.1.11") + b"\x05\x00")  # sha256WithRSAEncryption
    else:
        algorithm = tbs[2]  # ecdsa-with-SHA256, as the stand-in signed
    tbs[2], tbs[6] = algorithm, spki
    tbs_der = _tlv(0x30, b"".join(tbs))
    if kind is not None:
        signature = issuer_key.sign(tbs_der)
    elif isinstance(issuer_key, rsa.RSAPrivateKey):
        signature = issuer_key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = issuer_key.sign(tbs_der, ec.ECDSA(hashes.SHA256()))
    return x509.load_der_x509_certificate(_tlv(0x30, tbs_der + algorithm + _tlv(0x03, b"\x00" + signature)))


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def self_signed(key: Any, common_name: str) -> x509.Certificate:
    subject = name(common_name)
    return certificate(key.public_key(), subject, subject, key, days=(-1, 10000))
