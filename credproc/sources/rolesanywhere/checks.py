"""Local checks before any network call: the key matches the certificate, the dates are right.

AWS would refuse such a request too, but with a generic AccessDenied; checking here names the
actual problem and the file to fix.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credproc.errors import ConfigError
from credproc.sources.rolesanywhere.material import LOCAL_KEY_TYPES, Material


def _spki(key: object) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined,no-any-return]


def key_matches(material: Material, certificate_path: str, key_path: str) -> None:
    if not isinstance(material.key, LOCAL_KEY_TYPES):
        return  # a key in a device was matched to the certificate by a test signature there
    if _spki(material.key.public_key()) != _spki(material.certificate.public_key()):
        raise ConfigError(
            f"the private key {key_path} does not belong to the certificate {certificate_path}",
            "pair the certificate with the key it was issued for",
        )


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def within_validity(material: Material, certificate_path: str, now: float) -> None:
    moment = datetime.fromtimestamp(now, tz=timezone.utc)
    cert = material.certificate
    if moment < cert.not_valid_before_utc:
        raise ConfigError(
            f"the certificate {certificate_path} is not valid before {_stamp(cert.not_valid_before_utc)}",
            "check this machine's clock, or wait until the certificate becomes valid",
        )
    if moment > cert.not_valid_after_utc:
        raise ConfigError(
            f"the certificate {certificate_path} expired on {_stamp(cert.not_valid_after_utc)}",
            "renew the certificate",
        )


def check_all(material: Material, certificate_path: str, key_path: str | None, now: float) -> None:
    key_matches(material, certificate_path, key_path or certificate_path)
    within_validity(material, certificate_path, now)
