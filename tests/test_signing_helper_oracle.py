"""The real aws_signing_helper v1.4.0 as the oracle for credproc's Roles Anywhere signing (issue 14).

For each case of the helper's own test material (tests/support/make_helper_material.py), both
programs run the same command line against the same emulator, whose verifier is AWS's:

- the helper is accepted: credproc's request is accepted by the same verifier;
- the helper refuses (locally or at the verifier): credproc refuses too, with exit 1 when the
  helper refused locally (the verifier's refusals are credproc's exit 3: AWS said no);
- except the cases listed in BEYOND_THE_ORACLE (one place), where credproc reads what v1.4.0
  cannot and must be accepted.

The helper binary: $CREDPROC_TEST_SIGNING_HELPER (set by .ci/install.d/70-go.sh), else the
cached build under /var/cache/credproc-go. Missing in CI is a failure, on a laptop a skip.
"""

from __future__ import annotations

import glob
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from tests.conftest import require, run_credproc
from tests.support.make_helper_material import P12_PASSWORD, PKCS8_PASSWORD
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN, Emulator, World
from tests.support.ra_world import signing_helper_flags

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_machine_proxies")]

# Read at import: hermetic_env drops every CREDPROC_* variable from each test's environment.
_GO_CACHE = os.environ.get("CREDPROC_GO_CACHE", "/var/cache/credproc-go")
HELPER = os.environ.get("CREDPROC_TEST_SIGNING_HELPER") or next(
    iter(sorted(glob.glob(f"{_GO_CACHE}/aws_signing_helper-v1.4.0/aws_signing_helper"))), ""
)


def require_signing_helper() -> None:
    """Skip (laptop) or fail (CI) without the aws_signing_helper v1.4.0 binary the oracles run."""
    require(
        "aws_signing_helper v1.4.0",
        bool(HELPER) and os.access(HELPER, os.X_OK),
        "set CREDPROC_TEST_SIGNING_HELPER or run .ci/install.d/70-go.sh",
    )


# What credproc reads and aws_signing_helper v1.4.0 does not: the helper refuses these, credproc
# must sign them and be accepted. Each with the reason (research notes, tests/.. signing_helper §0, §3).
BEYOND_THE_ORACLE = {
    "mldsa": "ML-DSA keys and certificates: first in aws_signing_helper v1.8.0 (AWS4-X509-MLDSA)",
    "pkcs8-enc": "encrypted PKCS#8: v1.4.0 has no password for key files (--pkcs8-password is v1.6.0)",
    "der-cert": "a DER certificate: v1.4.0 reads PEM certificates only",
    "der-key": "a DER PKCS#8 key: v1.4.0 reads PEM keys only",
    "p12-self-signed": "a PKCS#12 whose only certificate is self-signed: v1.4.0 finds no end-entity "
    "certificate in it",
    "p12-password": "a password-protected PKCS#12: v1.4.0 always uses the empty password",
    "p12-openssl3": "OpenSSL 3's default PKCS#12 (AES, SHA-256 MAC): v1.4.0 reads SHA1/3DES only",
    "p12-ca-issued": "a CA-issued PKCS#12 (SHA1/3DES, empty password, key + leaf + root): v1.4.0 stops "
    "with 'unsupported algorithm' (observed; cause not traced)",
}


@dataclass(frozen=True)
class Case:
    id: str
    certificate: str | None
    private_key: str | None = None
    intermediates: str | None = None
    anchor: str = ""  # the trust anchor's CA certificate (the self-signed certificate itself)
    beyond: str | None = None  # a BEYOND_THE_ORACLE key
    env: tuple[tuple[str, str], ...] = ()


def _cases() -> list[Case]:
    out: list[Case] = []
    for stem in ("rsa-1024", "rsa-2048", "rsa-4096", "ec-prime256v1", "ec-secp384r1"):
        cert, key = f"certs/{stem}-sha256-cert.pem", f"certs/{stem}-key.pem"
        p12 = f"certs/{stem}-sha256"
        out += [
            Case(f"{stem}-pair", cert, key, anchor=cert),
            Case(f"{stem}-pkcs8", cert, f"certs/{stem}-key-pkcs8.pem", anchor=cert),
            Case(f"{stem}-combo", f"certs/{stem}-sha256-combo.pem", anchor=cert),
            Case(
                f"{stem}-combo-as-both",
                f"certs/{stem}-sha256-combo.pem",
                f"certs/{stem}-sha256-combo.pem",
                anchor=cert,
            ),
            Case(f"{stem}-bundle", cert, key, "certs/cert-bundle.pem", anchor=cert),
            Case(f"{stem}-cert-alone", cert, anchor=cert),
            Case(f"{stem}-key-alone", None, key, anchor=cert),
            Case(f"{stem}-der-cert-alone", f"certs/{stem}-sha256-cert.der", anchor=cert),
            Case(f"{stem}-der-cert", f"certs/{stem}-sha256-cert.der", key, anchor=cert, beyond="der-cert"),
            Case(f"{stem}-der-key", cert, f"certs/{stem}-key-pkcs8.der", anchor=cert, beyond="der-key"),
            Case(
                f"{stem}-pkcs8-enc",
                cert,
                f"certs/{stem}-key-pkcs8-enc.pem",
                anchor=cert,
                beyond="pkcs8-enc",
                env=(("CREDPROC_PRIVATE_KEY_PASSPHRASE", PKCS8_PASSWORD),),
            ),
            Case(f"{stem}-p12", f"{p12}.p12", anchor=cert, beyond="p12-self-signed"),
            Case(
                f"{stem}-p12-password",
                f"{p12}-pass.p12",
                anchor=cert,
                beyond="p12-password",
                env=(("CREDPROC_PRIVATE_KEY_PASSPHRASE", P12_PASSWORD),),
            ),
            Case(f"{stem}-p12-openssl3", f"{p12}-openssl3.p12", anchor=cert, beyond="p12-openssl3"),
        ]
        if stem.startswith("rsa"):
            out.append(Case(f"{stem}-pkcs1", cert, f"certs/{stem}-key-pkcs1.pem", anchor=cert))
    # A key of another type than the certificate's: the helper signs with the key, the verifier refuses.
    out.append(
        Case(
            "ec-cert-rsa-key",
            "certs/ec-prime256v1-sha256-cert.pem",
            "certs/rsa-2048-key.pem",
            anchor="certs/ec-prime256v1-sha256-cert.pem",
        )
    )
    out.append(
        Case(
            "rsa-cert-ec-key",
            "certs/rsa-2048-sha256-cert.pem",
            "certs/ec-prime256v1-key.pem",
            anchor="certs/rsa-2048-sha256-cert.pem",
        )
    )
    for kind in ("mldsa44", "mldsa65", "mldsa87"):
        cert = f"certs/{kind}-cert.pem"
        out += [
            Case(f"{kind}-pair", cert, f"certs/{kind}-key.pem", anchor=cert, beyond="mldsa"),
            Case(f"{kind}-combo", f"certs/{kind}-combo.pem", anchor=cert, beyond="mldsa"),
            Case(
                f"{kind}-enc",
                cert,
                f"certs/{kind}-key-enc.pem",
                anchor=cert,
                beyond="mldsa",
                env=(("CREDPROC_PRIVATE_KEY_PASSPHRASE", PKCS8_PASSWORD),),
            ),
        ]
    cp, root = "credential-process-data", "credential-process-data/root-cert.pem"
    out += [
        Case("ca-issued-pair", f"{cp}/client-cert.pem", f"{cp}/client-key.pem", anchor=root),
        Case("ca-issued-combo", f"{cp}/client-combo.pem", anchor=root),
        Case("ca-issued-chain", f"{cp}/client-cert.pem", f"{cp}/client-key.pem", root, anchor=root),
        Case("ca-issued-p12", f"{cp}/client.p12", anchor=root, beyond="p12-ca-issued"),
        Case(
            "ca-issued-wrong-anchor",
            f"{cp}/client-cert.pem",
            f"{cp}/client-key.pem",
            anchor="certs/rsa-2048-sha256-cert.pem",
        ),
    ]
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def oracle_world() -> Iterator[tuple[World, Emulator]]:
    world = World({}, {PROFILE_ARN: {ROLE_ARN}})
    with Emulator(world) as emulator:
        yield world, emulator


def _argv(case: Case, material: Path, url: str) -> list[str]:
    def at(name: str | None) -> Path | None:
        return material / name if name else None

    identity = signing_helper_flags(
        url,
        certificate=at(case.certificate),
        private_key=at(case.private_key),
        intermediates=at(case.intermediates),
    )
    return ["credential-process", *identity]


@dataclass(frozen=True)
class Outcome:
    rc: int
    reached: list[str]  # the verifier's outcomes for this run ("ok", "AccessDeniedException"...)
    stderr: str

    @property
    def accepted(self) -> bool:
        return self.rc == 0 and self.reached == ["ok"]


def _run(world: World, command: list[str], env: dict[str, str], credproc: bool) -> Outcome:
    before = len(world.received)
    if credproc:
        done = run_credproc(*command, "--no-cache", env=env, timeout=60)
    else:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            check=False,
        )
    return Outcome(done.returncode, [r.outcome for r in world.received[before:]], done.stderr)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_credproc_agrees_with_aws_signing_helper(
    case: Case, helper_material: Path, oracle_world: tuple[World, Emulator], tmp_path: Path
) -> None:
    require_signing_helper()
    world, emulator = oracle_world
    anchor = x509.load_pem_x509_certificate((helper_material / case.anchor).read_bytes())
    world.ca_by_anchor.clear()
    world.ca_by_anchor[TRUST_ANCHOR_ARN] = anchor
    argv = _argv(case, helper_material, emulator.url)
    helper_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    helper = _run(world, [HELPER, *argv], helper_env, credproc=False)
    ours = _run(world, argv, {**os.environ, **dict(case.env)}, credproc=True)
    where = (
        f"helper rc={helper.rc} {helper.reached} {helper.stderr.strip()[-200:]!r}; "
        f"credproc rc={ours.rc} {ours.reached} {ours.stderr.strip()[-300:]!r}"
    )
    if case.beyond is not None:
        assert case.beyond in BEYOND_THE_ORACLE
        assert not helper.accepted, f"v1.4.0 now accepts a beyond-the-oracle case: {where}"
        assert ours.accepted, where
    elif helper.accepted:
        assert ours.accepted, where
    elif helper.reached:  # the verifier refused the helper's request: it must refuse or never see ours
        assert ours.rc != 0 and "ok" not in ours.reached, where
    else:  # the helper refused locally
        assert ours.rc == 1 and ours.reached == [], where
