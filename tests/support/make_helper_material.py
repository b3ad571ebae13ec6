"""aws_signing_helper's test material, made the way its documentation and Makefile describe it
(``make test-certs`` and ``generate-credential-process-data.sh``), written here from those steps:
no upstream file is copied. ``python -m tests.support.make_helper_material OUT`` or ``generate(OUT)``.

OUT/certs/ (upstream tst/certs):
  rsa-{1024,2048,4096}-key.pem         ``openssl genrsa`` (OpenSSL 3 writes PKCS#8)
  ec-{prime256v1,secp384r1}-key.pem    ``openssl ecparam -genkey`` (SEC1 with EC PARAMETERS)
  <key>-key-pkcs8.pem                  ``openssl pkcs8 -topk8 -nocrypt``
  <name>-<digest>-cert.pem             ``openssl req -x509 -new -days 10000 -subj /CN=roles-anywhere-<name>-<digest>``
  <name>-<digest>-combo.pem            key then certificate, concatenated
  <name>-<digest>.p12                  empty password, SHA1 MAC, 3DES (the only PKCS#12 Go reads)
  cert-bundle.pem                      every RSA then every EC certificate
 plus variants upstream v1.4.0 does not make, for credproc's wider reading:
  rsa-<N>-key-pkcs1.pem                ``openssl rsa -traditional`` (PKCS#1)
  <key>-key-pkcs8.der                  DER PKCS#8
  <key>-key-pkcs8-enc.pem              encrypted PKCS#8 (``-v2 aes-256-cbc``, password ``password``,
                                       as v1.8.0's fixtures; v1.4.0 cannot read it)
  <name>-<digest>-cert.der             DER certificate
  <name>-<digest>-pass.p12             password ``test`` (upstream's %-pass.p12 rule)
  <name>-<digest>-openssl3.p12         OpenSSL 3's default (AES, SHA-256 MAC), empty password
  mldsa{44,65,87}-key.pem, -key-enc.pem, -cert.pem, -combo.pem
                                       ML-DSA as v1.8.0's Makefile makes it (``openssl genpkey
                                       -algorithm ML-DSA-NN``, needs OpenSSL >= 3.5); with an older
                                       openssl, made with the cryptography package instead
OUT/credential-process-data/ (upstream generate-credential-process-data.sh):
  root-key.pem, root-cert.pem          TEST ROOT, CA:TRUE pathlen 1, serial 1
  client-key.pem, client-csr.pem, client-cert.pem
                                       TEST CLIENT, CA:FALSE, issued by the root, serial 2
  client.p12                           key, certificate and root, empty password, SHA1/3DES

Keys are the test's own: never real. Every file is written under OUT only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

RSA_SIZES = (1024, 2048, 4096)
EC_CURVES = ("prime256v1", "secp384r1")
RSA_DIGESTS = ("md5", "sha1", "sha256", "sha384", "sha512")
EC_DIGESTS = ("sha1", "sha256", "sha384", "sha512")
MLDSA = ("mldsa44", "mldsa65", "mldsa87")
PKCS8_PASSWORD = "password"
P12_PASSWORD = "test"

ROOT_CONF = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = TEST ROOT
[v3]
basicConstraints = critical,CA:TRUE,pathlen:1
subjectKeyIdentifier = hash
keyUsage = critical,cRLSign,digitalSignature,keyCertSign
authorityKeyIdentifier = keyid:always,issuer:always
"""
CLIENT_CONF = """[req]
default_bits = 2048
default_md = sha256
distinguished_name = dn
prompt = no
[dn]
CN = TEST CLIENT
[v3]
authorityKeyIdentifier = keyid,issuer
basicConstraints = CA:FALSE
keyUsage = digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment
"""


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True, timeout=120)


def _cat(out: Path, *parts: Path) -> None:
    out.write_bytes(b"".join(p.read_bytes() for p in parts))


def _legacy_p12(
    d: Path, key: str, cert: str, out: str, password: str = "", extra: tuple[str, ...] = ()
) -> None:
    _openssl(
        "pkcs12",
        "-export",
        "-passout",
        f"pass:{password}",
        "-macalg",
        "SHA1",
        "-certpbe",
        "pbeWithSHA1And3-KeyTripleDES-CBC",
        "-keypbe",
        "pbeWithSHA1And3-KeyTripleDES-CBC",
        "-inkey",
        key,
        "-in",
        cert,
        *extra,
        "-out",
        out,
        cwd=d,
    )


def _key_variants(d: Path, stem: str, rsa: bool) -> None:
    key = f"{stem}-key.pem"
    _openssl(
        "pkcs8",
        "-topk8",
        "-inform",
        "PEM",
        "-outform",
        "PEM",
        "-in",
        key,
        "-out",
        f"{stem}-key-pkcs8.pem",
        "-nocrypt",
        cwd=d,
    )
    _openssl(
        "pkcs8",
        "-topk8",
        "-inform",
        "PEM",
        "-outform",
        "DER",
        "-in",
        key,
        "-out",
        f"{stem}-key-pkcs8.der",
        "-nocrypt",
        cwd=d,
    )
    _openssl(
        "pkcs8",
        "-topk8",
        "-inform",
        "PEM",
        "-outform",
        "PEM",
        "-in",
        key,
        "-out",
        f"{stem}-key-pkcs8-enc.pem",
        "-v2",
        "aes-256-cbc",
        "-passout",
        f"pass:{PKCS8_PASSWORD}",
        cwd=d,
    )
    if rsa:
        _openssl("rsa", "-in", key, "-traditional", "-out", f"{stem}-key-pkcs1.pem", cwd=d)


def _certs(d: Path, stem: str, digests: tuple[str, ...]) -> list[Path]:
    made = []
    for digest in digests:
        name = f"{stem}-{digest}"
        _openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            f"{stem}-key.pem",
            "-out",
            f"{name}-cert.pem",
            "-days",
            "10000",
            "-subj",
            f"/CN=roles-anywhere-{name}",
            f"-{digest}",
            cwd=d,
        )
        _openssl("x509", "-in", f"{name}-cert.pem", "-outform", "DER", "-out", f"{name}-cert.der", cwd=d)
        _cat(d / f"{name}-combo.pem", d / f"{stem}-key.pem", d / f"{name}-cert.pem")
        _legacy_p12(d, f"{stem}-key.pem", f"{name}-cert.pem", f"{name}.p12")
        _legacy_p12(d, f"{stem}-key.pem", f"{name}-cert.pem", f"{name}-pass.p12", P12_PASSWORD)
        _openssl(
            "pkcs12",
            "-export",
            "-passout",
            "pass:",
            "-inkey",
            f"{stem}-key.pem",
            "-in",
            f"{name}-cert.pem",
            "-out",
            f"{name}-openssl3.p12",
            cwd=d,
        )
        made.append(d / f"{name}-cert.pem")
    return made


def _openssl_has_mldsa() -> bool:
    done = subprocess.run(
        ["openssl", "list", "-signature-algorithms"], capture_output=True, text=True, check=False, timeout=30
    )
    return "ML-DSA-65" in done.stdout


def _mldsa(d: Path) -> None:
    with_openssl = _openssl_has_mldsa()
    for kind in MLDSA:
        key, cert = d / f"{kind}-key.pem", d / f"{kind}-cert.pem"
        if with_openssl:
            _openssl("genpkey", "-algorithm", f"ML-DSA-{kind[5:]}", "-out", key, cwd=d)
            _openssl(
                "req",
                "-x509",
                "-new",
                "-key",
                key,
                "-out",
                cert,
                "-days",
                "10000",
                "-subj",
                f"/CN=roles-anywhere-{kind}",
                cwd=d,
            )
            _openssl(
                "pkcs8",
                "-topk8",
                "-in",
                key,
                "-out",
                f"{kind}-key-enc.pem",
                "-v2",
                "aes-256-cbc",
                "-v2prf",
                "hmacWithSHA256",
                "-passout",
                f"pass:{PKCS8_PASSWORD}",
                cwd=d,
            )
        else:
            from cryptography.hazmat.primitives import serialization

            from tests.support import mldsa_x509

            made = mldsa_x509.generate(kind)
            pkcs8 = serialization.PrivateFormat.PKCS8
            key.write_bytes(
                made.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
            )
            (d / f"{kind}-key-enc.pem").write_bytes(
                made.private_bytes(
                    serialization.Encoding.PEM,
                    pkcs8,
                    serialization.BestAvailableEncryption(PKCS8_PASSWORD.encode()),
                )
            )
            cert.write_bytes(
                mldsa_x509.self_signed(made, f"roles-anywhere-{kind}").public_bytes(
                    serialization.Encoding.PEM
                )
            )
        _cat(d / f"{kind}-combo.pem", key, cert)


def _credential_process_data(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "root.conf").write_text(ROOT_CONF)
    (d / "client.conf").write_text(CLIENT_CONF)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "365",
        "-sha256",
        "-set_serial",
        "1",
        "-config",
        "root.conf",
        "-extensions",
        "v3",
        "-keyout",
        "root-key.pem",
        "-out",
        "root-cert.pem",
        cwd=d,
    )
    _openssl(
        "req",
        "-nodes",
        "-new",
        "-config",
        "client.conf",
        "-keyout",
        "client-key.pem",
        "-out",
        "client-csr.pem",
        cwd=d,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "client-csr.pem",
        "-CA",
        "root-cert.pem",
        "-CAkey",
        "root-key.pem",
        "-set_serial",
        "2",
        "-days",
        "365",
        "-sha256",
        "-extfile",
        "client.conf",
        "-extensions",
        "v3",
        "-out",
        "client-cert.pem",
        cwd=d,
    )
    _legacy_p12(d, "client-key.pem", "client-cert.pem", "client.p12", extra=("-certfile", "root-cert.pem"))
    _cat(d / "client-combo.pem", d / "client-key.pem", d / "client-cert.pem")


def generate(out: Path, *, all_digests: bool = True) -> Path:
    """Write the material under ``out`` (made if missing); returns ``out``.

    ``all_digests=False`` makes only the sha256 certificates (faster, for quick runs).
    """
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is needed to make aws_signing_helper's test material")
    certs = out / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    bundle: list[Path] = []
    for size in RSA_SIZES:
        stem = f"rsa-{size}"
        _openssl("genrsa", "-out", f"{stem}-key.pem", str(size), cwd=certs)
        _key_variants(certs, stem, rsa=True)
        bundle += _certs(certs, stem, RSA_DIGESTS if all_digests else ("sha256",))
    ec_bundle: list[Path] = []
    for curve in EC_CURVES:
        stem = f"ec-{curve}"
        _openssl("ecparam", "-name", curve, "-genkey", "-out", f"{stem}-key.pem", cwd=certs)
        _key_variants(certs, stem, rsa=False)
        ec_bundle += _certs(certs, stem, EC_DIGESTS if all_digests else ("sha256",))
    _cat(certs / "cert-bundle.pem", *bundle, *ec_bundle)
    _mldsa(certs)
    _credential_process_data(out / "credential-process-data")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.support.make_helper_material OUT", file=sys.stderr)
        return 2
    generate(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
