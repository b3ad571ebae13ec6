"""An IAM Roles Anywhere CreateSession emulator on 127.0.0.1 port 0 that verifies like AWS.

It shares no code with credproc's signer (it imports nothing from ``credproc``): it parses the
Authorization header, rebuilds the canonical request from the bytes it received using the
signed-headers list, and checks, in order, what AWS checks:

- the algorithm names the certificate's key type (``AWS4-X509-RSA-SHA256``, ``-ECDSA-SHA256``, or
  ``AWS4-X509-MLDSA`` for ML-DSA-44/65/87: pure ML-DSA over the string to sign, empty context, as
  aws_signing_helper v1.8.0 signs); the credential scope is
  ``SERIAL/DATE/REGION/rolesanywhere/aws4_request`` with the certificate's decimal serial, the
  date of ``X-Amz-Date``, and this emulator's region;
- ``host``, ``x-amz-date``, ``x-amz-x509`` (and ``x-amz-x509-chain`` when sent) are signed;
- ``X-Amz-Date`` is within five minutes of the emulator's clock;
- the signature verifies against the certificate's public key;
- the certificate chains, through the sent intermediates, to the trust anchor's CA, every link
  signed by the next, every certificate within its dates, issuers marked as CAs;
- the trust anchor, profile and role ARNs are known, in this region, and the role is in the profile.

It answers 201 with distinct credentials per call, or AWS's error shape: an ``x-amzn-ErrorType``
header and ``{"message": ...}`` (403 AccessDeniedException, 400 ValidationException,
429 ThrottlingException). ``fail_next`` injects answers; ``faults``/``always`` inject the shared
faults of ``tests.support.faults`` (resets, cut or garbled bodies, slow answers, an Expiration
moved by a skewed clock); ``calls`` counts accepted sessions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, padding, rsa

from tests.support.faults import Fault, pick
from tests.support.loopback import PASS_THROUGH, LoopbackServer, answer_fault, reset_connection

ACCOUNT = "123456789012"
REGION = "us-east-1"
_RA = f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}"
TRUST_ANCHOR_ARN = f"{_RA}:trust-anchor/0b4d3a7e-54c1-4a2f-9b3e-2d6c1f8a9e10"
PROFILE_ARN = f"{_RA}:profile/7f1e2d3c-4b5a-4968-8776-655443322110"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/workload"
MLDSA_PUBLIC = (mldsa.MLDSA44PublicKey, mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey)
MAX_SKEW = timedelta(minutes=5)
AUTH_RE = re.compile(
    r"^(?P<alg>\S+) Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-f]+)$"
)


class Refusal(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def _denied(message: str) -> Refusal:
    return Refusal(403, "AccessDeniedException", message)


@dataclass
class Received:
    """What the emulator saw, for assertions (never the credentials it issued)."""

    headers: dict[str, str]
    body: dict[str, Any]
    serial: int | None
    outcome: str


@dataclass
class World:
    ca_by_anchor: dict[str, x509.Certificate]
    roles_by_profile: dict[str, set[str]]
    region: str = REGION
    session_seconds_max: int = 43200
    clock_offset: float = 0.0  # seconds added to the real clock (skew tests)
    calls: int = 0
    fail_next: list[tuple[int, str]] = field(default_factory=list)  # (status, error type) answered first
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0  # seconds to hold each accepted call (single-flight tests)
    faults: list[Fault] = field(default_factory=list)  # one per call, before the real answer
    always: Fault | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.clock_offset, tz=timezone.utc)


# ---- canonical request, rebuilt from the wire -------------------------------------------------


def _uri_encode_path(raw_path: str) -> str:
    # Normalise the received path segment by segment: decode, then encode everything but unreserved.
    segments = raw_path.split("?", 1)[0].split("/")
    return "/".join(quote(unquote(s), safe="-_.~") for s in segments) or "/"


def _canonical_query(raw_path: str) -> str:
    if "?" not in raw_path:
        return ""
    pairs = []
    for item in raw_path.split("?", 1)[1].split("&"):
        if not item:
            continue
        k, _, v = item.partition("=")
        pairs.append((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _header_value(handler: BaseHTTPRequestHandler, name: str) -> str:
    values = handler.headers.get_all(name) or []
    if not values:
        raise _denied(f"Signed header {name} is missing from the request")
    return ",".join(re.sub(r"\s+", " ", v.strip()) for v in values)


def rebuild_canonical_request(handler: BaseHTTPRequestHandler, signed: list[str], body: bytes) -> str:
    lines = [handler.command, _uri_encode_path(handler.path), _canonical_query(handler.path)]
    lines += [f"{name}:{_header_value(handler, name)}" for name in signed]
    lines += ["", ";".join(signed), hashlib.sha256(body).hexdigest()]
    return "\n".join(lines)


# ---- certificates -----------------------------------------------------------------------------


def _der_certs(text: str) -> list[x509.Certificate]:
    try:
        return [
            x509.load_der_x509_certificate(base64.b64decode(part.strip(), validate=True))
            for part in text.split(",")
            if part.strip()
        ]
    except ValueError:
        raise _denied("Unable to parse the X.509 certificate in the request") from None


def _check_dates(cert: x509.Certificate, now: datetime) -> None:
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise _denied(f"Certificate {cert.subject.rfc4514_string()} is not within its validity period")


def _check_chain(
    leaf: x509.Certificate, sent: list[x509.Certificate], anchor: x509.Certificate, now: datetime
) -> None:
    pool = list(sent)
    current = leaf
    _check_dates(leaf, now)
    for _ in range(len(sent) + 1):
        if current.issuer == anchor.subject and _signed_by(current, anchor):
            _check_dates(anchor, now)
            return
        issuer = next((c for c in pool if c.subject == current.issuer and _signed_by(current, c)), None)
        if issuer is None or not _is_ca(issuer):
            break
        _check_dates(issuer, now)
        pool.remove(issuer)
        current = issuer
    raise _denied("Untrusted signing certificate: no path to the trust anchor's CA")


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        public = issuer.public_key()
        if isinstance(public, MLDSA_PUBLIC):  # cryptography's X.509 verifier has no ML-DSA yet
            if cert.issuer != issuer.subject:
                return False
            public.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _verify_signature(cert: x509.Certificate, algorithm: str, signature: bytes, message: bytes) -> None:
    public = cert.public_key()
    try:
        if algorithm == "AWS4-X509-RSA-SHA256" and isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif algorithm == "AWS4-X509-ECDSA-SHA256" and isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif algorithm == "AWS4-X509-MLDSA" and isinstance(public, MLDSA_PUBLIC):
            public.verify(signature, message)
        else:
            raise _denied(f"Signing algorithm {algorithm} does not match the certificate's key")
    except InvalidSignature:
        raise _denied("Signature validation failed") from None


# ---- the handler ------------------------------------------------------------------------------


def verify(
    handler: BaseHTTPRequestHandler, world: World, body: bytes
) -> tuple[x509.Certificate, dict[str, Any]]:
    auth = handler.headers.get("Authorization") or ""
    match = AUTH_RE.match(auth.strip())
    if match is None:
        raise _denied("Missing or malformed Authorization header")
    algorithm, signed_list = match["alg"], match["signed"].split(";")
    if signed_list != sorted(signed_list) or any(h != h.lower() for h in signed_list):
        raise _denied("SignedHeaders must be lowercase and sorted")
    required = {"host", "x-amz-date", "x-amz-x509"}
    if handler.headers.get("X-Amz-X509-Chain") is not None:
        required.add("x-amz-x509-chain")
    if not required <= set(signed_list):
        raise _denied(f"Headers {', '.join(sorted(required - set(signed_list)))} must be signed")
    cred = match["cred"].split("/")
    if len(cred) != 5 or cred[3] != "rolesanywhere" or cred[4] != "aws4_request":
        raise _denied("Credential must be SERIAL/DATE/REGION/rolesanywhere/aws4_request")
    serial_text, date, region = cred[0], cred[1], cred[2]
    amz_date = _header_value(handler, "x-amz-date")
    try:
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise _denied("X-Amz-Date is not in the format YYYYMMDDTHHMMSSZ") from None
    if date != amz_date[:8]:
        raise _denied("Credential scope date does not match X-Amz-Date")
    if region != world.region:
        raise _denied(f"Credential scope region {region} is not {world.region}")
    if abs(world.now() - when) > MAX_SKEW:
        raise _denied("Signature expired: request time too skewed")
    leaf = _der_certs(_header_value(handler, "x-amz-x509"))
    if len(leaf) != 1:
        raise _denied("X-Amz-X509 must hold exactly one certificate")
    cert = leaf[0]
    if not serial_text.isdigit() or int(serial_text) != cert.serial_number:
        raise _denied("Credential serial number does not match the signing certificate")
    canonical = rebuild_canonical_request(handler, signed_list, body)
    string_to_sign = "\n".join(
        [algorithm, amz_date, "/".join(cred[1:]), hashlib.sha256(canonical.encode()).hexdigest()]
    )
    _verify_signature(cert, algorithm, bytes.fromhex(match["sig"]), string_to_sign.encode())
    try:
        request = json.loads(body)
    except ValueError:
        raise Refusal(400, "SerializationException", "Request body is not JSON") from None
    # The ARNs travel in the query string (aws_signing_helper, the AWS SDKs) or in the body.
    query = dict(item.partition("=")[::2] for item in handler.path.partition("?")[2].split("&") if item)
    for name in ("trustAnchorArn", "profileArn", "roleArn"):
        if name in query and name not in request:
            request[name] = unquote(query[name])
    anchor_arn = request.get("trustAnchorArn")
    anchor = world.ca_by_anchor.get(anchor_arn or "")
    if anchor is None:
        raise _denied(f"Trust anchor {anchor_arn} not found or disabled")
    chain_header = handler.headers.get("X-Amz-X509-Chain")
    chain = _der_certs(chain_header) if chain_header else []
    _check_chain(cert, chain, anchor, world.now())
    roles = world.roles_by_profile.get(request.get("profileArn") or "")
    if roles is None:
        raise _denied(f"Profile {request.get('profileArn')} not found or disabled")
    if request.get("roleArn") not in roles:
        raise _denied(f"Role {request.get('roleArn')} is not allowed by the profile")
    duration = request.get("durationSeconds", 3600)
    if not isinstance(duration, int) or not 900 <= duration <= world.session_seconds_max:
        raise Refusal(
            400, "ValidationException", f"durationSeconds must be between 900 and {world.session_seconds_max}"
        )
    return cert, request


class Handler(BaseHTTPRequestHandler):
    world: World  # set on the subclass made per server
    truncate = False  # this answer goes out cut in half (the "truncate" fault)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, data: dict[str, Any], kind: str | None = None) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if kind:
            self.send_header("x-amzn-ErrorType", f"{kind}:http://internal.amazon.com/coral/")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2] if self.truncate else payload)
        if self.truncate:
            self.close_connection = True

    def _fault_answered(self, fault: Fault, headers: dict[str, str]) -> bool:
        """Answer for ``fault`` and return True, or let the real answer follow (slow, truncate,
        expiration)."""
        if fault.kind == "truncate":
            self.truncate = True
        if fault.kind not in PASS_THROUGH:
            self.world.received.append(Received(headers, {}, None, f"fault:{fault.kind}"))
        return answer_fault(fault, _RaFaults(self))

    def _body(self) -> bytes:
        if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        out = b""  # Go's HTTP client sends a body of unknown length chunked
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    def do_POST(self) -> None:
        body = self._body()
        world = self.world
        headers = {k.lower(): v for k, v in self.headers.items()}
        with world.lock:
            injected = world.fail_next.pop(0) if world.fail_next else None
        if injected is not None:
            world.received.append(Received(headers, {}, None, injected[1]))
            self._answer(injected[0], {"message": f"injected {injected[1]}"}, injected[1])
            return
        with world.lock:
            fault = pick(world.faults, world.always, "CreateSession")
        if fault is not None and self._fault_answered(fault, headers):
            return
        if self.path.split("?")[0] != "/sessions":
            self._answer(404, {"message": "not found"}, "ResourceNotFoundException")
            return
        try:
            cert, request = verify(self, world, body)
        except Refusal as refusal:
            world.received.append(Received(headers, {}, None, refusal.kind))
            self._answer(refusal.status, {"message": refusal.message}, refusal.kind)
            return
        if world.delay:
            time.sleep(world.delay)
        with world.lock:
            world.calls += 1
            n = world.calls
        outcome = "ok" if fault is None else f"ok:{fault.kind}"  # a fault that lets the answer through
        world.received.append(Received(headers, request, cert.serial_number, outcome))
        expiration = world.now() + timedelta(seconds=request.get("durationSeconds", 3600))
        if fault is not None and fault.kind == "expiration":
            expiration = datetime.now(timezone.utc) + timedelta(seconds=fault.value)
        self._answer(
            201,
            {
                "credentialSet": [
                    {
                        "assumedRoleUser": {
                            "arn": f"{request['roleArn']}/{cert.serial_number}",
                            "assumedRoleId": f"AROAEMULATOR:{n}",
                        },
                        "credentials": {
                            "accessKeyId": f"ASIARAEMU{n:011d}",
                            **_remembered(n),
                            "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        },
                        "packedPolicySize": 0,
                        "roleArn": request["roleArn"],
                        "sourceIdentity": "CN=workload",
                    }
                ],
                "subjectArn": f"arn:aws:rolesanywhere:{world.region}:{ACCOUNT}:subject/emulated",
            },
        )


def _remembered(n: int) -> dict[str, str]:
    """Credential n's secret and token, registered with the leak guard."""
    from tests.support import leaks

    secret, token = f"ra-secret-{n}-" + "x" * 24, f"ra-token-{n}-" + "y" * 40
    leaks.remember(secret, token)
    return {"secretAccessKey": secret, "sessionToken": token}


class _RaFaults:
    """Roles Anywhere's words for an injected fault."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def error(self, status: int, code: str, message: str) -> None:
        self.handler._answer(status, {"message": message}, code)

    def throttle(self) -> None:
        self.handler._answer(429, {"message": "Rate exceeded"}, "ThrottlingException")

    def nested(self, depth: int) -> None:
        self._raw(b"[" * depth + b"]" * depth)

    def malformed(self) -> None:
        self._raw(b'{"credentialSet": [{"credentials": {"accessKeyId": ')

    def _raw(self, payload: bytes) -> None:
        self.handler.send_response(201)
        self.handler.send_header("Content-Type", "application/json")
        self.handler.send_header("Content-Length", str(len(payload)))
        self.handler.end_headers()
        self.handler.wfile.write(payload)

    def reset(self) -> None:
        reset_connection(self.handler.connection)
        self.handler.close_connection = True


class Emulator(LoopbackServer):
    """``with Emulator(world) as emu: emu.url``; ``tls=(cert_pem, key_pem)`` serves HTTPS."""

    def __init__(self, world: World, tls: tuple[Path, Path] | None = None) -> None:
        self.world = world
        handler = type("BoundHandler", (Handler,), {"world": world})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            server.socket = context.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        super().__init__(server, scheme)

    def __enter__(self) -> Emulator:
        super().__enter__()
        return self

    def outcomes(self) -> Iterator[str]:
        return (r.outcome for r in self.world.received)


def write_tls_identity(
    directory: Path, ca_cert: x509.Certificate, server_cert: x509.Certificate, key: Any
) -> tuple[Path, Path, Path]:
    """(server cert, server key, CA bundle) files for the HTTPS mode."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path, ca_path = directory / "server.pem", directory / "server.key", directory / "ca.pem"
    cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path, ca_path
