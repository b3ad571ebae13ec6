"""PKCS#11 (issue 14): certificates and keys in a real SoftHSM2 token, found by pkcs11: URI
through the module, signed inside the token, accepted by the emulator; the PIN from the URI, the
terminal (exit 4 without one) or the keyring; and the real aws_signing_helper on the same token."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from credproc.cache import NoCache
from credproc.config import AwsConfig
from credproc.credentials import Credentials
from credproc.errors import ConfigError, NeedsHumanError
from credproc.sources.base import Context
from credproc.sources.rolesanywhere import pkcs11
from credproc.sources.rolesanywhere import source as rolesanywhere
from tests.conftest import require
from tests.support import ra_pki, softhsm
from tests.support.keyrings import MemoryKeyring
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN, Emulator, World
from tests.support.ra_world import signing_helper_flags
from tests.support.runner import run_in_process
from tests.support.terminals import ScriptedTerminal
from tests.test_signing_helper_oracle import HELPER, require_signing_helper

pytestmark = pytest.mark.usefixtures("no_machine_proxies")


ODD = "credproc-odd"  # the second token's label


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[softhsm.Token, ra_pki.Ca]]:
    """One token for the module: rsa-2048 (id 01) and ec-prime256v1 (id 02), each with a
    certificate from a test CA the emulator trusts; and a second token, ODD, of the cases a
    careless token holds (see _odd_objects)."""
    why = softhsm.missing()
    if why is not None:
        require("SoftHSM2 and python-pkcs11", False, f"missing {why}")
    ca = ra_pki.Ca.root("credproc PKCS#11 test CA", index=11)
    made = softhsm.make(tmp_path_factory.mktemp("softhsm"))
    for label, kind, object_id in (("rsa-2048", "rsa2048", 1), ("ec-prime256v1", "p256", 2)):
        key = ra_pki.key(kind, 30)
        made.add(key, ca.leaf(key.public_key(), subject=f"token {label}"), label, object_id)
    _odd_objects(made.add_token(ODD), ca)
    yield made, ca


def _odd_objects(odd: softhsm.Token, ca: ra_pki.Ca) -> None:
    """rsa-2048 again (so a URI without token= matches two slots); a certificate readable only
    after login; one whose key is another RSA key; one whose key is EC; one key that wants its PIN
    at every use (made in the token, as no import tool sets CKA_ALWAYS_AUTHENTICATE)."""
    import pkcs11 as p11

    rsa_key, other_rsa, ec_key = ra_pki.key("rsa2048", 30), ra_pki.key("rsa2048", 31), ra_pki.key("p256", 32)
    odd.add(rsa_key, ca.leaf(rsa_key.public_key(), subject="odd rsa-2048"), "rsa-2048", 1)
    odd.add_key(other_rsa, "private", 2)
    odd.add_certificate(ca.leaf(other_rsa.public_key(), subject="odd private"), "private", 2, private=True)
    odd.add_key(other_rsa, "mismatch", 3)
    odd.add_certificate(ca.leaf(rsa_key.public_key(), subject="odd mismatch"), "mismatch", 3)
    odd.add_key(ec_key, "wrong-type", 4)
    odd.add_certificate(ca.leaf(rsa_key.public_key(), subject="odd wrong-type"), "wrong-type", 4)
    library = p11.lib(odd.lib)
    with library.get_token(token_label=ODD).open(rw=True, user_pin=odd.pin) as session:
        public, _ = session.generate_keypair(
            p11.KeyType.RSA,
            2048,
            id=b"\x05",
            label="always",
            store=True,
            private_template={p11.Attribute.ALWAYS_AUTHENTICATE: True},
        )
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(public[p11.Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(public[p11.Attribute.MODULUS], "big"),
        )
    odd.add_certificate(ca.leaf(numbers.public_key(), subject="odd always"), "always", 5)


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
    require_signing_helper()
    tok = token[0]
    done = subprocess.run(
        [
            HELPER,
            "credential-process",
            *signing_helper_flags(emulator.url, certificate=tok.uri(label)),
            "--pkcs11-lib",
            tok.lib,
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


# Without a token: the URI, the slot matching, the PIN source and the checks made before the module
# is loaded.
def test_a_uri_is_read_into_its_attributes() -> None:
    uri = pkcs11.parse_uri("pkcs11:token=My%20Token;id=%01%ff;object=key;slot-id=0x10?pin-value=12%2634")
    assert uri is not None
    assert (uri.get("token"), uri.path["id"], uri.get("object"), uri.pin) == (
        "My Token",
        b"\x01\xff",
        "key",
        "12&34",
    )
    assert uri.get("serial") is None
    assert pkcs11.parse_uri("/etc/pki/cert.pem") is None and pkcs11.parse_uri(None) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pkcs11:token?pin-value=1234", "has an attribute without a value: 'token'"),
        ("pkcs11:token=t;colour=red?pin-value=1234", "has attributes credproc does not read: colour"),
        (
            "pkcs11:token=t;slot-id=first?pin-value=1234",
            "slot-id in PKCS#11 URI pkcs11:token=t;slot-id=first is",
        ),
    ],
)
def test_a_malformed_uri_is_named_without_its_pin(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        pkcs11.parse_uri(text)
    assert "1234" not in raised.value.message


@dataclass
class Slot:
    slot_id: int = 3
    slot_description: bytes = b"SoftHSM slot ID 0x3" + b" " * 13
    manufacturer_id: str = "SoftHSM project"


@dataclass
class TokenInfo:
    label: bytes = b"credential-helper-test" + b"\x00" * 10  # fixed-width, padded as the module gives it
    manufacturer_id: str = "SoftHSM project   "
    model: str = "SoftHSM v2"
    serial: bytes = b"1f3c2a"


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ("token=credential-helper-test", True),
        ("token=credential-helper-test;slot-description=SoftHSM%20slot%20ID%200x3;slot-id=3", True),
        (
            "manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=1f3c2a;slot-manufacturer=SoftHSM%20project",
            True,
        ),
        ("slot-id=0x3", True),
        ("slot-id=4", False),
        ("token=credential-helper", False),
        ("serial=1F3C2A", False),
    ],
)
def test_slot_attributes_compare_exactly_without_the_padding(query: str, matches: bool) -> None:
    uri = pkcs11.parse_uri("pkcs11:" + query)
    assert uri is not None
    assert pkcs11._slot_matches(Slot(), TokenInfo(), uri) is matches


def test_a_token_certificate_with_a_key_file_is_refused_before_the_module_is_loaded(tmp_path: Path) -> None:
    opener = pkcs11.Pkcs11Opener(str(tmp_path / "no-module.so"), pkcs11.terminal_pin(ScriptedTerminal(None)))
    with pytest.raises(ConfigError, match=r"is in a PKCS#11 token but the private key .*key\.pem is a file"):
        opener("pkcs11:token=t;object=o", str(tmp_path / "key.pem"), None)


def test_without_python_pkcs11_the_extra_to_install_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pkcs11", None)  # import pkcs11 raises ImportError, as uninstalled
    with pytest.raises(ConfigError, match="needs the python-pkcs11 package") as raised:
        pkcs11.Pkcs11Opener("/usr/lib/softhsm/libsofthsm2.so", pkcs11.terminal_pin(ScriptedTerminal(None)))(
            "pkcs11:token=t", None, None
        )
    assert raised.value.hint == "install credproc with the extra: pip install 'credproc[pkcs11]'"


def test_the_pin_comes_from_the_keyring_first_then_the_terminal() -> None:
    terminal = ScriptedTerminal(["from-terminal"])
    stored = {"the PKCS#11 token 'a'": "from-keyring"}
    ask = pkcs11.terminal_pin(terminal, stored.get)
    assert ask("the PKCS#11 token 'a'", 0) == "from-keyring"
    assert ask("the PKCS#11 token 'a'", 1) == "from-terminal"  # the stored PIN proved wrong
    assert terminal.asked == ["PIN for the PKCS#11 token 'a' (wrong, try again): "]
    # Nothing stored under that name: the terminal is asked at once.
    terminal = ScriptedTerminal(["typed"])
    assert pkcs11.terminal_pin(terminal, stored.get)("the PKCS#11 token 'b'", 0) == "typed"
    assert terminal.asked == ["PIN for the PKCS#11 token 'b': "]


def test_a_wrong_keyring_pin_without_a_terminal_is_bad_input_not_a_prompt() -> None:
    ask = pkcs11.terminal_pin(ScriptedTerminal(None), {"the token": "0000"}.get)
    assert ask("the token", 0) == "0000"
    with pytest.raises(ConfigError, match=r"^the PIN stored in the keyring for the token is wrong$"):
        ask("the token", 1)


def _odd_uri(label: str, pin: bool = True) -> str:
    return f"pkcs11:token={ODD};object={label}" + (f"?pin-value={softhsm.PIN}" if pin else "")


def test_a_uri_may_name_the_object_by_its_id(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator
) -> None:
    tok = token[0]
    fetch(emulator, tok, f"pkcs11:token={tok.label};id=%01?pin-value={tok.pin}")
    accepted_with(emulator, "AWS4-X509-RSA-SHA256")


def test_a_key_uri_that_matches_two_tokens_is_refused(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator
) -> None:
    tok = token[0]
    cert = str(tok.directory / "rsa-2048-cert.pem")
    with pytest.raises(ConfigError, match="could not identify a unique token slot for the PKCS#11 key"):
        fetch(emulator, tok, cert, f"pkcs11:object=rsa-2048?pin-value={tok.pin}")
    assert emulator.world.received == []


def test_a_certificate_readable_only_after_login_is_found(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator
) -> None:
    fetch(emulator, token[0], _odd_uri("private"))
    accepted_with(emulator, "AWS4-X509-RSA-SHA256")


@pytest.mark.parametrize("label", ["mismatch", "wrong-type"])
def test_a_certificate_without_its_key_in_the_token_is_refused(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator, label: str
) -> None:
    """The key under the certificate's CKA_ID is another RSA key (its test signature does not
    verify), or an EC key for an RSA certificate (not even tried)."""
    with pytest.raises(
        ConfigError, match=f"no private key in the PKCS#11 token '{ODD}' matches the certificate"
    ):
        fetch(emulator, token[0], _odd_uri(label))
    assert emulator.world.received == []


def test_a_key_that_wants_its_pin_at_every_use_needs_reuse_pin(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator
) -> None:
    with pytest.raises(ConfigError, match="asks for its PIN at every use") as raised:
        fetch(emulator, token[0], _odd_uri("always"))
    assert raised.value.hint == "pass --reuse-pin to give it the user PIN"


def test_three_wrong_pins_on_the_terminal_give_up(
    token: tuple[softhsm.Token, ra_pki.Ca], emulator: Emulator
) -> None:
    ctx = context(["0000", "1111", "2222"])
    with pytest.raises(ConfigError, match=f"^wrong PIN for the PKCS#11 token '{ODD}'$"):
        fetch(emulator, token[0], _odd_uri("rsa-2048", pin=False), ctx=ctx)
    assert isinstance(ctx.terminal, ScriptedTerminal) and len(ctx.terminal.asked) == 3


def test_a_second_opener_shares_the_login_of_one_still_open(token: tuple[softhsm.Token, ra_pki.Ca]) -> None:
    """PKCS#11 logs in the whole application: serve's next refresh opens while the last is open."""
    tok = token[0]
    first = pkcs11.Pkcs11Opener(tok.lib, pkcs11.terminal_pin(ScriptedTerminal(None)))
    second = pkcs11.Pkcs11Opener(tok.lib, pkcs11.terminal_pin(ScriptedTerminal(None)))
    try:
        a = first(tok.uri("ec-prime256v1"), None, None)
        b = second(tok.uri("ec-prime256v1"), None, None)
        assert a.certificate == b.certificate
        assert isinstance(b.key, pkcs11.Pkcs11Key) and b.key.sign_string(b"x")
    finally:
        first.close()
        second.close()


def test_sign_string_signs_in_the_token(token: tuple[softhsm.Token, ra_pki.Ca]) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from credproc.sources.rolesanywhere import diagnostics

    tok = token[0]
    done = run_in_process(
        "sign-string", "--certificate", tok.uri("rsa-2048"), "--pkcs11-lib", tok.lib, "--format", "text"
    )
    assert done.returncode == 0, done.stderr
    public = x509.load_pem_x509_certificate((tok.directory / "rsa-2048-cert.pem").read_bytes()).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        bytes.fromhex(done.stdout), diagnostics.fixed_string(public), padding.PKCS1v15(), hashes.SHA256()
    )
    refused = run_in_process(
        "sign-string", "--certificate", tok.uri("rsa-2048"), "--pkcs11-lib", tok.lib, "--digest", "SHA384"
    )
    assert refused.returncode == 1 and refused.stdout == ""
    assert "a token key signs with SHA256 only here; --digest SHA384 is not supported yet" in refused.stderr
