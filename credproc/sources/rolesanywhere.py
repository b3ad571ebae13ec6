"""IAM Roles Anywhere profiles and flags. Filled in by the Roles Anywhere issue."""

from __future__ import annotations

from collections.abc import Mapping

from credproc.config import Section
from credproc.errors import ConfigError
from credproc.sources.base import Context, Source


def detect(ctx: Context, name: str, section: Section) -> Source | None:
    if any(str(k).startswith("rolesanywhere_") for k in section):
        raise ConfigError(f"profile {name!r} uses Roles Anywhere, which this build cannot resolve yet")
    return None


def from_flags(ctx: Context, options: Mapping[str, str]) -> Source | None:
    """A source built from aws_signing_helper-style flags, or None when none was given."""
    if any(options.get(k) for k in FLAG_OPTIONS):
        raise ConfigError("Roles Anywhere flags are not supported by this build yet")
    return None


FLAG_OPTIONS = ("certificate", "private_key", "intermediates", "trust_anchor_arn", "profile_arn", "role_arn",
                "session_duration", "endpoint", "role_session_name")
