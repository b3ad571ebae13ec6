"""Operating-system certificate stores (aws_signing_helper's ``--cert-selector``), behind one interface.

aws_signing_helper finds a certificate and its key in the Windows certificate store (CNG, with
``--system-store-name``) or the macOS Keychain when neither ``--certificate`` nor ``--private-key``
is given. Linux has no such store, so the registry below holds nothing for it and every lookup ends
in one clear line (exit 1), as the helper's "unable to use cert store signer on linux". A store for
another platform plugs in as a ``CertificateStore`` registered under its ``sys.platform`` name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from credproc import smallfile
from credproc.errors import ConfigError

SELECTOR_KEYS = ("x509Subject", "x509Issuer", "x509Serial")


@dataclass(frozen=True)
class Selector:
    """What identifies a certificate: exact subject / issuer strings, serial (hex); None matches any."""

    subject: str | None = None
    issuer: str | None = None
    serial: int | None = None


class CertificateStore(Protocol):
    """One platform's store: the identities matching a selector (certificate, chain and a signer)."""

    name: str

    def find(self, selector: Selector, *, store_name: str, latest_expiring: bool) -> object: ...


# sys.platform -> factory. Empty on Linux: no OS certificate store exists there.
REGISTRY: dict[str, Callable[[], CertificateStore]] = {}


def parse_selector(raw: str) -> Selector:
    """The helper's two forms: ``file://<json array of {Key, Value}>`` or
    ``Key=x509Subject,Value=CN=x Key=x509Serial,Value=0F...`` (entries separated by spaces)."""
    import json

    pairs: list[tuple[str, str]] = []
    if raw.startswith("file://"):
        path = raw[len("file://") :]
        try:
            # The one small-file reader: a FIFO or a device here is refused, never a hang.
            text = smallfile.read(path, smallfile.TOKEN_LIMIT).decode("utf-8", "replace")
        except OSError as exc:
            raise ConfigError(f"cannot read the cert selector file {path}: {exc.strerror}") from None
        try:
            entries = json.loads(text)
            if not isinstance(entries, list):
                raise ValueError
            pairs = [(str(e["Key"]), str(e["Value"])) for e in entries]
        except (ValueError, KeyError, TypeError):
            raise ConfigError(
                f'cert selector file {path} is not a JSON array of {{"Key": ..., "Value": ...}}'
            ) from None
    else:
        for entry in raw.split(" "):
            if not entry:
                continue
            key, comma, value = entry.partition(",")
            if not comma or not key.startswith("Key=") or not value.startswith("Value="):
                raise ConfigError(
                    f"cert selector entry {entry!r} is not Key=<key>,Value=<value>",
                    "e.g. --cert-selector 'Key=x509Subject,Value=CN=me Key=x509Serial,Value=0F12'",
                )
            pairs.append((key[4:], value[6:]))
    found: dict[str, str] = {}
    for key, value in pairs:
        if key not in SELECTOR_KEYS:
            raise ConfigError(f"cert selector key {key!r} is not one of {', '.join(SELECTOR_KEYS)}")
        found[key] = value
    serial = None
    if "x509Serial" in found:
        try:
            serial = int(found["x509Serial"], 16)
        except ValueError:
            raise ConfigError(f"cert selector serial {found['x509Serial']!r} is not hexadecimal") from None
    return Selector(found.get("x509Subject"), found.get("x509Issuer"), serial)


def find_identity(options: Mapping[str, object], platform: str = sys.platform) -> object:
    """The identity the store flags name. As aws_signing_helper, a malformed ``--cert-selector`` is
    refused first, then the platform's store is asked (on Linux: one clear line, as it has none)."""
    raw = options.get("cert_selector")
    selector = parse_selector(str(raw)) if raw else Selector()
    store = store_for(platform)
    return store.find(
        selector,
        store_name=str(options.get("system_store_name") or "MY"),
        latest_expiring=bool(options.get("use_latest_expiring_certificate")),
    )


def store_for(platform: str = sys.platform) -> CertificateStore:
    factory = REGISTRY.get(platform)
    if factory is None:
        raise ConfigError(
            f"--cert-selector and --system-store-name name the Windows or macOS certificate store, "
            f"which {platform} does not have",
            "pass --certificate (a file, a .p12 or a pkcs11: URI) and --private-key instead",
        )
    return factory()


# aws_signing_helper v1.4.0's mutually exclusive flags (cobra's MarkFlagsMutuallyExclusive), in its
# order; the helper refuses any command line that sets both of a pair (exit 1).
EXCLUSIVE: Sequence[tuple[str, str]] = (
    ("certificate", "cert_selector"),
    ("certificate", "system_store_name"),
    ("private_key", "cert_selector"),
    ("private_key", "system_store_name"),
    ("cert_selector", "intermediates"),
    ("cert_selector", "reuse_pin"),
    ("system_store_name", "reuse_pin"),
    ("tpm_key_password", "cert_selector"),
    ("tpm_key_password", "reuse_pin"),
    ("no_tpm_key_password", "cert_selector"),
    ("no_tpm_key_password", "tpm_key_password"),
)
# sign-string's: the same pairs (its --intermediates pair never fires: it has no such flag), and
# also --no-tpm-key-password with --reuse-pin.
SIGN_STRING_EXCLUSIVE: Sequence[tuple[str, str]] = (*EXCLUSIVE, ("no_tpm_key_password", "reuse_pin"))


def check_exclusive(options: Mapping[str, object], pairs: Sequence[tuple[str, str]] = EXCLUSIVE) -> None:
    for a, b in pairs:
        if options.get(a) and options.get(b):
            names = " and ".join("--" + n.replace("_", "-") for n in (a, b))
            raise ConfigError(f"{names} cannot be used together (as in aws_signing_helper)")
