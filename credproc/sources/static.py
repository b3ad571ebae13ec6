"""Long-term keys from the config/credentials files or the environment (``credential_source``)."""

from __future__ import annotations

from _blake2 import blake2b
from dataclasses import dataclass, field

from credproc.credentials import Credentials
from credproc.sources.base import Context, SourceDefaults

# botocore's provider for keys from each place (its METHOD names).
BOTOCORE_METHODS = {
    "credentials file": "shared-credentials-file",
    "config file": "config-file",
    "environment": "env",
}


def masked_key_id(access_key_id: str) -> str:
    """An access key id as every listing shows it: the prefix that tells its type (AKIA, ASIA)."""
    return f"{access_key_id[:4]}…"


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
        return [f"static keys {masked_key_id(self.access_key_id)} from the {self.origin}"]

    def details(self) -> dict[str, str]:
        return {"key": masked_key_id(self.access_key_id), "from": self.origin}

    def botocore_method(self) -> str | None:
        return BOTOCORE_METHODS.get(self.origin)
