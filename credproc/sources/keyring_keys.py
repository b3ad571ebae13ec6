"""Long-term keys kept in the OS keyring under the profile's name (``credproc keys add P``).

As in aws-vault, no marker is needed: a profile with no keys (and no other source) in the files
finds them in the keyring. With ``mfa_serial`` on that profile the keys are only ever used for
GetSessionToken (see ``credproc.sources.mfa_session``).
"""

from __future__ import annotations

from dataclasses import dataclass

from credproc import keystore
from credproc.config import ProfileRecord
from credproc.errors import ConfigError
from credproc.sources.base import Context, Source
from credproc.sources.static import StaticSource


@dataclass(frozen=True)
class KeyringSource(StaticSource):
    origin: str = "OS keyring"
    kind = "keyring"

    def botocore_method(self) -> str | None:
        return None  # botocore never reads the keyring


def keys_source(name: str) -> KeyringSource | None:
    keys = keystore.get_keys(name)
    if keys is None:
        return None
    return KeyringSource(keys.access_key_id, keys.secret_access_key, profile=name)


def detect(ctx: Context, record: ProfileRecord) -> Source | None:
    name = record.name
    try:
        found = keys_source(name)
    except ConfigError as exc:  # the last place to look is unusable: say both things
        raise ConfigError(
            f"profile {name!r} has no credentials in the files, and the keyring cannot be searched: "
            f"{exc.message.removeprefix('cannot read the keyring: ')}",
            exc.hint,
        ) from None
    if found is None:
        return None
    if record.mfa_serial:
        from credproc.sources.mfa_session import session_for

        return session_for(ctx, record, found, record.mfa_serial)
    return found
