"""Private keys in a TPM 2.0, as aws_signing_helper takes them: a persistent ``handle:0x81...`` or a
``TSS2 PRIVATE KEY`` PEM file (the tpm2-openssl / tpm2-tss-engine format: the key's public and
TPM-wrapped private blobs and its parent). The certificate is always a file.

- Which TPM: the TCTI, as tpm2-tools reads it (``TPM2TOOLS_TCTI``, ``TCTI``, then ``TSS2_TCTI``),
  else aws_signing_helper's ``TPM_DEVICE`` (a device path), else the tpm2-tss default (the resource
  manager daemon, ``/dev/tpmrm0``, ``/dev/tpm0``, a local swtpm/mssim).
- The parent of a PEM key: its persistent handle, or for the owner hierarchy (``0x40000001``) the
  primary key of the TCG "TPM 2.0 Key Files" template, made afresh (it is deterministic).
- The key's password (its authValue): ``--tpm-key-password``; none with ``--no-tpm-key-password``
  or a PEM file marked ``emptyAuth`` (a password for such a file is refused, as the helper does);
  otherwise asked on the terminal, and with no terminal, exit 4.
- Signing happens in the TPM: RSASSA-PKCS1v1.5 SHA-256, or ECDSA over the SHA-256 digest (for
  P-384 the digest is zero-padded to the curve size, as the helper does); the key never leaves it.

Needs the optional ``tpm2-pytss`` package (``pip install 'credproc[tpm]'``), and libtss2.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from credproc.errors import ConfigError
from credproc.terminal import ask_secret

HANDLE_PREFIX = "handle:"
TCTI_VARIABLES = ("TPM2TOOLS_TCTI", "TCTI", "TSS2_TCTI")
RSA_ALGORITHM, ECDSA_ALGORITHM = "AWS4-X509-RSA-SHA256", "AWS4-X509-ECDSA-SHA256"
TEST_MESSAGE = b"credproc TPM key check"
PASSWORD_PROMPTS = 3
PERSISTENT_TYPE = 0x81
OWNER = 0x40000001

# (what the password is for, attempt from 0) -> the password; raises NeedsHumanError with no one to ask.
PasswordSource = Callable[[str, int], str]


def tcti(environ: Mapping[str, str]) -> str | None:
    """The TCTI configuration string, or None for the tpm2-tss default."""
    for name in TCTI_VARIABLES:
        if environ.get(name):
            return environ[name]
    device = environ.get("TPM_DEVICE")
    return f"device:{device}" if device else None


def parse_handle(text: str) -> int:
    body = text[len(HANDLE_PREFIX) :]
    try:
        value = int(body.removeprefix("0x").removeprefix("0X"), 16)
    except ValueError:
        raise ConfigError(f"TPM key {text} is not a handle:0x... hex handle") from None
    if value >> 24 != PERSISTENT_TYPE:
        raise ConfigError(
            f"TPM key {text} is not a persistent handle (0x81000000-0x81ffffff)",
            "make the key persistent with tpm2_evictcontrol, or pass its TSS2 PRIVATE KEY file",
        )
    return value


def _library() -> Any:
    # tpm2-tss logs its errors to stderr itself; credproc says what went wrong in one line.
    os.environ.setdefault("TSS2_LOG", "all+NONE")
    try:
        import tpm2_pytss
        import tpm2_pytss.tsskey
    except ImportError:
        raise ConfigError(
            "TPM keys need the tpm2-pytss package (and libtss2)",
            "install credproc with the extra: pip install 'credproc[tpm]'",
        ) from None
    return tpm2_pytss


def _error_code(exc: Exception) -> int | None:
    error = getattr(exc, "error", None)
    return int(error) if error is not None else None


@dataclass
class TpmKey:
    """A ``material.TokenKey``: a key loaded in the TPM, used through an open ESAPI context."""

    esapi: Any = field(repr=False)
    handle: Any = field(repr=False)
    algorithm: str
    digest_size: int  # bytes of the digest the TPM signs: 32, or the curve size for ECDSA
    name: str

    def sign_string(self, message: bytes) -> bytes:
        lib = _library()
        digest = hashlib.sha256(message).digest()
        types, constants = lib.types, lib.constants
        if self.algorithm == RSA_ALGORITHM:
            scheme = types.TPMT_SIG_SCHEME(scheme=constants.TPM2_ALG.RSASSA)
            scheme.details.any.hashAlg = constants.TPM2_ALG.SHA256
        else:
            # The helper's convention: the SHA-256 digest, zero-padded to the curve's size, signed
            # under the hash of that size (the same integer, so any ECDSA-SHA256 verifier agrees).
            digest = digest.rjust(self.digest_size, b"\0")
            hash_alg = {32: "SHA256", 48: "SHA384"}[self.digest_size]
            scheme = types.TPMT_SIG_SCHEME(scheme=constants.TPM2_ALG.ECDSA)
            scheme.details.any.hashAlg = getattr(constants.TPM2_ALG, hash_alg)
        ticket = types.TPMT_TK_HASHCHECK(tag=constants.TPM2_ST.HASHCHECK, hierarchy=constants.TPM2_RH.NULL)
        signature = self.esapi.sign(self.handle, types.TPM2B_DIGEST(digest), scheme, ticket)
        if self.algorithm == RSA_ALGORITHM:
            return bytes(signature.signature.rsassa.sig)
        ecdsa = signature.signature.ecdsa
        return encode_dss_signature(
            int.from_bytes(bytes(ecdsa.signatureR), "big"), int.from_bytes(bytes(ecdsa.signatureS), "big")
        )


def _algorithm(public: Any, cert: x509.Certificate, name: str) -> tuple[str, int]:
    """The Roles Anywhere algorithm and digest size; the TPM key must be the certificate's."""
    key = serialization.load_der_public_key(bytes(public.to_der()))
    if key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise ConfigError(
            f"the TPM key {name} does not match the certificate {cert.subject.rfc4514_string()}",
            "pass the certificate issued for this key",
        )
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_ALGORITHM, 32
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, (ec.SECP256R1, ec.SECP384R1)):
        return ECDSA_ALGORITHM, (key.curve.key_size + 7) // 8
    raise ConfigError(f"the TPM key {name} is neither RSA nor EC P-256/P-384")


@dataclass
class TpmOpener:
    """Opens TPM keys named by ``--private-key``; passed to ``material.load(tpm=...)``.

    ``password``: the key's password (``--tpm-key-password``), "" for none
    (``--no-tpm-key-password``), None to ask ``ask`` when the key needs one.
    """

    environ: Mapping[str, str]
    ask: PasswordSource
    password: str | None = field(default=None, repr=False)
    _esapi: Any = field(default=None, repr=False)
    _transient: list[Any] = field(default_factory=list, repr=False)

    def __call__(self, reference: str, pem: bytes | None, cert: x509.Certificate) -> TpmKey:
        lib = _library()
        # What the reference names is checked before the TPM is reached, so a bad one is named.
        number = parse_handle(reference) if pem is None else None
        file_key = self._read_file(lib, reference, pem) if pem is not None else None
        esapi = self._connect(lib)
        try:
            if file_key is None:
                handle = esapi.tr_from_tpmpublic(number)
                public = esapi.read_public(handle)[0].publicArea
                password = self.password
            else:
                handle, public, password = self._load_file(lib, esapi, reference, file_key)
        except lib.TSS2_Exception as exc:
            raise self._failure(lib, exc, reference) from None
        algorithm, digest_size = _algorithm(public, cert, reference)
        key = TpmKey(esapi, handle, algorithm, digest_size, reference)
        self._unlock(lib, key, password)
        return key

    def close(self) -> None:
        """Flush what was loaded and end the connection: after the signing."""
        if self._esapi is None:
            return
        while self._transient:
            with contextlib.suppress(Exception):  # an object the TPM already dropped
                self._esapi.flush_context(self._transient.pop())
        with contextlib.suppress(Exception):
            self._esapi.close()
        self._esapi = None

    def _connect(self, lib: Any) -> Any:
        if self._esapi is None:
            config = tcti(self.environ)
            try:
                self._esapi = lib.ESAPI(config)
            except Exception as exc:  # the TCTI's own errors: no device, nothing listening
                raise ConfigError(
                    f"cannot reach the TPM ({config or 'the tpm2-tss default TCTI'}): {_short(exc)}",
                    "set TPM2TOOLS_TCTI (e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321)",
                ) from None
        return self._esapi

    def _read_file(self, lib: Any, path: str, pem: bytes) -> Any:
        try:
            return lib.tsskey.TSSPrivKey.from_der(_pem_body(pem))
        except Exception:
            raise ConfigError(f"private key file {path} is not a readable TSS2 PRIVATE KEY") from None

    def _load_file(self, lib: Any, esapi: Any, path: str, key: Any) -> tuple[Any, Any, str | None]:
        password = self.password
        if key.empty_auth:
            if password:
                raise ConfigError(
                    f"a TPM key password was given but the key file {path} says it needs none",
                    "drop --tpm-key-password",
                )
            password = ""
        elif password == "":
            password = None  # the file, not the flag, says whether there is one (as the helper has it)
        parent = int(key.parent)
        if parent != OWNER and parent >> 24 != PERSISTENT_TYPE:
            raise ConfigError(f"the TPM key file {path} has a parent credproc cannot load: {parent:#x}")
        parent_handle = lib.tsskey.TSSPrivKey._getparent(esapi, key.public.publicArea.type, parent)
        try:
            handle = esapi.load(parent_handle, key.private, key.public)
        finally:
            if parent == OWNER:
                esapi.flush_context(parent_handle)
        self._transient.append(handle)
        return handle, key.public.publicArea, password

    def _unlock(self, lib: Any, key: TpmKey, password: str | None) -> None:
        """Give the key its password, checked by a test signature (asked again when wrong)."""
        what = f"the TPM key {key.name}"
        # No silent try of the empty password first: every wrong authorisation of a key under
        # dictionary-attack protection counts towards the TPM's lockout.
        attempts = [password] if password is not None else []
        attempt = 0
        while True:
            if not attempts:
                if password is not None or attempt >= PASSWORD_PROMPTS:
                    raise ConfigError(f"wrong password for {what}")
                attempts.append(self.ask(what, attempt))
                attempt += 1
            key.esapi.tr_set_auth(key.handle, attempts.pop().encode())
            try:
                key.sign_string(TEST_MESSAGE)
                return
            except lib.TSS2_Exception as exc:
                if _error_code(exc) not in (
                    int(lib.constants.TPM2_RC.AUTH_FAIL),
                    int(lib.constants.TPM2_RC.BAD_AUTH),
                ):
                    raise self._failure(lib, exc, key.name) from None

    def _failure(self, lib: Any, exc: Exception, name: str) -> ConfigError:
        code = _error_code(exc)
        rc = lib.constants.TPM2_RC
        if code == int(rc.LOCKOUT):
            return ConfigError(
                f"the TPM refuses {name}: it is in dictionary-attack lockout after wrong passwords",
                "wait for the lockout to expire, or clear it (tpm2_dictionarylockout --clear-lockout)",
            )
        if code in (int(rc.HANDLE), int(rc.REFERENCE_H0), int(rc.VALUE)):
            return ConfigError(f"the TPM has no key {name}")
        return ConfigError(f"the TPM cannot use the key {name}: {_short(exc)}")


def _pem_body(pem: bytes) -> bytes:
    lines = pem.strip().splitlines()
    return base64.b64decode(b"".join(line for line in lines[1:-1] if b":" not in line))


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def terminal_password(terminal: Any) -> PasswordSource:
    """A PasswordSource on the terminal; with no terminal, NeedsHumanError (exit 4)."""

    def ask(what: str, attempt: int) -> str:
        return ask_secret(
            terminal,
            what,
            attempt,
            label="Password",
            noun="password",
            hint="pass --tpm-key-password, or --no-tpm-key-password for a key without one",
        )

    return ask
