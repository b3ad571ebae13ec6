"""The AWS CLI's SSO token cache: ``~/.aws/sso/cache/<sha1>.json``, in its own format.

File name: SHA-1 of the sso-session name (or of the start URL in the legacy form), as
``botocore.utils.SSOTokenLoader`` computes it. Fields: ``startUrl``, ``region``, ``accessToken``,
``expiresAt`` (``YYYY-MM-DDTHH:MM:SSZ``), and for refreshable sessions ``refreshToken``,
``clientId``, ``clientSecret``, ``registrationExpiresAt``. Fields credproc does not know (a newer
CLI's) are kept when the file is rewritten. Writes are atomic replaces of 0600 files in a 0700
folder; a missing, unreadable or malformed file reads as "no token".

Client registrations (RegisterClient answers) live beside the tokens in files of their own, named
from what the registration is for, so a login reuses one until it expires.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from credproc import atomic, paths, smallfile
from credproc.credentials import format_expiration, parse_expiration
from credproc.errors import ConfigError, CredprocError


@dataclass(frozen=True)
class Token:
    start_url: str
    region: str
    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    registration_expires_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def seconds_left(self, now: float) -> float:
        return self.expires_at.timestamp() - now

    def refreshable(self, now: float) -> bool:
        return bool(
            self.refresh_token
            and self.client_id
            and self.client_secret
            and self.registration_expires_at is not None
            and self.registration_expires_at.timestamp() > now
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data.update(
            startUrl=self.start_url,
            region=self.region,
            accessToken=self.access_token,
            expiresAt=format_expiration(self.expires_at),
        )
        for key, value in (
            ("refreshToken", self.refresh_token),
            ("clientId", self.client_id),
            ("clientSecret", self.client_secret),
        ):
            if value:
                data[key] = value
            else:
                data.pop(key, None)
        if self.registration_expires_at is not None:
            data["registrationExpiresAt"] = format_expiration(self.registration_expires_at)
        else:
            data.pop("registrationExpiresAt", None)
        return data


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str = field(repr=False)
    expires_at: datetime

    def usable(self, now: float, margin: float = 3600) -> bool:
        return self.expires_at.timestamp() - now > margin


def sha1_name(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def token_path(environ: Mapping[str, str], cache_id: str) -> str:
    return os.path.join(paths.sso_cache_dir(environ), sha1_name(cache_id) + ".json")


def lock_path(environ: Mapping[str, str], cache_id: str) -> str:
    """The single-flight lock of one session's login and refresh (never read by the AWS CLI)."""
    return os.path.join(paths.sso_cache_dir(environ), sha1_name(cache_id) + ".credproc-lock")


def registration_path(environ: Mapping[str, str], purpose: Mapping[str, object]) -> str:
    key = json.dumps({"tool": "credproc", **purpose}, sort_keys=True)
    return os.path.join(paths.sso_cache_dir(environ), sha1_name(key) + ".json")


def _when(value: object) -> datetime | None:
    if isinstance(value, str) and value.endswith("UTC"):  # older AWS CLI v2 releases wrote this
        value = value[:-3] + "Z"
    try:
        return parse_expiration(value) if value else None
    except CredprocError:
        return None


def read_json(path: str) -> dict[str, Any] | None:
    """The file's JSON object; None when there is none to read (missing, not JSON, nested past
    the parser's depth): a login writes a new one. A FIFO, a device, a folder or a file over
    1 MiB is a ConfigError: no login can replace it, and reading it would hang or never end."""
    try:
        data = json.loads(smallfile.read(path, smallfile.TOKEN_LIMIT).decode("utf-8"))
    except smallfile.NotASmallFile as exc:
        raise ConfigError(f"SSO cache file {path} cannot be used: {exc.strerror}", "remove it") from None
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def load(path: str) -> Token | None:
    data = read_json(path)
    if data is None:
        return None
    access, expires = data.get("accessToken"), _when(data.get("expiresAt"))
    if not isinstance(access, str) or not access or expires is None:
        return None

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    known = {
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "refreshToken",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
    }
    return Token(
        start_url=text("startUrl") or "",
        region=text("region") or "",
        access_token=access,
        expires_at=expires,
        refresh_token=text("refreshToken"),
        client_id=text("clientId"),
        client_secret=text("clientSecret"),
        registration_expires_at=_when(data.get("registrationExpiresAt")),
        extra={k: v for k, v in data.items() if k not in known},
    )


def write_json(path: str, data: Mapping[str, Any]) -> None:
    """Atomic 0600 write in a 0700 folder (made if missing); a symlink there is replaced."""
    atomic.write_bytes(
        path,
        json.dumps(dict(data)).encode("utf-8"),
        mode=atomic.NEW_FILE_MODE,
        follow_symlinks=False,
        suffix=".json",
    )


def save(path: str, token: Token) -> None:
    write_json(path, token.to_json())


def remove(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def load_registration(path: str) -> Registration | None:
    data = read_json(path)
    if data is None:
        return None
    cid, secret, expires = data.get("clientId"), data.get("clientSecret"), _when(data.get("expiresAt"))
    if not isinstance(cid, str) or not isinstance(secret, str) or expires is None:
        return None
    return Registration(cid, secret, expires)


def save_registration(path: str, reg: Registration, scopes: tuple[str, ...]) -> None:
    write_json(
        path,
        {
            "clientId": reg.client_id,
            "clientSecret": reg.client_secret,
            "expiresAt": format_expiration(reg.expires_at),
            "scopes": list(scopes),
        },
    )


def all_tokens(environ: Mapping[str, str]) -> list[tuple[str, Token]]:
    """Every token file in the cache (``logout --all``); registrations have no accessToken."""
    directory = paths.sso_cache_dir(environ)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        if name.endswith(".json") and not name.startswith(".tmp-"):
            token = load(os.path.join(directory, name))
            if token is not None:
                found.append((os.path.join(directory, name), token))
    return found


def from_now(now: float, seconds: float) -> datetime:
    return datetime.fromtimestamp(now + seconds, tz=timezone.utc).replace(microsecond=0)
