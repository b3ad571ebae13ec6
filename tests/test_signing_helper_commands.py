"""aws_signing_helper v1.4.0's other subcommands and flags, with the real helper as the oracle (issue 14).

Each row of README's "aws_signing_helper commands and flags" table has a test here.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa

from credproc import __version__
from credproc.commands.update import keep_updated, updated
from credproc.credentials import Credentials
from credproc.errors import ConfigError
from credproc.sources.rolesanywhere import diagnostics
from tests.conftest import run_credproc
from tests.support import tmpfs
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN, Emulator, World
from tests.support.runner import run_in_process
from tests.test_signing_helper_oracle import HELPER, require_signing_helper

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_machine_proxies")]
ARNS = ["--trust-anchor-arn", TRUST_ANCHOR_ARN, "--profile-arn", PROFILE_ARN, "--role-arn", ROLE_ARN]


def _helper(*argv: str, home: Path) -> subprocess.CompletedProcess[bytes]:
    require_signing_helper()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    return subprocess.run(
        [HELPER, *argv], capture_output=True, timeout=60, env=env, stdin=subprocess.DEVNULL, check=False
    )


@pytest.fixture(scope="module")
def material(helper_material: Path) -> Path:
    """The session's helper material (tests/conftest.py), made once for every module using it."""
    return helper_material


def test_version_prints_credprocs_version() -> None:
    result = run_credproc("version", "extra", "words")
    assert result.returncode == 0 and result.stdout == __version__ + "\n"


@pytest.mark.parametrize(
    "name", ["rsa-2048-sha256-cert.pem", "ec-prime256v1-sha256-cert.pem", "rsa-1024-sha256-combo.pem"]
)
def test_read_certificate_data_is_byte_identical(name: str, material: Path, tmp_path: Path) -> None:
    path = str(material / "certs" / name)
    helper = _helper("read-certificate-data", "--certificate", path, home=tmp_path)
    ours = run_credproc("read-certificate-data", "--certificate", path)
    assert helper.returncode == 0 and ours.returncode == 0, ours.stderr
    assert ours.stdout == helper.stdout.decode()


@pytest.mark.parametrize("fmt", ["text", "json", "bin"])
@pytest.mark.parametrize("digest", ["SHA256", "SHA384", "SHA512"])
def test_sign_string_rsa_is_byte_identical(fmt: str, digest: str, material: Path, tmp_path: Path) -> None:
    """RSA PKCS#1 v1.5 is deterministic: the same key gives the helper's bytes exactly."""
    combo = str(material / "certs" / "rsa-2048-sha256-combo.pem")
    argv = ["sign-string", "--certificate", combo, "--format", fmt, "--digest", digest]
    helper = _helper(*argv, home=tmp_path)
    ours = subprocess.run(
        ["python3", "-m", "credproc", *argv], capture_output=True, timeout=60, check=False, cwd=os.getcwd()
    )
    assert helper.returncode == 0 and ours.returncode == 0, ours.stderr
    assert ours.stdout == helper.stdout


def test_sign_string_ec_verifies_with_the_certificate(material: Path) -> None:
    cert_path = material / "certs" / "ec-prime256v1-sha256-cert.pem"
    key = material / "certs" / "ec-prime256v1-key.pem"
    result = run_credproc("sign-string", "--certificate", str(cert_path), "--private-key", str(key))
    assert result.returncode == 0, result.stderr
    public = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        bytes.fromhex(json.loads(result.stdout)), diagnostics.fixed_string(public), ec.ECDSA(hashes.SHA256())
    )


CREDS = Credentials("AKIDNEW", "SECRETNEW", "TOKENNEW")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "",
            "[p]\naws_access_key_id = AKIDNEW\naws_secret_access_key = SECRETNEW\naws_session_token = TOKENNEW\n",
        ),
        (
            "[a]\nx = 1\n\n[p]\naws_access_key_id = OLD\nregion = eu\n\n[b]\ny = 2",
            "[a]\nx = 1\n\n[p]\naws_access_key_id = AKIDNEW\nregion = eu\naws_secret_access_key = SECRETNEW\n"
            "aws_session_token = TOKENNEW\n\n[b]\ny = 2",
        ),
        (  # the helper drops the section's last line (region = eu); credproc keeps it
            "[p]\nx = 1\nregion = eu",
            "[p]\nx = 1\nregion = eu\naws_access_key_id = AKIDNEW\naws_secret_access_key = SECRETNEW\n"
            "aws_session_token = TOKENNEW\n",
        ),
        (
            "# [p]\n",
            "# [p]\n[p]\naws_access_key_id = AKIDNEW\naws_secret_access_key = SECRETNEW\n"
            "aws_session_token = TOKENNEW\n",
        ),
    ],
)
def test_update_rewrites_only_the_three_keys(before: str, after: str) -> None:
    assert updated(before, "p", CREDS) == after


def test_update_once_writes_the_credentials_file(material: Path, tmp_path: Path) -> None:
    cert = material / "certs" / "ec-prime256v1-sha256-cert.pem"
    world = World(
        {TRUST_ANCHOR_ARN: x509.load_pem_x509_certificate(cert.read_bytes())}, {PROFILE_ARN: {ROLE_ARN}}
    )
    target = tmp_path / "credentials"
    target.write_text("[other]\nregion = eu-west-1\n")
    target.chmod(0o644)
    with Emulator(world) as emulator:
        result = run_credproc(
            "update", "--once", "--profile", "ra", "--certificate", str(cert),
            "--private-key", str(material / "certs" / "ec-prime256v1-key.pem"), *ARNS,
            "--endpoint", emulator.url,
            env={**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(target)},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = target.read_text()
    assert text.startswith("[other]\nregion = eu-west-1\n[ra]\naws_access_key_id = ")
    assert "aws_session_token = " in text and oct(target.stat().st_mode & 0o777) == "0o644"


# (helper argv tail after the material, helper exit, credproc exit): the flags of issue 14, locally.
FLAG_ROWS = [
    (["--cert-selector", "Key=x509Subject,Value=CN=x"], 1, 1),  # no store on Linux
    (["--system-store-name", "MY"], 1, 1),
    (["--certificate", "C", "--system-store-name", "MY"], 1, 1),  # mutually exclusive
    (["--certificate", "C", "--cert-selector", "Key=x509Subject,Value=CN=x"], 1, 1),
    (["--certificate", "C", "--tpm-key-password", "x", "--no-tpm-key-password"], 1, 1),
    (["--certificate", "C", "--reuse-pin", "--tpm-key-password", "x"], 1, 1),
    (["--bogus"], 1, 2),  # unknown flag: the helper's 1 is credproc's usage error 2
    (["--session-duration"], 1, 2),  # a flag without its value
]


@pytest.mark.parametrize(
    ("tail", "helper_rc", "credproc_rc"), FLAG_ROWS, ids=[" ".join(r[0]) for r in FLAG_ROWS]
)
def test_flags_are_refused_as_the_helper_refuses(
    tail: list[str], helper_rc: int, credproc_rc: int, material: Path, tmp_path: Path
) -> None:
    cert = str(material / "certs" / "ec-prime256v1-sha256-combo.pem")
    argv = [
        "credential-process",
        *[cert if t == "C" else t for t in tail],
        *ARNS,
        "--endpoint",
        "http://127.0.0.1:9",
    ]
    assert _helper(*argv, home=tmp_path).returncode == helper_rc
    ours = run_credproc(*argv, "--no-cache")
    assert ours.returncode == credproc_rc, ours.stderr
    assert len(ours.stderr.strip().splitlines()) <= 2


def test_region_other_than_the_trust_anchors_is_signed_for(material: Path) -> None:
    """As the helper: --region eu-west-1 with a us-east-1 trust anchor signs for eu-west-1."""
    cert = material / "certs" / "ec-prime256v1-sha256-combo.pem"
    world = World(
        {TRUST_ANCHOR_ARN: x509.load_pem_x509_certificate(cert.read_bytes())}, {PROFILE_ARN: {ROLE_ARN}}
    )
    with Emulator(world) as emulator:
        result = run_credproc(
            "credential-process", "--certificate", str(cert), *ARNS, "--endpoint", emulator.url,
            "--region", "eu-west-1", "--no-cache", "--debug", "--pkcs11-lib", "/nonexistent.so",
        )  # fmt: skip
    assert result.returncode == 3 and "region eu-west-1" in result.stderr, result.stderr


def test_tpm_keys_say_what_they_are(material: Path) -> None:
    cert = str(material / "certs" / "ec-prime256v1-sha256-cert.pem")
    argv = ["credential-process", "--certificate", cert, "--private-key", "handle:0x81000101"]
    # A TCTI where no TPM listens (the real TPM tests: tests/test_rolesanywhere_tpm.py).
    env = {**os.environ, "TPM2TOOLS_TCTI": "swtpm:host=127.0.0.1,port=9"}
    result = run_credproc(*argv, "--no-tpm-key-password", *ARNS, "--no-cache", env=env)
    assert result.returncode == 1, result.stderr
    assert "cannot reach the TPM" in result.stderr or "tpm2-pytss" in result.stderr
    assert result.stderr.count("credproc: error:") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_use_latest_expiring_certificate_is_accepted_with_a_file(material: Path) -> None:
    cert = material / "certs" / "ec-prime256v1-sha256-combo.pem"
    world = World(
        {TRUST_ANCHOR_ARN: x509.load_pem_x509_certificate(cert.read_bytes())}, {PROFILE_ARN: {ROLE_ARN}}
    )
    with Emulator(world) as emulator:
        result = run_credproc(
            "credential-process", "--certificate", str(cert), *ARNS, "--endpoint", emulator.url,
            "--use-latest-expiring-certificate", "--with-proxy", "--no-cache",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_readme_table_has_every_helper_command() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split("### aws_signing_helper commands and flags", 1)[1].split("\n### ", 1)[0]
    for name in ("credential-process", "serve", "update", "read-certificate-data", "sign-string", "version"):
        assert f"| `{name}" in table
    for flag in flags_of_the_helper():
        assert flag in table, flag


def flags_of_the_helper() -> list[str]:
    """aws_signing_helper v1.4.0's flags (research notes §1.4)."""
    return [
        "--role-arn", "--profile-arn", "--trust-anchor-arn", "--session-duration", "--region", "--endpoint",
        "--no-verify-ssl", "--with-proxy", "--debug", "--certificate", "--private-key", "--intermediates",
        "--cert-selector", "--system-store-name", "--pkcs11-lib", "--reuse-pin", "--tpm-key-password",
        "--no-tpm-key-password", "--role-session-name", "--port", "--hop-limit", "--profile", "--once",
        "--format", "--digest",
    ]  # fmt: skip


def test_sign_string_with_a_key_but_no_certificate_asks_for_the_certificate(material: Path) -> None:
    key = str(material / "certs" / "ec-prime256v1-key.pem")
    done = run_in_process("sign-string", "--private-key", key)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[0] == (
        "credproc: error: sign-string needs the certificate too (--certificate), as aws_signing_helper does"
    )


def test_read_certificate_data_says_it_cannot_list_token_certificates() -> None:
    done = run_in_process("read-certificate-data", "--certificate", "pkcs11:token=t;object=o")
    assert done.returncode == 1 and done.stdout == ""
    assert "cannot list PKCS#11 token certificates yet" in done.stderr


def test_read_certificate_data_names_an_mldsa_certificate_as_helper_1_8_does(material: Path) -> None:
    path = material / "certs" / "mldsa65-cert.pem"
    done = run_in_process("read-certificate-data", "--certificate", str(path))
    assert done.returncode == 0, done.stderr
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    assert json.loads(done.stdout) == {
        "keyType": "ML-DSA-65",
        "certificateData": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
        "serialNumber": str(cert.serial_number),
        "supportedAlgorithms": ["ML-DSA-65"],
    }


def test_read_certificate_data_of_a_key_type_the_helper_does_not_sign_with(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from tests.support import mldsa_x509

    key = ed25519.Ed25519PrivateKey.generate()
    now = datetime.datetime.now(datetime.timezone.utc)
    name = mldsa_x509.name("ed25519 workload")
    cert = (
        x509.CertificateBuilder(name, name, key.public_key(), 1, now, now + datetime.timedelta(days=1))
        .sign(key, None)
    )  # fmt: skip
    path = tmp_path / "ed25519-cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    done = run_in_process("read-certificate-data", "--certificate", str(path))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["keyType"], data["supportedAlgorithms"]) == ("", ["SHA256", "SHA384", "SHA512"])


def test_sign_string_with_mldsa_signs_the_fixed_string_itself(material: Path) -> None:
    combo = material / "certs" / "mldsa65-combo.pem"
    done = run_in_process("sign-string", "--certificate", str(combo), "--format", "text")
    assert done.returncode == 0, done.stderr
    public = x509.load_pem_x509_certificate(combo.read_bytes()).public_key()
    assert isinstance(public, mldsa.MLDSA65PublicKey)
    public.verify(bytes.fromhex(done.stdout), diagnostics.fixed_string(None))  # raises when it does not


def test_sign_string_with_a_1024_bit_key_warns_nothing_as_the_helper(material: Path) -> None:
    combo = material / "certs" / "rsa-1024-sha256-combo.pem"
    done = run_in_process("sign-string", "--certificate", str(combo))
    assert done.returncode == 0 and done.stderr == ""
    assert len(bytes.fromhex(json.loads(done.stdout))) == 128


@pytest.mark.parametrize(("flag", "value"), [("--format", "xml"), ("--digest", "sha256")])
def test_sign_string_refuses_a_format_or_digest_the_helper_does_not_know(
    flag: str, value: str, material: Path
) -> None:
    combo = str(material / "certs" / "ec-prime256v1-sha256-combo.pem")
    done = run_in_process("sign-string", "--certificate", combo, flag, value)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[0].startswith(f"credproc: error: {flag} {value!r} is not one of ")


@pytest.fixture
def ec_emulator(material: Path) -> Iterator[tuple[Emulator, dict[str, object]]]:
    """The emulator trusting the EC certificate, and update's options for it (as click gives them)."""
    cert = material / "certs" / "ec-prime256v1-sha256-cert.pem"
    world = World(
        {TRUST_ANCHOR_ARN: x509.load_pem_x509_certificate(cert.read_bytes())}, {PROFILE_ARN: {ROLE_ARN}}
    )
    with Emulator(world) as emulator:
        yield (
            emulator,
            {
                "certificate": str(cert),
                "private_key": str(material / "certs" / "ec-prime256v1-key.pem"),
                "trust_anchor_arn": TRUST_ANCHOR_ARN,
                "profile_arn": PROFILE_ARN,
                "role_arn": ROLE_ARN,
                "endpoint": emulator.url,
                "no_verify_ssl": False,
            },
        )


def test_update_refreshes_five_minutes_before_each_expiry_until_interrupted(
    ec_emulator: tuple[Emulator, dict[str, object]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator, opts = ec_emulator
    target = tmp_path / "credentials"
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 2:
            raise KeyboardInterrupt  # Ctrl+C during the second wait

    with pytest.raises(KeyboardInterrupt):
        keep_updated(opts, "ra", str(target), once=False, sleep=sleep)
    assert [r.outcome for r in emulator.world.received] == ["ok", "ok"]
    assert all(3600 - 300 - 60 < s <= 3600 - 300 for s in slept)  # one-hour sessions
    assert "aws_session_token = " in target.read_text()
    assert capsys.readouterr().err.count(f"updated [ra] in {target}; next refresh in ") == 2


def test_update_without_the_helpers_flags_names_them() -> None:
    done = run_in_process("update", "--once", "--profile", "ra")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "credproc: error: update needs aws_signing_helper's flags",
        "credproc: hint: --certificate, --private-key, --trust-anchor-arn, --profile-arn and --role-arn",
    ]


def test_update_names_a_credentials_file_it_cannot_read(
    ec_emulator: tuple[Emulator, dict[str, object]], tmp_path: Path
) -> None:
    with pytest.raises(
        ConfigError, match=f"^cannot read {re.escape(str(tmp_path))}: it is a folder, not a regular file$"
    ):
        keep_updated(ec_emulator[1], "ra", str(tmp_path), once=True)


def test_update_names_a_credentials_file_it_cannot_write(
    ec_emulator: tuple[Emulator, dict[str, object]], tmp_path: Path
) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o700)
    with tmpfs.mounted(folder, "ro,size=64k,mode=0700", "a read-only tmpfs"):
        target = folder / "credentials"
        with pytest.raises(
            ConfigError, match=f"^cannot write {re.escape(str(target))}: Read-only file system$"
        ):
            keep_updated(ec_emulator[1], "ra", str(target), once=True)
