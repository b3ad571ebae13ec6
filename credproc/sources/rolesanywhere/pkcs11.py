"""Certificates and keys in a PKCS#11 token (a smart card, an HSM, SoftHSM2), as aws_signing_helper
finds them: ``pkcs11:`` URIs (the RFC 7512 subset the helper reads) through ``--pkcs11-lib``.

- Token and slot attributes: ``token``, ``manufacturer``, ``model``, ``serial``, ``slot-id``,
  ``slot-description``, ``slot-manufacturer`` (exact comparisons, trailing blanks stripped).
  Object attributes: ``object`` (CKA_LABEL) and ``id`` (CKA_ID, percent-encoded bytes); ``type``
  is ignored. The PIN: the ``pin-value`` query attribute; ``module-path``/``pin-source`` are not read.
- The certificate: from ``--certificate`` (a URI, or a file with a URI key). Searched without
  logging in first, then logged in when exactly one slot matched.
- The key: the key URI, else the certificate URI with the certificate's CKA_ID; among candidates,
  the first whose test signature verifies with the certificate's public key.
- Signing happens in the token: RSA with CKM_SHA256_RSA_PKCS, EC with CKM_ECDSA over a SHA-256
  digest made here (the raw r||s DER-encoded). The key never leaves the token.
- The PIN when the URI has none: ``PinSource`` (the caller's: the terminal, the OS keyring on
  request); with no one to ask, exit 4. ``reuse_pin``: the user PIN is also given for a key's
  CKA_ALWAYS_AUTHENTICATE (context-specific) login.

Needs the optional ``python-pkcs11`` package (``pip install credproc[pkcs11]``).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from credproc.errors import ConfigError
from credproc.sources.rolesanywhere.material import Material
from credproc.terminal import ask_secret

PREFIX = "pkcs11:"
SLOT_ATTRIBUTES = (
    "token",
    "manufacturer",
    "model",
    "serial",
    "slot-id",
    "slot-description",
    "slot-manufacturer",
)
OBJECT_ATTRIBUTES = ("object", "id", "type")
TEST_MESSAGE = b"credproc PKCS#11 key check"
RSA_ALGORITHM, ECDSA_ALGORITHM = "AWS4-X509-RSA-SHA256", "AWS4-X509-ECDSA-SHA256"
PIN_PROMPTS = 3

# (what the PIN is for, attempt from 0) -> the PIN. Raises NeedsHumanError with no one to ask.
PinSource = Callable[[str, int], str]


@dataclass(frozen=True)
class Pkcs11Uri:
    text: str
    path: dict[str, bytes]  # decoded values; "id" stays bytes, the others are UTF-8 text as bytes
    query: dict[str, bytes]

    def get(self, name: str) -> str | None:
        value = self.path.get(name)
        return None if value is None else value.decode("utf-8", "replace")

    @property
    def pin(self) -> str | None:
        value = self.query.get("pin-value")
        return None if value is None else value.decode("utf-8", "replace")


def parse_uri(text: str | None) -> Pkcs11Uri | None:
    """The URI's attributes; None when ``text`` is not a ``pkcs11:`` URI (a file, or nothing)."""
    if not text or not text.startswith(PREFIX):
        return None
    body = text[len(PREFIX) :]
    path_part, _, query_part = body.partition("?")

    def pairs(part: str, separator: str) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for item in filter(None, part.split(separator)):
            name, eq, value = item.partition("=")
            if not eq:
                raise ConfigError(f"PKCS#11 URI {_safe(text)} has an attribute without a value: {name!r}")
            out[name.lower()] = unquote_to_bytes(value)
        return out

    path, query = pairs(path_part, ";"), pairs(query_part, "&")
    unknown = sorted(
        set(path)
        - set(SLOT_ATTRIBUTES)
        - set(OBJECT_ATTRIBUTES)
        - {"library-manufacturer", "library-description", "library-version"}
    )
    if unknown:
        raise ConfigError(
            f"PKCS#11 URI {_safe(text)} has attributes credproc does not read: {', '.join(unknown)}"
        )
    if "slot-id" in path:
        try:
            int(path["slot-id"].decode(), 0)
        except ValueError:
            raise ConfigError(f"slot-id in PKCS#11 URI {_safe(text)} is not a number") from None
    return Pkcs11Uri(text, path, query)


def _safe(text: str) -> str:
    """The URI without its PIN, for messages (the one rule, beside the source that shows it)."""
    from credproc.sources.rolesanywhere.source import without_pin

    return without_pin(text)


def _strip(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).rstrip(" \x00")


def _slot_matches(slot: Any, token: Any, uri: Pkcs11Uri) -> bool:
    checks = {
        "token": (token, "label"),
        "manufacturer": (token, "manufacturer_id"),
        "model": (token, "model"),
        "serial": (token, "serial"),
        "slot-description": (slot, "slot_description"),
        "slot-manufacturer": (slot, "manufacturer_id"),
    }
    for name, (owner, attribute) in checks.items():
        wanted = uri.get(name)
        if wanted is not None and _strip(getattr(owner, attribute)) != wanted:
            return False
    slot_id = uri.get("slot-id")
    return slot_id is None or int(slot_id, 0) == slot.slot_id


def _object_template(uri: Pkcs11Uri, object_class: Any) -> dict[Any, Any]:
    from pkcs11 import Attribute

    template: dict[Any, Any] = {Attribute.CLASS: object_class}
    if "object" in uri.path:
        template[Attribute.LABEL] = uri.path["object"].decode("utf-8", "replace")
    if "id" in uri.path:
        template[Attribute.ID] = uri.path["id"]
    return template


def _load_library(path: str) -> Any:
    try:
        import pkcs11
    except ImportError:
        raise ConfigError(
            "PKCS#11 needs the python-pkcs11 package",
            "install credproc with the extra: pip install 'credproc[pkcs11]'",
        ) from None
    open_library: Any = pkcs11.lib  # untyped
    try:
        return open_library(path)
    except Exception as exc:  # the module's own error for a missing or broken library
        raise ConfigError(
            f"cannot load the PKCS#11 module {path}: {exc}",
            "check --pkcs11-lib: the path of the token's PKCS#11 module",
        ) from None


@dataclass
class Pkcs11Key:
    """A ``material.TokenKey``: a private key object in an open, logged-in session."""

    session: Any = field(repr=False)
    handle: Any = field(repr=False)
    algorithm: str
    label: str

    def sign_string(self, message: bytes) -> bytes:
        from pkcs11 import Mechanism

        if self.algorithm == RSA_ALGORITHM:
            return bytes(self.handle.sign(message, mechanism=Mechanism.SHA256_RSA_PKCS))
        raw = bytes(self.handle.sign(hashlib.sha256(message).digest(), mechanism=Mechanism.ECDSA))
        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


@dataclass
class Pkcs11Opener:
    """Opens certificate and key from ``--certificate``/``--private-key`` values; passed to
    ``material.load(token=...)``. ``ask_pin`` is used only when the URI has no ``pin-value``."""

    library: str
    ask_pin: PinSource
    reuse_pin: bool = False
    _sessions: list[Any] = field(default_factory=list, repr=False)
    _logged_in: dict[int, tuple[Any, str]] = field(default_factory=dict, repr=False)  # slot id ->

    def __call__(
        self, certificate: str, private_key: str | None, file_certificate: x509.Certificate | None
    ) -> Material:
        cert_uri, key_uri = parse_uri(certificate), parse_uri(private_key)
        if private_key and key_uri is None:
            raise ConfigError(
                f"the certificate {certificate} is in a PKCS#11 token but the private key {private_key} is "
                "a file",
                "a token certificate needs its key in the token: drop --private-key or give a URI",
            )
        lib = _load_library(self.library)  # after the arguments: a wrong one is named without the module
        pin = (key_uri.pin if key_uri and key_uri.pin else None) or (cert_uri.pin if cert_uri else None)
        slots = self._slots(lib, cert_uri or key_uri)
        if file_certificate is not None:
            cert, cert_id, cert_slot = file_certificate, None, None
        else:
            assert cert_uri is not None  # noqa: S101 - material.load passes a file certificate otherwise
            cert, cert_id, cert_slot, pin = self._find_certificate(slots, cert_uri, pin)
        uri = key_uri or cert_uri
        assert uri is not None  # noqa: S101 - one of them is a URI, or this is not called
        key_slots = self._slots(lib, uri) if key_uri else ([cert_slot] if cert_slot else slots)
        if len(key_slots) != 1:
            raise ConfigError(f"could not identify a unique token slot for the PKCS#11 key {_safe(uri.text)}")
        key = self._find_key(key_slots[0], uri, None if key_uri else cert_id, cert, pin)
        return Material(cert, (), key)

    def close(self) -> None:
        """Close every session (the last one closed logs the token out): after the signing."""
        while self._sessions:
            with contextlib.suppress(Exception):  # a session the token already dropped
                self._sessions.pop().close()
        self._logged_in.clear()

    def _slots(self, lib: Any, uri: Pkcs11Uri | None) -> list[tuple[Any, Any]]:
        found = []
        for slot in lib.get_slots(token_present=True):
            token = slot.get_token()
            if uri is None or _slot_matches(slot, token, uri):
                found.append((slot, token))
        if not found:
            raise ConfigError(
                f"no PKCS#11 token matches {_safe(uri.text) if uri else 'the URI'}",
                f"check the URI's token attributes and --pkcs11-lib {self.library}",
            )
        return found

    def _open(self, token: Any, pin: str | None) -> Any:
        from pkcs11.exceptions import UserAlreadyLoggedIn

        try:
            session = token.open(user_pin=pin) if pin is not None else token.open()
        except UserAlreadyLoggedIn:
            # Login is per application: an earlier opener in this process (serve's refreshes) is
            # still logged in, and a new session shares it.
            session = token.open()
        self._sessions.append(session)
        return session

    def _login(self, token: Any, pin: str | None, what: str) -> tuple[Any, str]:
        """A logged-in session and the PIN that worked (one login per token: PKCS#11 logs in the
        whole application, and a second C_Login fails)."""
        slot_id = token.slot.slot_id
        if slot_id not in self._logged_in:
            self._logged_in[slot_id] = self._first_login(token, pin, what)
        return self._logged_in[slot_id]

    def _first_login(self, token: Any, pin: str | None, what: str) -> tuple[Any, str]:
        from pkcs11.exceptions import PinIncorrect, PinLenRange

        if pin is not None:
            try:
                return self._open(token, pin), pin
            except (PinIncorrect, PinLenRange):
                raise ConfigError(
                    f"wrong PIN for the PKCS#11 token {_strip(token.label)!r} (from the URI)"
                ) from None
        for attempt in range(PIN_PROMPTS):
            answer = self.ask_pin(what, attempt)
            try:
                return self._open(token, answer), answer
            except (PinIncorrect, PinLenRange):
                continue
        raise ConfigError(f"wrong PIN for the PKCS#11 token {_strip(token.label)!r}")

    def _certificates(self, session: Any, uri: Pkcs11Uri) -> Iterator[Any]:
        from pkcs11 import ObjectClass

        yield from list(session.get_objects(_object_template(uri, ObjectClass.CERTIFICATE)))

    def _find_certificate(
        self,
        slots: list[tuple[Any, Any]],
        uri: Pkcs11Uri,
        pin: str | None,
    ) -> tuple[x509.Certificate, bytes | None, tuple[Any, Any], str | None]:
        from pkcs11 import Attribute

        hits: list[tuple[Any, tuple[Any, Any]]] = []
        for slot_token in slots:
            session = self._open(slot_token[1], None)
            hits += [(obj, slot_token) for obj in self._certificates(session, uri)]
        if not hits and len(slots) == 1:
            session, pin = self._login(slots[0][1], pin, f"the PKCS#11 token {_strip(slots[0][1].label)!r}")
            hits = [(obj, slots[0]) for obj in self._certificates(session, uri)]
        if not hits:
            raise ConfigError(f"no certificate in the PKCS#11 token matches {_safe(uri.text)}")
        if len(hits) > 1:
            raise ConfigError(
                f"{len(hits)} certificates in the PKCS#11 token match {_safe(uri.text)}",
                "add object= or id= to the URI to name one",
            )
        obj, slot_token = hits[0]
        cert = x509.load_der_x509_certificate(bytes(obj[Attribute.VALUE]))
        try:
            cert_id = bytes(obj[Attribute.ID])
        except Exception:  # an object without CKA_ID
            cert_id = None
        return cert, cert_id, slot_token, pin

    def _find_key(
        self,
        slot_token: tuple[Any, Any],
        uri: Pkcs11Uri,
        cert_id: bytes | None,
        cert: x509.Certificate,
        pin: str | None,
    ) -> Pkcs11Key:
        from pkcs11 import Attribute, KeyType, ObjectClass

        token = slot_token[1]
        session, pin = self._login(token, pin, f"the PKCS#11 token {_strip(token.label)!r}")
        template = _object_template(uri, ObjectClass.PRIVATE_KEY)
        if cert_id is not None:
            template = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: cert_id}
        public = cert.public_key()
        for handle in list(session.get_objects(template)):  # a search must end before signing
            key_type = handle[Attribute.KEY_TYPE]
            if key_type == KeyType.RSA and isinstance(public, rsa.RSAPublicKey):
                algorithm = RSA_ALGORITHM
            elif key_type == KeyType.EC and isinstance(public, ec.EllipticCurvePublicKey):
                algorithm = ECDSA_ALGORITHM
            else:
                continue
            label = _strip(handle[Attribute.LABEL])
            key = Pkcs11Key(session, handle, algorithm, label)
            if self._matches(key, handle, public, pin):
                return key
        raise ConfigError(
            f"no private key in the PKCS#11 token {_strip(token.label)!r} matches the certificate "
            f"{cert.subject.rfc4514_string()}",
            f"check the key URI {_safe(uri.text)}",
        )

    def _matches(self, key: Pkcs11Key, handle: Any, public: Any, pin: str | None) -> bool:
        from pkcs11 import Attribute

        try:
            always = bool(handle[Attribute.ALWAYS_AUTHENTICATE])
        except Exception:
            always = False
        if always and not (self.reuse_pin and pin):
            raise ConfigError(
                f"the PKCS#11 key {key.label!r} asks for its PIN at every use (CKA_ALWAYS_AUTHENTICATE)",
                "pass --reuse-pin to give it the user PIN",
            )
        try:
            signature = key.sign_string(TEST_MESSAGE)
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, TEST_MESSAGE, padding.PKCS1v15(), hashes.SHA256())
            else:
                public.verify(signature, TEST_MESSAGE, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def terminal_pin(terminal: Any, keyring_name: Callable[[str], str | None] | None = None) -> PinSource:
    """A PinSource: the OS keyring first when ``keyring_name`` gives one (``--pin-from-keyring``),
    then the terminal; with no terminal, NeedsHumanError (exit 4)."""
    used_keyring = False

    def ask(what: str, attempt: int) -> str:
        nonlocal used_keyring
        if keyring_name is not None and attempt == 0:
            stored = keyring_name(what)
            if stored:
                used_keyring = True
                return stored
        wrong = ConfigError(f"the PIN stored in the keyring for {what} is wrong") if used_keyring else None
        return ask_secret(
            terminal,
            what,
            attempt,
            label="PIN",
            noun="user PIN",
            hint="put pin-value= in the URI, or store the PIN in the keyring",
            instead=wrong,
        )

    return ask
