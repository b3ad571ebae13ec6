"""The child's environment, built by pure functions from an injected base mapping.

``exec`` applies the changes to ``os.environ`` for the child; ``env`` and ``serve`` render the same
changes as shell statements. One description of "what to set and what to remove" serves both, so
the shell and the child can never disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from credproc.credentials import Credentials, format_expiration

KEY_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION")
REGION_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")
SERVER_VARS = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN")
FILE_VARS = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
PROFILE_VAR = "CREDPROC_PROFILE"  # shown by the shell prompt helper; outside the cache key
# credproc's own secret inputs: never passed on to a program credproc starts.
SECRET_VARS = ("CREDPROC_PRIVATE_KEY_PASSPHRASE",)
# Variables that would make an SDK pick another identity than the one credproc resolved: a named
# profile, the legacy token name, and a container or web-identity source left from elsewhere.
STALE_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
)


@dataclass(frozen=True)
class EnvChanges:
    """Variables to set (in order) and variables to remove. A name is never in both."""

    set: tuple[tuple[str, str], ...]
    unset: tuple[str, ...]

    def apply(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment of a child credproc starts: never with credproc's own secret inputs."""
        env = {k: v for k, v in base.items() if k not in self.unset and k not in SECRET_VARS}
        env.update(self.set)
        return env

    def value(self, name: str) -> str | None:
        return dict(self.set).get(name)


@dataclass(frozen=True)
class Endpoint:
    """Where a child finds the loopback credential server, and the token it must send."""

    url: str
    token: str


def _changes(sets: list[tuple[str, str]], removals: tuple[str, ...]) -> EnvChanges:
    names = {k for k, _ in sets}
    return EnvChanges(tuple(sets), tuple(n for n in dict.fromkeys(removals) if n not in names))


def _common(profile: str, region: str | None) -> list[tuple[str, str]]:
    sets = [(PROFILE_VAR, profile)]
    if region:
        sets += [(name, region) for name in REGION_VARS]
    return sets


def for_keys(creds: Credentials, profile: str) -> EnvChanges:
    """Keys in env vars: set key, secret, token and expiration; remove everything that competes."""
    sets = [("AWS_ACCESS_KEY_ID", creds.access_key_id), ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key)]
    if creds.session_token:
        sets.append(("AWS_SESSION_TOKEN", creds.session_token))
    if creds.expiration is not None:
        sets.append(("AWS_CREDENTIAL_EXPIRATION", format_expiration(creds.expiration)))
    sets += _common(profile, creds.region)
    return _changes(sets, (*KEY_VARS, *STALE_VARS))


def for_server(endpoint: Endpoint, profile: str, region: str | None, devnull: str = os.devnull) -> EnvChanges:
    """The container endpoint instead of keys.

    Every SDK checks the shared config and credentials files before the container endpoint, so a
    ``[default]`` profile with its own keys, SSO or credential_process would win. The child's
    ``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE`` therefore point at the null device:
    the endpoint is the only identity it can find. Its region comes from AWS_REGION instead.
    """
    sets = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", endpoint.token),
        *((name, devnull) for name in FILE_VARS),
        *_common(profile, region),
    ]
    return _changes(sets, (*KEY_VARS, *STALE_VARS))


def for_unset(environ: Mapping[str, str] | None = None, devnull: str = os.devnull) -> EnvChanges:
    """What ``env --unset`` clears: everything ``env`` or ``serve`` set except the region, which
    users often set themselves. The file variables only while they point where ``serve`` pointed
    them (the null device): a user's own AWS_CONFIG_FILE stays."""
    files = tuple(name for name in FILE_VARS if environ is not None and environ.get(name) == devnull)
    return EnvChanges((), (*KEY_VARS, "AWS_SECURITY_TOKEN", PROFILE_VAR, *SERVER_VARS, *files))
