"""Every key type in every format the issue lists, accepted by the emulator; bad files refused
locally with exit 1 before any network call."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from credproc.cache import NoCache
from credproc.config import AwsConfig, read_profile
from credproc.credentials import Credentials
from credproc.errors import ConfigError, CredprocError, NeedsHumanError
from credproc.sources.base import Context
from credproc.sources.rolesanywhere import source as rolesanywhere
from credproc.terminal import ScriptedTerminal
from tests.support import ra_pki
from tests.support.ra_world import RaPki, RaWorld

pytestmark = pytest.mark.usefixtures("no_machine_proxies")
FIXTURES = Path(__file__).parent / "fixtures"


def context(environ: dict[str, str] | None = None, answers: list[str] | None = None) -> Context:
    return Context(
        environ=environ or {},
        config=AwsConfig({}),
        cache=NoCache(),
        terminal=ScriptedTerminal(answers),
        warn=lambda m: None,
    )


def options(ra: RaWorld, files: ra_pki.Files) -> dict[str, str]:
    flags = ra.flags(files)
    return {flags[i].lstrip("-").replace("-", "_"): flags[i + 1] for i in range(0, len(flags), 2)}


def fetch(ra: RaWorld, files: ra_pki.Files, ctx: Context | None = None, form: str = "flags") -> Credentials:
    ctx = ctx or context({"CREDPROC_PRIVATE_KEY_PASSPHRASE": ra_pki.PASSPHRASE})
    if form == "flags":
        source = rolesanywhere.from_flags(ctx, options(ra, files))
    else:  # the same values as rolesanywhere_* keys of a profile section
        section = {f"rolesanywhere_{k}": v for k, v in options(ra, files).items() if k != "endpoint"}
        ctx = replace(ctx, environ={**ctx.environ, "AWS_ENDPOINT_URL_ROLESANYWHERE": ra.url})
        source = rolesanywhere.detect(ctx, read_profile(AwsConfig({"ra": section}), "ra"))
    assert source is not None
    return source.fetch(ctx)


FORMATS = ["traditional", "pkcs8", "pkcs8-der", "pkcs8-encrypted", "der-cert", "p12", "p12-nopass"]


def identity(ra: RaPki, kind: str, fmt: str, via_intermediate: bool) -> ra_pki.Files:
    real_fmt = {"traditional": ra_pki.traditional_format(kind), "p12-nopass": "p12"}.get(fmt, fmt)
    password = None if fmt == "p12-nopass" else ra_pki.PASSPHRASE
    chain_in = "p12" if fmt.startswith("p12") else "file"
    return ra.identity(
        kind, real_fmt, via_intermediate=via_intermediate, chain_in=chain_in, password=password
    )


@pytest.mark.parametrize("kind", ra_pki.KEY_KINDS)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("via_intermediate", [False, True], ids=["direct", "intermediate"])
def test_every_key_kind_and_format_loads(
    ra_offline: RaPki, kind: str, fmt: str, via_intermediate: bool
) -> None:
    """The key-loading code itself, on every format: what signing needs comes out of the files.
    (One signed round trip per key type below proves the emulator accepts what it signs.)"""
    from credproc.sources.rolesanywhere import checks, material

    files = identity(ra_offline, kind, fmt, via_intermediate)
    key_path = str(files.private_key) if files.private_key else None
    inter = str(files.intermediates) if files.intermediates else None
    loaded = material.load(str(files.certificate), key_path, inter, lambda path, attempt: ra_pki.PASSPHRASE)
    checks.check_all(loaded, str(files.certificate), key_path, time.time())
    assert loaded.certificate.public_key() == ra_pki.key(kind).public_key()
    assert loaded.chain == ((ra_offline.intermediate.cert,) if via_intermediate else ())


@pytest.mark.parametrize(
    ("kind", "fmt", "via_intermediate", "form"),
    [
        ("rsa2048", "traditional", False, "flags"),
        ("rsa4096", "p12", True, "profile"),
        ("p256", "pkcs8-encrypted", True, "flags"),
        ("p384", "der-cert", False, "profile"),
    ],
    ids=["rsa2048", "rsa4096", "p256", "p384"],
)
def test_every_key_kind_signs_a_session_the_emulator_accepts(
    ra: RaWorld, kind: str, fmt: str, via_intermediate: bool, form: str
) -> None:
    creds = fetch(ra, identity(ra, kind, fmt, via_intermediate), form=form)
    assert creds.access_key_id.startswith("ASIARAEMU")
    assert creds.session_token and creds.expiration is not None
    assert ra.world.calls == 1
    received = ra.world.received[-1]
    assert received.outcome == "ok"
    assert ("x-amz-x509-chain" in received.headers) is via_intermediate
    expected_alg = "AWS4-X509-RSA-SHA256" if kind.startswith("rsa") else "AWS4-X509-ECDSA-SHA256"
    assert received.headers["authorization"].startswith(expected_alg + " Credential=")


def test_a_pem_certificate_file_may_carry_its_chain(ra: RaWorld) -> None:
    files = ra.identity("p256", via_intermediate=True, chain_in="file")
    assert files.intermediates is not None
    files.certificate.write_bytes(files.certificate.read_bytes() + files.intermediates.read_bytes())
    fetch(ra, ra_pki.Files(files.certificate, files.private_key, None))
    assert "x-amz-x509-chain" in ra.world.received[-1].headers


def test_the_acm_exported_encrypted_key_is_accepted(ra: RaWorld, tmp_path: Path) -> None:
    key_path = tmp_path / "acm.pem"
    shutil.copy(FIXTURES / "acm-encrypted.pem", key_path)
    key = load_pem_private_key(key_path.read_bytes(), b"password")
    cert_path = tmp_path / "acm-cert.pem"
    cert_path.write_bytes(ra_pki.pem(ra.root.leaf(key.public_key())))
    files = ra_pki.Files(cert_path, key_path, None)
    creds = fetch(ra, files, context({"CREDPROC_PRIVATE_KEY_PASSPHRASE": "password"}))
    assert creds.access_key_id.startswith("ASIARAEMU")


def test_a_key_that_is_not_the_certificates_is_refused_before_any_call(ra: RaWorld) -> None:
    files = ra.identity("p256")
    other = ra.identity("p256", name="other", key_index=1)
    assert other.private_key is not None
    with pytest.raises(ConfigError, match="does not belong to the certificate"):
        fetch(ra, ra_pki.Files(files.certificate, other.private_key, None))
    assert ra.world.received == []


@pytest.mark.parametrize(("days", "message"), [((-10, -1), "expired on"), ((1, 10), "not valid before")])
def test_a_certificate_outside_its_dates_is_refused_locally(
    ra: RaWorld, days: tuple[float, float], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        fetch(ra, ra.identity("p256", days=days))
    assert ra.world.received == []


@pytest.mark.parametrize(("kind", "message"), [("p521", "secp521r1")])
def test_unsupported_key_types_are_refused(ra: RaWorld, kind: str, message: str) -> None:
    k = ra_pki.key(kind)
    cert = ra.root.leaf(k.public_key())
    files = ra_pki.write_identity(ra.directory / kind, k, cert, [], "pkcs8")
    with pytest.raises(ConfigError, match=message):
        fetch(ra, files)


def test_garbage_files_are_named_in_the_error(ra: RaWorld) -> None:
    files = ra.identity("p256")
    assert files.private_key is not None
    files.private_key.write_text("not a key\n")
    with pytest.raises(ConfigError, match=r"key\.pem is not a readable PEM or DER private key"):
        fetch(ra, files)
    files.certificate.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="holds no readable PEM certificate"):
        fetch(ra, files)
    files.certificate.write_bytes(b"\x01\x02garbage")
    with pytest.raises(ConfigError, match="neither a PEM nor a DER certificate"):
        fetch(ra, files)


def test_a_missing_file_is_named(ra: RaWorld, tmp_path: Path) -> None:
    files = ra.identity("p256")
    with pytest.raises(ConfigError, match=r"private key file .*nope\.pem does not exist"):
        fetch(ra, ra_pki.Files(files.certificate, tmp_path / "nope.pem", None))
    with pytest.raises(ConfigError, match="is a folder"):
        fetch(ra, ra_pki.Files(files.certificate, tmp_path, None))


def test_a_pem_certificate_without_a_key_is_refused(ra: RaWorld) -> None:
    files = ra.identity("p256")
    with pytest.raises(ConfigError, match="needs a private key"):
        fetch(ra, ra_pki.Files(files.certificate, None, None))


def test_a_pkcs12_bundle_with_a_separate_key_is_refused(ra: RaWorld) -> None:
    bundle = ra.identity("p256", "p12")
    other = ra.identity("p256", name="pem")
    with pytest.raises(ConfigError, match="holding its own key"):
        fetch(ra, ra_pki.Files(bundle.certificate, other.private_key, None))


def test_a_pkcs12_bundle_without_a_key_is_refused(ra: RaWorld) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    cert = ra.root.leaf(ra_pki.key("p256").public_key())
    path = ra.directory / "certonly.pfx"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"x", None, cert, None, serialization.NoEncryption())
    )
    with pytest.raises(ConfigError, match="must hold both a private key and its certificate"):
        fetch(ra, ra_pki.Files(path, None, None))


def test_a_pkcs12_key_may_be_given_as_the_private_key(ra: RaWorld) -> None:
    bundle = ra.identity("p384", "p12")
    pem = ra.identity("p384", name="pem")
    # The PEM certificate with the key taken out of a .p12 (the same key: p384 index 0).
    creds = fetch(ra, ra_pki.Files(pem.certificate, bundle.certificate, None))
    assert creds.access_key_id.startswith("ASIARAEMU")


def test_an_encrypted_key_without_a_passphrase_or_terminal_needs_a_human(ra: RaWorld) -> None:
    files = ra.identity("p256", "pkcs8-encrypted")
    with pytest.raises(NeedsHumanError, match="encrypted and there is no terminal"):
        fetch(ra, files, context({}))


def test_a_wrong_passphrase_from_the_environment_is_bad_input(ra: RaWorld) -> None:
    files = ra.identity("rsa2048", "pkcs8-encrypted")
    with pytest.raises(ConfigError, match=r"wrong passphrase .*CREDPROC_PRIVATE_KEY_PASSPHRASE") as info:
        fetch(ra, files, context({"CREDPROC_PRIVATE_KEY_PASSPHRASE": "nope"}))
    assert "nope" not in str(info.value.message) + str(info.value.hint)


def test_a_password_protected_pkcs12_asks_the_terminal(ra: RaWorld) -> None:
    files = ra.identity("p256", "p12")
    ctx = context({}, answers=["wrong", ra_pki.PASSPHRASE])
    assert fetch(ra, files, ctx).access_key_id.startswith("ASIARAEMU")
    assert isinstance(ctx.terminal, ScriptedTerminal)
    assert len(ctx.terminal.asked) == 2 and "wrong, try again" in ctx.terminal.asked[1]


def test_three_wrong_answers_on_the_terminal_give_up(ra: RaWorld) -> None:
    files = ra.identity("p256", "pkcs8-encrypted")
    with pytest.raises(CredprocError, match="wrong passphrase"):
        fetch(ra, files, context({}, answers=["a", "b", "c", "d"]))


def test_an_ed25519_key_is_refused(ra: RaWorld) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    files = ra.identity("p256")
    assert files.private_key is not None
    files.private_key.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ConfigError, match="neither RSA, EC nor ML-DSA"):
        fetch(ra, files)


def test_an_unreadable_path_is_reported_with_the_reason(ra: RaWorld) -> None:
    files = ra.identity("p256")
    with pytest.raises(ConfigError, match=r"cannot read private key file .*: Not a directory"):
        fetch(ra, ra_pki.Files(files.certificate, files.certificate / "key.pem", None))


def test_a_pkcs12_bundle_is_recognised_by_content_whatever_its_name(ra: RaWorld) -> None:
    files = ra.identity("p256", "p12", password=None)
    renamed = files.certificate.with_name("identity.bundle")
    files.certificate.rename(renamed)
    assert fetch(ra, ra_pki.Files(renamed, None, None)).access_key_id.startswith("ASIARAEMU")


def test_the_loaders_give_up_even_if_a_passphrase_source_never_does(ra: RaWorld) -> None:
    from credproc.sources.rolesanywhere import material

    def always_wrong(path: str, attempt: int) -> str:
        return f"wrong-{attempt}"

    key_files = ra.identity("p256", "pkcs8-encrypted")
    assert key_files.private_key is not None
    with pytest.raises(ConfigError, match="wrong passphrase for private key file"):
        material.load_key(key_files.private_key.read_bytes(), "k", always_wrong)
    bundle = ra.identity("p256", "p12", name="bundle")
    with pytest.raises(ConfigError, match="wrong password for PKCS#12 file"):
        material.load_pkcs12(bundle.certificate.read_bytes(), "b", always_wrong)
