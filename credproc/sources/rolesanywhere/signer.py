"""The Roles Anywhere request signature, written from AWS's "IAM Roles Anywhere authentication
signing process": SigV4's canonicalisation, with

- the algorithm ``AWS4-X509-RSA-SHA256``, ``AWS4-X509-ECDSA-SHA256`` or ``AWS4-X509-MLDSA`` after
  the key's type (ML-DSA as aws_signing_helper v1.8.0 signs it: the one name for ML-DSA-44/65/87);
- ``X-Amz-X509`` (the leaf, base64 DER) and, with intermediates, ``X-Amz-X509-Chain`` (base64 DER
  of each, comma-separated), both signed;
- the credential scope ``DATE/REGION/rolesanywhere/aws4_request`` prefixed by the certificate's
  serial number in decimal, in place of an access key id;
- the signature: the private key's RSA PKCS#1 v1.5 or ECDSA (DER) signature over SHA-256 of the
  string to sign, or pure ML-DSA (FIPS 204, empty context, no prehash) over the string to sign
  itself, hex-encoded, in place of SigV4's HMAC chain. A key in a device (``TokenKey``) signs there.

Pure functions: no clock, no network. ``sign_create_session`` is what the benchmark times.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from credproc.sources.rolesanywhere.material import LOCAL_KEY_TYPES, Material

SERVICE = "rolesanywhere"
RSA_ALGORITHM = "AWS4-X509-RSA-SHA256"
ECDSA_ALGORITHM = "AWS4-X509-ECDSA-SHA256"
MLDSA_ALGORITHM = "AWS4-X509-MLDSA"
CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # what to send, Authorization included
    body: bytes


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def algorithm(material: Material) -> str:
    key = material.key
    if isinstance(key, rsa.RSAPrivateKey):
        return RSA_ALGORITHM
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ECDSA_ALGORITHM
    if isinstance(key, LOCAL_KEY_TYPES):
        return MLDSA_ALGORITHM
    return key.algorithm


def _b64_der(cert: object) -> str:
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")  # type: ignore[attr-defined]


def _canonical_uri(path: str) -> str:
    # SigV4 for non-S3 services: each segment URI-encoded (unreserved characters kept), "/" kept.
    return quote(path or "/", safe="/-_.~")


def canonical_request(method: str, path: str, headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """(canonical request, signed-headers list) for a request with no query string."""
    lowered = {name.lower(): " ".join(value.strip().split()) for name, value in headers.items()}
    names = sorted(lowered)
    canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in names)
    signed = ";".join(names)
    text = "\n".join([method, _canonical_uri(path), "", canonical_headers, signed, _sha256_hex(body)])
    return text, signed


def _signature(material: Material, message: bytes) -> str:
    key = material.key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256()).hex()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256())).hex()
    if isinstance(key, LOCAL_KEY_TYPES):
        # ML-DSA: pure, over the message itself, no context (v1.8.0 signs deterministically; the
        # hedged signature cryptography makes verifies the same way).
        return key.sign(message).hex()
    return key.sign_string(message).hex()


def sign(
    material: Material,
    *,
    method: str,
    host: str,
    path: str,
    body: bytes,
    region: str,
    when: datetime,
) -> SignedRequest:
    """Sign one request. ``host`` is the Host header as sent (with a port when not the default)."""
    amz_date = when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "Content-Type": CONTENT_TYPE,
        "Host": host,
        "X-Amz-Date": amz_date,
        "X-Amz-X509": _b64_der(material.certificate),
    }
    if material.chain:
        headers["X-Amz-X509-Chain"] = ",".join(_b64_der(c) for c in material.chain)
    creq, signed_headers = canonical_request(method, path, headers, body)
    scope = f"{amz_date[:8]}/{region}/{SERVICE}/aws4_request"
    alg = algorithm(material)
    string_to_sign = "\n".join([alg, amz_date, scope, _sha256_hex(creq.encode())])
    signature = _signature(material, string_to_sign.encode())
    serial = material.certificate.serial_number
    headers["Authorization"] = (
        f"{alg} Credential={serial}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
    return SignedRequest(method, path, headers, body)


def create_session_body(
    *, profile_arn: str, role_arn: str, trust_anchor_arn: str, duration: int, session_name: str | None
) -> bytes:
    body: dict[str, object] = {
        "durationSeconds": duration,
        "profileArn": profile_arn,
        "roleArn": role_arn,
        "trustAnchorArn": trust_anchor_arn,
    }
    if session_name:
        body["roleSessionName"] = session_name
    return json.dumps(body, separators=(",", ":")).encode()


def sign_create_session(
    material: Material,
    *,
    host: str,
    region: str,
    profile_arn: str,
    role_arn: str,
    trust_anchor_arn: str,
    duration: int = 3600,
    session_name: str | None = None,
    when: datetime | None = None,
) -> SignedRequest:
    """A complete, signed ``POST /sessions`` (no network; the benchmark's entry point)."""
    body = create_session_body(
        profile_arn=profile_arn,
        role_arn=role_arn,
        trust_anchor_arn=trust_anchor_arn,
        duration=duration,
        session_name=session_name,
    )
    return sign(
        material,
        method="POST",
        host=host,
        path="/sessions",
        body=body,
        region=region,
        when=when or datetime.now(timezone.utc),
    )
