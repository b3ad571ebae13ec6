"""Key material beyond the classic pairs (issue 14): combo files, ML-DSA, RSA-1024, and files or
values that are something else (PKCS#11 URIs, TPM keys) named for what they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from credproc.cache import NoCache
from credproc.config import AwsConfig
from credproc.credentials import Credentials
from credproc.errors import ConfigError
from credproc.sources.base import Context
from credproc.sources.rolesanywhere import source as rolesanywhere
from tests.support import mldsa_x509, ra_pki
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN
from tests.support.ra_world import RaWorld
from tests.support.terminals import ScriptedTerminal

pytestmark = pytest.mark.usefixtures("no_machine_proxies")
PASS_ENV = {"CREDPROC_PRIVATE_KEY_PASSPHRASE": ra_pki.PASSPHRASE}


def context(environ: dict[str, str] | None = None, warnings: list[str] | None = None) -> Context:
    sink = warnings if warnings is not None else []
    return Context(
        environ=environ or {},
        config=AwsConfig({}),
        cache=NoCache(),
        terminal=ScriptedTerminal(None),
        warn=sink.append,
    )


def fetch(
    ra: RaWorld, certificate: Path | str, private_key: Path | str | None = None, ctx: Context | None = None
) -> Credentials:
    ctx = ctx or context(PASS_ENV)
    options = {
        "certificate": str(certificate),
        "trust_anchor_arn": TRUST_ANCHOR_ARN,
        "profile_arn": PROFILE_ARN,
        "role_arn": ROLE_ARN,
        "endpoint": ra.url,
    }
    if private_key is not None:
        options["private_key"] = str(private_key)
    source = rolesanywhere.from_flags(ctx, options)
    assert source is not None
    return source.fetch(ctx)


def pkcs8(key: Any, password: str | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    pem: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return pem


def accepted_with(ra: RaWorld, algorithm: str) -> None:
    assert ra.world.calls == 1, [r.outcome for r in ra.world.received]
    assert ra.world.received[-1].headers["authorization"].startswith(algorithm + " Credential=")


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa2048"])
@pytest.mark.parametrize("order", ["key-first", "cert-first"])
def test_a_combo_file_alone_is_certificate_and_key(ra: RaWorld, kind: str, order: str) -> None:
    key = ra_pki.key(kind)
    cert = ra_pki.pem(ra.root.leaf(key.public_key()))
    fmt = ra_pki.traditional_format(kind)
    parts = [ra_pki.key_bytes(key, fmt), cert]
    combo = ra.directory / f"{kind}-combo.pem"
    combo.write_bytes(b"".join(parts if order == "key-first" else parts[::-1]))
    assert fetch(ra, combo).access_key_id.startswith("ASIARAEMU")
    accepted_with(ra, "AWS4-X509-RSA-SHA256" if kind.startswith("rsa") else "AWS4-X509-ECDSA-SHA256")


def test_a_combo_file_may_also_be_named_as_the_key(ra: RaWorld) -> None:
    key = ra_pki.key("p256")
    combo = ra.directory / "combo.pem"
    combo.write_bytes(ra_pki.pem(ra.root.leaf(key.public_key())) + ra_pki.key_bytes(key, "pkcs8"))
    fetch(ra, combo, combo)
    accepted_with(ra, "AWS4-X509-ECDSA-SHA256")


def test_an_encrypted_combo_file_asks_for_its_passphrase(ra: RaWorld) -> None:
    key = ra_pki.key("p384")
    combo = ra.directory / "combo.pem"
    combo.write_bytes(ra_pki.key_bytes(key, "pkcs8-encrypted") + ra_pki.pem(ra.root.leaf(key.public_key())))
    fetch(ra, combo)
    accepted_with(ra, "AWS4-X509-ECDSA-SHA256")


@pytest.mark.parametrize("kind", sorted(mldsa_x509.VARIANTS))
@pytest.mark.parametrize("form", ["pkcs8", "pkcs8-encrypted", "combo", "combo-encrypted", "der"])
def test_mldsa_keys_sign_as_aws_signing_helper_1_8(ra: RaWorld, kind: str, form: str) -> None:
    key = mldsa_x509.generate(kind)
    cert = mldsa_x509.certificate(
        key.public_key(), mldsa_x509.name("mldsa workload"), ra.root.cert.subject, ra.root.key
    )
    cert_pem = ra_pki.pem(cert)
    password = ra_pki.PASSPHRASE if form.endswith("encrypted") else None
    cert_path, key_path = ra.directory / "mldsa-cert.pem", ra.directory / "mldsa-key.pem"
    cert_path.write_bytes(cert_pem)
    if form.startswith("combo"):
        cert_path.write_bytes(pkcs8(key, password) + cert_pem)
        fetch(ra, cert_path)
    elif form == "der":
        key_path = ra.directory / "mldsa-key.der"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        fetch(ra, cert_path, key_path)
    else:
        key_path.write_bytes(pkcs8(key, password))
        fetch(ra, cert_path, key_path)
    accepted_with(ra, "AWS4-X509-MLDSA")


def test_an_encrypted_mldsa_key_with_a_wrong_passphrase_says_so(ra: RaWorld) -> None:
    key = mldsa_x509.generate("mldsa65")
    cert = mldsa_x509.certificate(key.public_key(), mldsa_x509.name("w"), ra.root.cert.subject, ra.root.key)
    cert_path, key_path = ra.directory / "c.pem", ra.directory / "k.pem"
    cert_path.write_bytes(ra_pki.pem(cert))
    key_path.write_bytes(pkcs8(key, "right"))
    with pytest.raises(ConfigError, match="wrong passphrase"):
        fetch(ra, cert_path, key_path, context({"CREDPROC_PRIVATE_KEY_PASSPHRASE": "wrong"}))
    assert ra.world.received == []


def test_an_mldsa_key_for_another_certificate_is_refused_locally(ra: RaWorld) -> None:
    key, other = mldsa_x509.generate("mldsa44"), mldsa_x509.generate("mldsa44")
    cert = mldsa_x509.certificate(key.public_key(), mldsa_x509.name("w"), ra.root.cert.subject, ra.root.key)
    cert_path, key_path = ra.directory / "c.pem", ra.directory / "k.pem"
    cert_path.write_bytes(ra_pki.pem(cert))
    key_path.write_bytes(pkcs8(other))
    with pytest.raises(ConfigError, match="does not belong to the certificate"):
        fetch(ra, cert_path, key_path)


def test_the_emulator_refuses_an_mldsa_signature_by_another_key(ra: RaWorld) -> None:
    from credproc.sources.rolesanywhere import material, signer
    from credproc.sources.rolesanywhere.transport import host_header
    from tests.test_rolesanywhere_signer import send

    key = mldsa_x509.generate("mldsa87")
    cert = mldsa_x509.certificate(key.public_key(), mldsa_x509.name("w"), ra.root.cert.subject, ra.root.key)
    impostor = material.Material(cert, (), mldsa_x509.generate("mldsa87"))
    request = signer.sign_create_session(
        impostor,
        host=host_header(ra.url),
        region="us-east-1",
        profile_arn=PROFILE_ARN,
        role_arn=ROLE_ARN,
        trust_anchor_arn=TRUST_ANCHOR_ARN,
    )
    assert request.headers["Authorization"].startswith("AWS4-X509-MLDSA ")
    assert send(ra, request)[2]["message"] == "Signature validation failed"


def test_a_self_signed_mldsa_trust_anchor_chains(ra: RaWorld) -> None:
    key = mldsa_x509.generate("mldsa65")
    cert = mldsa_x509.self_signed(key, "roles-anywhere-mldsa65")
    ra.world.ca_by_anchor[TRUST_ANCHOR_ARN] = cert
    combo = ra.directory / "mldsa65-combo.pem"
    combo.write_bytes(pkcs8(key) + ra_pki.pem(cert))
    fetch(ra, combo)
    accepted_with(ra, "AWS4-X509-MLDSA")


def test_rsa_1024_is_signed_with_a_warning_as_the_helper_does(ra: RaWorld) -> None:
    key = ra_pki.key("rsa1024")
    files = ra_pki.write_identity(ra.directory / "rsa1024", key, ra.root.leaf(key.public_key()), [], "pkcs8")
    warnings: list[str] = []
    fetch(ra, files.certificate, files.private_key, context(PASS_ENV, warnings))
    accepted_with(ra, "AWS4-X509-RSA-SHA256")
    assert len(warnings) == 1 and "1024 bits" in warnings[0] and "may refuse it" in warnings[0]


def test_a_pkcs11_uri_without_a_module_says_what_it_is(ra: RaWorld, tmp_path: Path) -> None:
    uri = "pkcs11:token=credential-helper-test;object=rsa-2048"
    with pytest.raises(ConfigError, match="is a PKCS#11 URI: pass --pkcs11-lib"):
        rolesanywhere.from_flags(
            context(),
            {
                "certificate": uri,
                "trust_anchor_arn": TRUST_ANCHOR_ARN,
                "profile_arn": PROFILE_ARN,
                "role_arn": ROLE_ARN,
            },
        ).fetch(context())  # type: ignore[union-attr]
    files = ra.identity("p256")
    with pytest.raises(ConfigError, match=r"private key pkcs11:.* is a PKCS#11 URI: pass --pkcs11-lib"):
        fetch(ra, files.certificate, uri)
    assert ra.world.received == []


TSS2 = b"-----BEGIN TSS2 PRIVATE KEY-----\nMIIB8gYGZ4EFCgEDoAMBAQECBEAAAAE=\n-----END TSS2 PRIVATE KEY-----\n"


def test_tpm_key_files_are_read_as_tpm_keys(ra: RaWorld) -> None:
    # A TSS2 PRIVATE KEY file (alone or with its certificate) goes to the TPM code, which names a
    # damaged one before reaching any TPM; without tpm2-pytss it says what to install.
    # (Keys in a real TPM: tests/test_rolesanywhere_tpm.py.)
    files = ra.identity("p256")
    tss2 = ra.directory / "tpm-key.pem"
    tss2.write_bytes(TSS2)
    unreadable = r"is not a readable TSS2 PRIVATE KEY|TPM keys need the tpm2-pytss package"
    with pytest.raises(ConfigError, match=unreadable):
        fetch(ra, files.certificate, tss2)
    combo = ra.directory / "tpm-combo.pem"
    combo.write_bytes(TSS2 + files.certificate.read_bytes())
    with pytest.raises(ConfigError, match=unreadable):
        fetch(ra, combo)
    assert ra.world.received == []


def test_a_key_given_as_the_certificate_is_named(ra: RaWorld) -> None:
    files = ra.identity("p256")
    assert files.private_key is not None
    with pytest.raises(ConfigError, match=r"key\.pem is a private key, not a certificate"):
        fetch(ra, files.private_key, files.private_key)
    with pytest.raises(ConfigError, match=r"cert\.pem holds a certificate but no private key"):
        fetch(ra, files.certificate, files.certificate)
