"""The resolved credentials and their pure renderings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from credproc.errors import ConfigError, UpstreamError

EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Credentials:
    """One set of AWS credentials. ``repr`` never shows the secret or the token."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None  # always timezone-aware UTC
    region: str | None = None

    def seconds_left(self, now: float) -> float | None:
        if self.expiration is None:
            return None
        return self.expiration.timestamp() - now

    def with_region(self, region: str | None) -> Credentials:
        return Credentials(
            self.access_key_id, self.secret_access_key, self.session_token, self.expiration, region
        )

    def to_process_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "Version": 1,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
        }
        if self.session_token:
            out["SessionToken"] = self.session_token
        if self.expiration is not None:
            out["Expiration"] = format_expiration(self.expiration)
        return out

    def to_process_json(self) -> str:
        """The credential_process payload: one line, compact, as the SDKs parse it."""
        return json.dumps(self.to_process_dict(), separators=(",", ":"))


def format_expiration(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(EXPIRATION_FORMAT)


def parse_expiration(value: object) -> datetime:
    """Accept what STS, SSO, Roles Anywhere and credential_process helpers return.

    ISO 8601 with or without fractional seconds and with ``Z`` or an offset; a datetime (botocore
    parses timestamps itself); epoch milliseconds (SSO GetRoleCredentials).
    """
    # The errors never repeat the value: a misbehaving helper may have printed a secret there.
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            when = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise UpstreamError("unreadable credential expiration (a number out of range)") from None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise UpstreamError("unreadable credential expiration (not an ISO 8601 date and time)") from None
    else:
        kind = type(value).__name__
        raise UpstreamError(f"unreadable credential expiration (a {kind}, not a date and time)")
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).replace(microsecond=0)


def from_process_dict(data: object, what: str) -> Credentials:
    """Parse a credential_process-shaped object (also the cache payload). ``what`` names the source."""
    if not isinstance(data, dict):
        raise ConfigError(f"{what} did not print a JSON object")
    version = data.get("Version")
    if version != 1:
        # Only a small whole number is repeated: anything else the helper printed may be a secret.
        shown = f" {version}" if type(version) is int and abs(version) < 1000 else ""
        raise ConfigError(f"{what} printed an unsupported Version{shown} (expected 1)")
    key, secret = data.get("AccessKeyId"), data.get("SecretAccessKey")
    if not isinstance(key, str) or not key or not isinstance(secret, str) or not secret:
        raise ConfigError(f"{what} printed no AccessKeyId/SecretAccessKey")
    token = data.get("SessionToken")
    if not all(value.isprintable() for value in (key, secret, token) if isinstance(value, str)):
        # A NUL cannot go into a child's environment, a line break would end a shell statement.
        raise ConfigError(f"{what} printed a key or token with control characters in it (not shown)")
    expiration = data.get("Expiration")
    return Credentials(
        access_key_id=key,
        secret_access_key=secret,
        session_token=token if isinstance(token, str) and token else None,
        expiration=parse_expiration(expiration) if expiration else None,
    )


def minutes_left(seconds: float) -> int:
    """Whole minutes of ``seconds`` left, as everything credproc shows them (doctor, cache list, the
    shell prompt helper): the seconds counted from the whole current second, as ``date +%s`` does in
    the prompt, then floored. One rule, so the prompt's ``60m`` and doctor's ``60 min left`` agree."""
    import math

    return math.ceil(seconds) // 60
