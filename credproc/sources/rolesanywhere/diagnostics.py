"""aws_signing_helper's diagnostic commands: ``read-certificate-data`` and ``sign-string``.

Output formats are the helper's (v1.4.0, cmd/read_certificate_data.go and cmd/sign_string.go):
compact JSON without a trailing newline; the fixed test string; hex, JSON-string or raw signatures.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from credproc.errors import ConfigError
from credproc.sources.rolesanywhere import material as material_rules
from credproc.sources.rolesanywhere.files import read_file

SIGN_STRING_TEST = b"AWS Roles Anywhere Credential Helper Signing Test"
SIGN_STRING_TEST_VERSION = 1
DIGESTS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
FORMATS = ("json", "text", "bin")


def certificate_data(cert: x509.Certificate) -> str:
    """The helper's CertificateData JSON (keyType, certificateData, serialNumber, supportedAlgorithms).

    ML-DSA (which v1.4.0 cannot read) is shown as v1.8.0 shows it: keyType and the one algorithm
    ``ML-DSA-44|65|87``."""
    public = cert.public_key()
    der = cert.public_bytes(serialization.Encoding.DER)
    if isinstance(public, ec.EllipticCurvePublicKey):
        kind, algorithms = "EC", ["ECSHA256", "ECSHA384", "ECSHA512"]
    elif isinstance(public, rsa.RSAPublicKey):
        kind, algorithms = "RSA", ["RSASHA256", "RSASHA384", "RSASHA512"]
    else:
        variant = material_rules.mldsa_variant(der)
        kind, algorithms = (variant, [variant]) if variant else ("", ["SHA256", "SHA384", "SHA512"])
    return json.dumps(
        {
            "keyType": kind,
            "certificateData": base64.b64encode(der).decode("ascii"),
            "serialNumber": str(cert.serial_number),
            "supportedAlgorithms": algorithms,
        },
        separators=(",", ":"),
    )


def read_certificate(path: str) -> x509.Certificate:
    """The first certificate of the file (a combo file works: only the certificate is read)."""
    data = read_file(path, "certificate")
    return material_rules.load_certificates(data, path, "certificate")[0]


def public_key_bytes(public: object) -> bytes:
    """What the helper hashes: EC as the uncompressed point, RSA as PKCS#1 RSAPublicKey DER, else nothing."""
    if isinstance(public, ec.EllipticCurvePublicKey):
        return public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if isinstance(public, rsa.RSAPublicKey):
        return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return b""


def fixed_string(public: object) -> bytes:
    """ "AWS Roles Anywhere Credential Helper Signing Test" || "1" || SHA256("IAM RA" || public key)."""
    raw = public_key_bytes(public)
    suffix = hashlib.sha256(b"IAM RA" + raw).digest() if raw else b""
    return SIGN_STRING_TEST + str(SIGN_STRING_TEST_VERSION).encode() + suffix


def sign_fixed_string(loaded: material_rules.Material, digest: str) -> bytes:
    key = loaded.key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(fixed_string(key.public_key()), padding.PKCS1v15(), DIGESTS[digest]())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(fixed_string(key.public_key()), ec.ECDSA(DIGESTS[digest]()))
    if isinstance(key, material_rules.LOCAL_KEY_TYPES):  # ML-DSA: pure, over the message itself
        return key.sign(fixed_string(None))
    if digest != "SHA256":
        raise ConfigError(f"a token key signs with SHA256 only here; --digest {digest} is not supported yet")
    return key.sign_string(fixed_string(loaded.certificate.public_key()))


def render_signature(signature: bytes, fmt: str) -> bytes:
    if fmt == "bin":
        return signature
    if fmt == "text":
        return signature.hex().encode()
    return json.dumps(signature.hex()).encode()


def check_choice(value: str, allowed: Mapping[str, object] | tuple[str, ...], flag: str) -> str:
    """The helper's enums are case-sensitive."""
    if value not in allowed:
        raise ConfigError(f"{flag} {value!r} is not one of {', '.join(allowed)}")
    return value
