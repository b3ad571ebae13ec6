"""PKCS#11 (issue 14): certificates and keys in a real SoftHSM2 token, found by pkcs11: URI
through the module, signed inside the token, accepted by the emulator; the PIN from the URI, the
terminal (exit 4 without one) or the keyring; and the real aws_signing_helper on the same token."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from credproc.cache import NoCache
from credproc.config import AwsConfig
from credproc.credentials import Credentials
from credproc.errors import ConfigError, NeedsHumanError
from credproc.sources.base import Context
from credproc.sources.rolesanywhere import source as rolesanywhere
from credproc.terminal import ScriptedTerminal
from tests.conftest import require
from tests.support import ra_pki, softhsm
from tests.support.keyrings import MemoryKeyring
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN, Emulator, World
from tests.test_signing_helper_oracle import HELPER

pytestmark = pytest.mark.usefixtures("no_machine_proxies")


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[softhsm.Token, ra_pki.Ca]]:
    """One token for the module: rsa-2048 (id 01) and ec-prime256v1 (id 02), each with a
    certificate from a test CA the emulator trusts."""
    why = softhsm.missing()
    if why is not None:
        require("SoftHSM2 and python-pkcs11", False, f"missing {why}")
    ca = ra_pki.Ca.root("credproc PKCS#11 test CA", index=11)
    made = softhsm.make(tmp_path_factory.mktemp("softhsm"))
    for label, kind, object_id in (("rsa-2048", "rsa2048", 1), ("ec-prime256v1", "p256", 2)):
        key = ra_pki.key(kind, 30)
        made.add(key, ca.leaf(key.public_key(), subject=f"token {label}"), label, object_id)
    yield made, ca


@pytest.fixture
def emulator(token: tuple[softhsm.Token, ra_pki.Ca]) -> Iterator[Emulator]:
    world = World({TRUST_ANCHOR_ARN: token[1].cert}, {PROFILE_ARN: {ROLE_ARN}})
    with Emulator(world) as emu:
        yield emu


def context(answers: list[str] | None = None) -> Context:
    return Context(
        environ={},
        config=AwsConfig({}),
        cache=NoCache(),
        terminal=ScriptedTerminal(answers),
        warn=lambda m: None,
    )


def fetch(
    emu: Emulator,
    tok: softhsm.Token,
    certificate: str,
    private_key: str | None = None,
    ctx: Context | None = None,
    **extra: str,
) -> Credentials:
    ctx = ctx or context()
    options = {
        "certificate": certificate,
        "trust_anchor_arn": TRUST_ANCHOR_ARN,
        "profile_arn": PROFILE_ARN,
        "role_arn": ROLE_ARN,
        "endpoint": emu.url,
        "pkcs11_lib": tok.lib,
        **extra,
    }
    if private_key:
        options["private_key"] = private_key
    source = rolesanywhere.from_flags(ctx, options)
    assert source is not None
    return source.fetch(ctx)


def accepted_with(emu: Emulator, algorithm: str) -> None:
    assert [r.outcome for r in emu.world.received] == ["ok"]
    assert emu.world.received[0].headers["authorization"].startswith(algorithm + " ")


@pytest.mark.parametrize(
    ("label", "algorithm"),
    [("rsa-2048", "AWS4-X509-RSA-SHA256"), ("ec-prime256v1", "AWS4-X509-ECDSA-SHA256")],
)
def test_a_certificate_uri_alone_finds_its_key_and_signs_in_the_token(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator, label: str, algorithm: str
) -> None:
    tok = token[0]
    assert fetch(emulator, tok, tok.uri(label)).access_key_id.startswith("ASIARAEMU")
    accepted_with(emulator, algorithm)


def test_a_file_certificate_with_a_key_uri(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator, tmp_path: Path
) -> None:
    tok = token[0]
    cert = tmp_path / "cert.pem"
    cert.write_bytes((tok.directory / "ec-prime256v1-cert.pem").read_bytes())
    fetch(emulator, tok, str(cert), tok.uri("ec-prime256v1"))
    accepted_with(emulator, "AWS4-X509-ECDSA-SHA256")
    # The token's key URI without an object: the key that matches the certificate is found.
    fetch(emulator, tok, str(cert), f"pkcs11:token={tok.label}?pin-value={tok.pin}")


def test_without_a_pin_or_a_terminal_a_human_is_needed(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator
) -> None:
    tok = token[0]
    with pytest.raises(NeedsHumanError, match="needs its user PIN and there is no terminal"):
        fetch(emulator, tok, tok.uri("rsa-2048", pin=False), ctx=context(None))
    assert emulator.world.received == []


def test_the_pin_is_asked_on_the_terminal(token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator) -> None:
    tok = token[0]
    ctx = context(["0000", tok.pin])
    fetch(emulator, tok, tok.uri("rsa-2048", pin=False), ctx=ctx)
    assert isinstance(ctx.terminal, ScriptedTerminal)
    assert len(ctx.terminal.asked) == 2 and "wrong, try again" in ctx.terminal.asked[1]
    accepted_with(emulator, "AWS4-X509-RSA-SHA256")


def test_the_pin_from_the_keyring_on_request(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator, memory: MemoryKeyring
) -> None:
    from credproc import keystore

    tok = token[0]
    keystore.store("passphrase", f"pkcs11:{tok.label}", tok.pin)
    fetch(emulator, tok, tok.uri("ec-prime256v1", pin=False), ctx=context(None), pin_from_keyring="true")
    accepted_with(emulator, "AWS4-X509-ECDSA-SHA256")


def test_a_wrong_pin_in_the_uri_is_bad_input(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator
) -> None:
    tok = token[0]
    with pytest.raises(ConfigError, match="wrong PIN") as info:
        fetch(emulator, tok, f"pkcs11:token={tok.label};object=rsa-2048?pin-value=9999")
    assert "9999" not in str(info.value.message)


def test_no_matching_token_or_object_is_named(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator
) -> None:
    tok = token[0]
    with pytest.raises(ConfigError, match="no PKCS#11 token matches"):
        fetch(emulator, tok, "pkcs11:token=nope?pin-value=1234")
    with pytest.raises(ConfigError, match="no certificate in the PKCS#11 token matches"):
        fetch(emulator, tok, tok.uri("nope"))
    with pytest.raises(ConfigError, match="2 certificates in the PKCS#11 token match"):
        fetch(emulator, tok, tok.uri())


def test_a_missing_module_is_named(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator, tmp_path: Path
) -> None:
    tok = token[0]
    with pytest.raises(ConfigError, match="cannot load the PKCS#11 module"):
        fetch(emulator, tok, tok.uri("rsa-2048"), pkcs11_lib=str(tmp_path / "nope.so"))


@pytest.mark.e2e
@pytest.mark.parametrize("label", ["rsa-2048", "ec-prime256v1"])
def test_aws_signing_helper_agrees_on_the_token(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator, label: str, tmp_path: Path
) -> None:
    require(
        "aws_signing_helper v1.4.0",
        bool(HELPER) and os.access(HELPER, os.X_OK),
        "set CREDPROC_TEST_SIGNING_HELPER or run .ci/install.d/70-go.sh",
    )
    tok = token[0]
    done = subprocess.run(
        [
            HELPER,
            "credential-process",
            "--certificate",
            tok.uri(label),
            "--pkcs11-lib",
            tok.lib,
            "--trust-anchor-arn",
            TRUST_ANCHOR_ARN,
            "--profile-arn",
            PROFILE_ARN,
            "--role-arn",
            ROLE_ARN,
            "--endpoint",
            emulator.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "SOFTHSM2_CONF": str(tok.conf)},
    )
    assert done.returncode == 0, done.stderr
    assert [r.outcome for r in emulator.world.received] == ["ok"]
    helper_alg = emulator.world.received[0].headers["authorization"].split()[0]
    fetch(emulator, tok, tok.uri(label))
    assert [r.outcome for r in emulator.world.received] == ["ok", "ok"]
    assert emulator.world.received[1].headers["authorization"].split()[0] == helper_alg
