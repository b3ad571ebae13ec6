"""The X.509 SigV4 signer against the strict emulator, against botocore's own SigV4
canonicalisation, and the emulator against an independent published signer."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

from credproc.sources.rolesanywhere import material, signer
from credproc.sources.rolesanywhere.transport import host_header
from tests.support import ra_pki
from tests.support.ra_emulator import PROFILE_ARN, REGION, ROLE_ARN, TRUST_ANCHOR_ARN
from tests.support.ra_world import RaWorld, running

pytestmark = pytest.mark.usefixtures("no_machine_proxies")


def load(files: ra_pki.Files) -> material.Material:
    return material.load(
        str(files.certificate),
        str(files.private_key) if files.private_key else None,
        str(files.intermediates) if files.intermediates else None,
        lambda path, attempt: ra_pki.PASSPHRASE,
    )


def signed(ra: RaWorld, files: ra_pki.Files, **kw: object) -> signer.SignedRequest:
    return signer.sign_create_session(
        load(files),
        host=host_header(ra.url),
        region=REGION,
        profile_arn=PROFILE_ARN,
        role_arn=ROLE_ARN,
        trust_anchor_arn=TRUST_ANCHOR_ARN,
        **kw,  # type: ignore[arg-type]
    )


def send(
    ra: RaWorld,
    request: signer.SignedRequest,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict[str, object]]:
    req = urllib.request.Request(
        ra.url + request.path,
        data=request.body if body is None else body,
        headers=dict(headers or request.headers),
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


@pytest.mark.parametrize("kind", ra_pki.KEY_KINDS)
def test_a_signed_create_session_is_accepted(ra: RaWorld, kind: str) -> None:
    status, _, data = send(ra, signed(ra, ra.identity(kind, via_intermediate=True)))
    assert status == 201, data
    assert data["credentialSet"][0]["credentials"]["accessKeyId"] == "ASIARAEMU00000000001"  # type: ignore[index]


def test_the_authorization_header_names_the_serial_and_scope(ra: RaWorld) -> None:
    files = ra.identity("p384")
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    request = signed(ra, files, when=when)
    cert = load(files).certificate
    auth = request.headers["Authorization"]
    assert auth.startswith(
        f"AWS4-X509-ECDSA-SHA256 Credential={cert.serial_number}/20260304/{REGION}/"
        "rolesanywhere/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-x509, Signature="
    )
    assert request.headers["X-Amz-Date"] == "20260304T050607Z"
    assert base64.b64decode(request.headers["X-Amz-X509"]) == cert.public_bytes(Encoding.DER)
    assert "X-Amz-X509-Chain" not in request.headers


def test_the_canonical_request_matches_botocores_sigv4(ra: RaWorld) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    headers = {
        "Content-Type": "application/json",
        "Host": "rolesanywhere.us-east-1.amazonaws.com",
        "X-Amz-Date": "20260304T050607Z",
        "X-Amz-X509": "  MIIB  padded   value ",
    }
    body = b'{"durationSeconds":3600}'
    ours, signed_headers = signer.canonical_request("POST", "/sessions", headers, body)
    request = AWSRequest(
        method="POST",
        url="https://rolesanywhere.us-east-1.amazonaws.com/sessions",
        data=body,
        headers=headers,
    )
    auth = SigV4Auth(BotoCredentials("AKID", "SECRET"), "rolesanywhere", "us-east-1")
    assert ours == auth.canonical_request(request)
    assert signed_headers == "content-type;host;x-amz-date;x-amz-x509"


def test_a_tampered_body_is_rejected(ra: RaWorld) -> None:
    request = signed(ra, ra.identity("rsa2048"))
    tampered = request.body.replace(b"3600", b"43200")
    status, headers, data = send(ra, request, body=tampered)
    assert status == 403 and headers["x-amzn-ErrorType"].startswith("AccessDeniedException")
    assert data["message"] == "Signature validation failed"


def test_a_tampered_signed_header_is_rejected(ra: RaWorld) -> None:
    request = signed(ra, ra.identity("p256"))
    headers = dict(request.headers)
    headers["Content-Type"] = "application/x-amz-json-1.1"
    assert send(ra, request, headers=headers)[2]["message"] == "Signature validation failed"


def test_a_signature_by_another_key_is_rejected(ra: RaWorld) -> None:
    files = ra.identity("p256")
    good = load(files)
    impostor = material.Material(good.certificate, (), ra_pki.key("p256", 1))
    request = signer.sign_create_session(
        impostor,
        host=host_header(ra.url),
        region=REGION,
        profile_arn=PROFILE_ARN,
        role_arn=ROLE_ARN,
        trust_anchor_arn=TRUST_ANCHOR_ARN,
    )
    assert send(ra, request)[2]["message"] == "Signature validation failed"


def test_an_expired_certificate_is_rejected_by_the_emulator_too(ra: RaWorld) -> None:
    files = ra.identity("p256", days=(-10, -1))
    status, _, data = send(ra, signed(ra, files))
    assert status == 403 and "validity period" in str(data["message"])


def test_a_missing_intermediate_breaks_the_chain(ra: RaWorld) -> None:
    files = ra.identity("p256", via_intermediate=True)
    status, _, data = send(ra, signed(ra, ra_pki.Files(files.certificate, files.private_key, None)))
    assert status == 403 and "no path to the trust anchor" in str(data["message"])


def test_a_skewed_clock_is_rejected(ra: RaWorld) -> None:
    request = signed(ra, ra.identity("p256"), when=datetime.now(timezone.utc) - timedelta(minutes=6))
    assert "too skewed" in str(send(ra, request)[2]["message"])


def test_a_wrong_region_in_the_scope_is_rejected(ra: RaWorld) -> None:
    request = signer.sign_create_session(
        load(ra.identity("p256")),
        host=host_header(ra.url),
        region="eu-west-1",
        profile_arn=PROFILE_ARN,
        role_arn=ROLE_ARN,
        trust_anchor_arn=TRUST_ANCHOR_ARN,
    )
    assert "region eu-west-1" in str(send(ra, request)[2]["message"])


def test_a_wrong_serial_in_the_scope_is_rejected(ra: RaWorld) -> None:
    request = signed(ra, ra.identity("p256"))
    headers = dict(request.headers)
    alg, rest = headers["Authorization"].split(" Credential=", 1)
    headers["Authorization"] = f"{alg} Credential=1{rest}"
    assert "serial number" in str(send(ra, request, headers=headers)[2]["message"])


def test_an_unsigned_certificate_header_is_rejected(ra: RaWorld) -> None:
    request = signed(ra, ra.identity("p256"))
    headers = dict(request.headers)
    headers["Authorization"] = headers["Authorization"].replace(";x-amz-x509,", ",")
    assert "must be signed" in str(send(ra, request, headers=headers)[2]["message"])


def test_an_unknown_trust_anchor_is_rejected(ra: RaWorld) -> None:
    files = ra.identity("p256")
    request = signer.sign_create_session(
        load(files),
        host=host_header(ra.url),
        region=REGION,
        profile_arn=PROFILE_ARN,
        role_arn=ROLE_ARN,
        trust_anchor_arn=TRUST_ANCHOR_ARN[:-1] + "f",
    )
    assert "not found" in str(send(ra, request)[2]["message"])


def test_the_emulator_accepts_an_independent_published_signer(tmp_path: Path) -> None:
    """awslabs' iam-rolesanywhere-session signs with botocore's SigV4 code, not ours. It only
    speaks HTTPS, so the emulator serves TLS from a test CA it is told to trust."""
    from iam_rolesanywhere_session import IAMRolesAnywhereSession

    with running(tmp_path, tls=True) as ra:
        for kind in ("rsa2048", "p256"):
            files = ra.identity(kind, "pkcs8", via_intermediate=True, name=kind)
            assert files.private_key is not None and files.intermediates is not None
            session = IAMRolesAnywhereSession(
                profile_arn=PROFILE_ARN,
                role_arn=ROLE_ARN,
                trust_anchor_arn=TRUST_ANCHOR_ARN,
                certificate=files.certificate.read_bytes(),
                private_key=files.private_key.read_bytes(),
                certificate_chain=files.intermediates.read_bytes(),
                region=REGION,
                endpoint=ra.url.removeprefix("https://"),
                verify=str(tmp_path / "tls" / "ca.pem"),
            )
            frozen = session.get_refreshable_credentials().get_frozen_credentials()
            assert frozen.access_key.startswith("ASIARAEMU")
        assert list(ra.emulator.outcomes()) == ["ok", "ok"]
        assert all("x-amz-x509-chain" in r.headers for r in ra.world.received)


def test_the_acm_fixture_key_signs_for_a_certificate_from_the_test_ca(ra: RaWorld, tmp_path: Path) -> None:
    key_pem = (Path(__file__).parent / "fixtures" / "acm-encrypted.pem").read_bytes()
    key = load_pem_private_key(key_pem, b"password")
    cert = ra.root.leaf(key.public_key())
    loaded = material.Material(cert, (), material.load_key(key_pem, "acm.pem", lambda p, n: "password"))
    request = signer.sign_create_session(
        loaded,
        host=host_header(ra.url),
        region=REGION,
        profile_arn=PROFILE_ARN,
        role_arn=ROLE_ARN,
        trust_anchor_arn=TRUST_ANCHOR_ARN,
    )
    assert send(ra, request)[0] == 201


def test_the_emulator_shares_no_code_with_the_signer() -> None:
    """Signer and verifier must not share one misunderstanding: the emulator imports no credproc."""
    import ast

    support = Path(__file__).parent / "support"
    for name in ("ra_emulator.py", "ra_pki.py", "ra_world.py"):
        tree = ast.parse((support / name).read_text())
        modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert modules and not [m for m in modules if m.split(".")[0] == "credproc"], name
