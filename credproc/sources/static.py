"""Long-term keys from the config/credentials files or the environment (``credential_source``)."""

from __future__ import annotations

from _blake2 import blake2b
from dataclasses import dataclass, field

from credproc.credentials import Credentials
from credproc.sources.base import Context, SourceDefaults


@dataclass(frozen=True)
class StaticSource(SourceDefaults):
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None
    origin: str = "config file"
    kind = "static"
    cacheable = False  # long-term keys are never written to disk

    @property
    def identity(self) -> str:
        # The secret is folded in (hashed) so rotating it changes every key built on it.
        digest = blake2b(
            f"{self.secret_access_key}\0{self.session_token or ''}".encode(), digest_size=16
        ).hexdigest()
        return f"static\0{self.access_key_id}\0{digest}"

    def fetch(self, ctx: Context) -> Credentials:
        return Credentials(self.access_key_id, self.secret_access_key, self.session_token)

    def describe(self) -> list[str]:
        return [f"static keys {self.access_key_id[:4]}… from the {self.origin}"]
