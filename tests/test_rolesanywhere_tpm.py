"""TPM 2.0 keys (issue 14): persistent handle:0x... keys and TSS2 PRIVATE KEY files in a real
software TPM (swtpm, started here), signed inside it, accepted by the Roles Anywhere emulator; the
key password from --tpm-key-password, none with --no-tpm-key-password, asked on the terminal (exit 4
without one); the cache as for file keys; and the real aws_signing_helper on the same TPM."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from credproc.cache import NoCache
from credproc.config import AwsConfig
from credproc.credentials import Credentials
from credproc.errors import ConfigError, NeedsHumanError
from credproc.sources.base import Context
from credproc.sources.rolesanywhere import source as rolesanywhere
from tests.conftest import require
from tests.support import ra_pki, swtpm
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN, Emulator, World
from tests.support.ra_world import signing_helper_flags
from tests.support.runner import run_in_process
from tests.support.terminals import ScriptedTerminal
from tests.test_signing_helper_oracle import HELPER, require_signing_helper

pytestmark = pytest.mark.usefixtures("no_machine_proxies")
PASSWORD = "tpm-secret"
EC_HANDLE, EC_PW_HANDLE, RSA_HANDLE, P384_HANDLE = 0x81000010, 0x81000011, 0x81000012, 0x81000013


@dataclass(frozen=True)
class Keys:
    tpm: swtpm.Tpm
    ca: ra_pki.Ca
    certs: dict[str, Path]  # key name -> its certificate file
    refs: dict[str, str]  # key name -> handle:0x... or the TSS2 PRIVATE KEY file


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    why = swtpm.missing()
    if why is not None:
        require("swtpm, tpm2-tools and tpm2-pytss", False, f"missing {why}")
    directory = tmp_path_factory.mktemp("swtpm")
    tpm = swtpm.Tpm.start(directory)
    try:
        ca = ra_pki.Ca.root("credproc TPM test CA", index=12)
        publics = {
            "ec-handle": tpm.persistent("ec-handle", "p256", EC_HANDLE),
            "ec-handle-pw": tpm.persistent("ec-handle-pw", "p256", EC_PW_HANDLE, PASSWORD),
            "rsa-handle": tpm.persistent("rsa-handle", "rsa2048", RSA_HANDLE),
            # P-384: the TPM signs the SHA-256 digest zero-padded to 48 bytes, as the helper has it.
            "p384-handle": tpm.persistent("p384-handle", "p384", P384_HANDLE),
        }
        refs = {"ec-handle": f"handle:{EC_HANDLE:#x}", "ec-handle-pw": f"handle:{EC_PW_HANDLE:#x}"}
        refs["rsa-handle"] = f"handle:{RSA_HANDLE:#x}"
        refs["p384-handle"] = f"handle:{P384_HANDLE:#x}"
        for name, password in (("ec-file", None), ("ec-file-pw", PASSWORD)):
            path, publics[name] = tpm.key_file(name, "p256", password)
            refs[name] = str(path)
        certs = {}
        for name, public in publics.items():
            certs[name] = directory / f"{name}-cert.pem"
            cert = ca.leaf(public, subject=f"tpm {name}")
            certs[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        yield Keys(tpm, ca, certs, refs)
    finally:
        tpm.stop()


@pytest.fixture
def emulator(keys: Keys) -> Iterator[Emulator]:
    world = World({TRUST_ANCHOR_ARN: keys.ca.cert}, {PROFILE_ARN: {ROLE_ARN}})
    with Emulator(world) as emu:
        yield emu


def context(keys: Keys, answers: list[str] | None = None) -> Context:
    return Context(
        environ={"TPM2TOOLS_TCTI": keys.tpm.tcti},
        config=AwsConfig({}),
        cache=NoCache(),
        terminal=ScriptedTerminal(answers),
        warn=lambda m: None,
    )


def fetch(emu: Emulator, keys: Keys, name: str, ctx: Context | None = None, **extra: str) -> Credentials:
    ctx = ctx or context(keys)
    options = {
        "certificate": str(keys.certs[name]),
        "private_key": keys.refs[name],
        "trust_anchor_arn": TRUST_ANCHOR_ARN,
        "profile_arn": PROFILE_ARN,
        "role_arn": ROLE_ARN,
        "endpoint": emu.url,
        **extra,
    }
    source = rolesanywhere.from_flags(ctx, options)
    assert source is not None
    return source.fetch(ctx)


def accepted_with(emu: Emulator, algorithm: str, count: int = 1) -> None:
    assert [r.outcome for r in emu.world.received] == ["ok"] * count
    assert emu.world.received[-1].headers["authorization"].startswith(algorithm + " ")


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [
        ("ec-handle", "AWS4-X509-ECDSA-SHA256"),
        ("rsa-handle", "AWS4-X509-RSA-SHA256"),
        ("p384-handle", "AWS4-X509-ECDSA-SHA256"),
        ("ec-file", "AWS4-X509-ECDSA-SHA256"),
    ],
)
def test_a_tpm_key_without_a_password_signs_in_the_tpm(
    keys: Keys, emulator: Emulator, name: str, algorithm: str
) -> None:
    # A handle needs --no-tpm-key-password not to be asked; a file says emptyAuth itself.
    extra = {"no_tpm_key_password": "true"} if "handle" in name else {}
    assert fetch(emulator, keys, name, None, **extra).access_key_id.startswith("ASIARAEMU")
    accepted_with(emulator, algorithm)


@pytest.mark.parametrize("name", ["ec-handle-pw", "ec-file-pw"])
def test_a_tpm_key_with_its_password(keys: Keys, emulator: Emulator, name: str) -> None:
    fetch(emulator, keys, name, tpm_key_password=PASSWORD)
    accepted_with(emulator, "AWS4-X509-ECDSA-SHA256")


@pytest.mark.parametrize("name", ["ec-handle-pw", "ec-file-pw"])
def test_a_wrong_tpm_key_password_is_bad_input(keys: Keys, emulator: Emulator, name: str) -> None:
    with pytest.raises(ConfigError, match="wrong password for the TPM key") as info:
        fetch(emulator, keys, name, tpm_key_password="not-it")
    assert "not-it" not in info.value.message
    assert emulator.world.received == []


def test_the_password_is_asked_on_the_terminal_until_right(keys: Keys, emulator: Emulator) -> None:
    ctx = context(keys, ["not-it", PASSWORD])
    fetch(emulator, keys, "ec-handle-pw", ctx=ctx)
    assert isinstance(ctx.terminal, ScriptedTerminal)
    assert len(ctx.terminal.asked) == 2 and "wrong, try again" in ctx.terminal.asked[1]
    accepted_with(emulator, "AWS4-X509-ECDSA-SHA256")


def test_without_a_terminal_a_human_is_needed(keys: Keys, emulator: Emulator) -> None:
    with pytest.raises(NeedsHumanError, match="needs its password and there is no terminal"):
        fetch(emulator, keys, "ec-file-pw", ctx=context(keys, None))
    assert emulator.world.received == []


def test_a_password_for_a_key_file_that_needs_none_is_refused(keys: Keys, emulator: Emulator) -> None:
    with pytest.raises(ConfigError, match="says it needs none"):
        fetch(emulator, keys, "ec-file", tpm_key_password=PASSWORD)


def test_the_key_must_match_the_certificate(keys: Keys, emulator: Emulator) -> None:
    ctx = context(keys)
    options = {
        "certificate": str(keys.certs["ec-file"]),
        "private_key": keys.refs["ec-handle"],
        "no_tpm_key_password": "true",
        "trust_anchor_arn": TRUST_ANCHOR_ARN,
        "profile_arn": PROFILE_ARN,
        "role_arn": ROLE_ARN,
        "endpoint": emulator.url,
    }
    source = rolesanywhere.from_flags(ctx, options)
    assert source is not None
    with pytest.raises(ConfigError, match="does not match the certificate"):
        source.fetch(ctx)


def test_a_handle_that_is_not_there_or_not_persistent(keys: Keys, emulator: Emulator) -> None:
    with pytest.raises(ConfigError, match="the TPM has no key handle:0x81000099"):
        fetch(emulator, keys, "ec-handle", private_key="handle:0x81000099", no_tpm_key_password="true")
    with pytest.raises(ConfigError, match="not a persistent handle"):
        fetch(emulator, keys, "ec-handle", private_key="handle:0x80000001", no_tpm_key_password="true")


def test_no_tpm_to_reach_is_one_line(keys: Keys, emulator: Emulator, tmp_path: Path) -> None:
    ctx = context(keys)
    ctx = Context(
        environ={"TPM2TOOLS_TCTI": f"swtpm:host=127.0.0.1,port={swtpm._free_port()}"},
        config=ctx.config,
        cache=ctx.cache,
        terminal=ctx.terminal,
        warn=ctx.warn,
    )
    with pytest.raises(ConfigError, match="cannot reach the TPM"):
        fetch(emulator, keys, "ec-handle", ctx=ctx, no_tpm_key_password="true")


def cli(keys: Keys, emu: Emulator, home: Path, name: str, *flags: str) -> tuple[int, str, str]:
    done = run_in_process(
        "credential-process",
        *signing_helper_flags(emu.url, certificate=keys.certs[name], private_key=keys.refs[name]),
        *flags,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TPM2TOOLS_TCTI": keys.tpm.tcti},
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("name", "flags"),
    [("ec-handle-pw", ("--tpm-key-password", PASSWORD)), ("ec-handle", ("--no-tpm-key-password",))],
)
def test_credential_process_with_a_tpm_key_and_the_cache(
    keys: Keys, emulator: Emulator, tmp_path: Path, name: str, flags: tuple[str, ...]
) -> None:
    first = cli(keys, emulator, tmp_path, name, *flags)
    assert first[0] == 0, first[2]
    assert json.loads(first[1])["AccessKeyId"].startswith("ASIARAEMU")
    # The second run is served from the cache: the TPM and the service are not asked again.
    second = cli(keys, emulator, tmp_path, name, *flags)
    assert second[:2] == first[:2]
    accepted_with(emulator, "AWS4-X509-ECDSA-SHA256")


def test_credential_process_exit_codes(keys: Keys, emulator: Emulator, tmp_path: Path) -> None:
    rc, out, err = cli(keys, emulator, tmp_path, "ec-file-pw", "--tpm-key-password", "not-it")
    assert (rc, out) == (1, "")
    assert len(err.strip().splitlines()) == 1 and "wrong password for the TPM key" in err
    assert "not-it" not in err and "Traceback" not in err
    # No terminal to ask on: fails fast, exit 4, as MFA does.
    rc, out, err = cli(keys, emulator, tmp_path, "ec-handle-pw")
    assert (rc, out) == (4, "")
    assert "needs its password and there is no terminal" in err and "Traceback" not in err
    assert emulator.world.received == []


def test_a_profile_with_a_tpm_handle(keys: Keys, emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text(
        "[profile tpm]\n"
        f"rolesanywhere_certificate = {keys.certs['ec-handle']}\n"
        f"rolesanywhere_private_key = {keys.refs['ec-handle']}\n"
        "rolesanywhere_no_tpm_key_password = true\n"
        f"rolesanywhere_trust_anchor_arn = {TRUST_ANCHOR_ARN}\n"
        f"rolesanywhere_profile_arn = {PROFILE_ARN}\n"
        f"rolesanywhere_role_arn = {ROLE_ARN}\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TPM2TOOLS_TCTI": keys.tpm.tcti,
        "AWS_ENDPOINT_URL_ROLESANYWHERE": emulator.url,
    }
    done = run_in_process("credential-process", "--profile", "tpm", env=env)
    assert done.returncode == 0, done.stderr
    accepted_with(emulator, "AWS4-X509-ECDSA-SHA256")


def helper_run(keys: Keys, emu: Emulator, home: Path, name: str, *flags: str) -> tuple[int, str]:
    """aws_signing_helper on the same TPM, under a pseudo-terminal: v1.4.0 opens /dev/tty before
    signing with any TPM key, even with --no-tpm-key-password, and fails without one."""
    import pexpect

    identity = signing_helper_flags(emu.url, certificate=keys.certs[name], private_key=keys.refs[name])
    argv = ["credential-process", *identity, *flags]
    with keys.tpm.on_unix_socket() as sock:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TPM_DEVICE": str(sock)}
        child = pexpect.spawn(HELPER, argv, env=env, timeout=60)
        output = child.read().decode()
        child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1), output


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("ec-handle", ("--no-tpm-key-password",)),
        ("rsa-handle", ("--no-tpm-key-password",)),
        ("p384-handle", ("--no-tpm-key-password",)),
        ("ec-handle-pw", ("--tpm-key-password", PASSWORD)),
        ("ec-file-pw", ("--tpm-key-password", PASSWORD)),
    ],
)
def test_aws_signing_helper_agrees_on_the_tpm(
    keys: Keys, emulator: Emulator, tmp_path: Path, name: str, flags: tuple[str, ...]
) -> None:
    require_signing_helper()
    rc, output = helper_run(keys, emulator, tmp_path, name, *flags)
    assert rc == 0, output
    assert [r.outcome for r in emulator.world.received] == ["ok"]
    helper_alg = emulator.world.received[0].headers["authorization"].split()[0]
    rc, _, err = cli(keys, emulator, tmp_path, name, *flags, "--no-cache")
    assert rc == 0, err
    assert [r.outcome for r in emulator.world.received] == ["ok", "ok"]
    assert emulator.world.received[1].headers["authorization"].split()[0] == helper_alg


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("name", "flags"),
    [("ec-file-pw", ("--tpm-key-password", "not-it")), ("ec-file", ("--tpm-key-password", PASSWORD))],
)
def test_aws_signing_helper_and_credproc_refuse_alike(
    keys: Keys, emulator: Emulator, tmp_path: Path, name: str, flags: tuple[str, ...]
) -> None:
    require_signing_helper()
    rc, output = helper_run(keys, emulator, tmp_path, name, *flags)
    assert rc == 1, output
    assert cli(keys, emulator, tmp_path, name, *flags, "--no-cache")[0] == 1
    assert emulator.world.received == []


@pytest.mark.parametrize(
    ("name", "flags"),
    [("ec-handle", ("--no-tpm-key-password",)), ("ec-file-pw", ("--tpm-key-password", PASSWORD))],
)
def test_sign_string_signs_in_the_tpm(keys: Keys, name: str, flags: tuple[str, ...]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from credproc.sources.rolesanywhere.diagnostics import fixed_string

    done = run_in_process(
        "sign-string",
        "--certificate",
        str(keys.certs[name]),
        "--private-key",
        keys.refs[name],
        *flags,
        "--format",
        "text",
        env={"PATH": os.environ.get("PATH", ""), "TPM2TOOLS_TCTI": keys.tpm.tcti},
    )
    assert done.returncode == 0, done.stderr
    public = x509.load_pem_x509_certificate(keys.certs[name].read_bytes()).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(bytes.fromhex(done.stdout), fixed_string(public), ec.ECDSA(hashes.SHA256()))
