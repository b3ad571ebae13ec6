"""IAM Identity Center (SSO) profiles. Filled in by the SSO issue."""

from __future__ import annotations

from credproc.config import Section
from credproc.errors import ConfigError
from credproc.sources.base import Context, Source


def detect(ctx: Context, name: str, section: Section, stack: tuple[str, ...]) -> Source | None:
    if "sso_session" in section or "sso_start_url" in section:
        raise ConfigError(f"profile {name!r} uses IAM Identity Center, which this build cannot resolve yet")
    return None
