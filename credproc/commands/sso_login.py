"""``credproc login``: which session to sign in to, and the sign-in itself."""

from __future__ import annotations

from collections.abc import Mapping

from credproc.config import AwsConfig
from credproc.errors import ConfigError, UsageError
from credproc.sources.sso import settings, token_cache
from credproc.sources.sso.login import LoginOptions, login
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from credproc.sources.sso.token_cache import Token


def target(environ: Mapping[str, str], config: AwsConfig, profile: str | None,
           sso_session: str | None) -> SsoSession:
    """The session named by ``--sso-session``, or the one ``--profile`` (default: $AWS_PROFILE) uses."""
    if profile and sso_session:
        raise UsageError("give --profile or --sso-session, not both")
    if sso_session:
        return settings.from_session(environ, config, sso_session)
    name = profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"
    if settings.uses_sso(config.profile(name)):
        return settings.from_profile(environ, config, name)
    # An assume-role profile built on an SSO profile: sign in to the session at the chain's root.
    root = settings.sso_root(config, environ, name)
    if root is None:
        raise ConfigError(
            f"profile {name!r} does not use IAM Identity Center (no sso_session or sso_start_url)",
            "name an SSO profile with --profile, or a session with --sso-session",
        )
    if root in config.sso_sessions:
        return settings.from_session(environ, config, root, name)
    legacy = next(p for p, section in config.profiles.items()
                  if settings.uses_sso(section) and section.get("sso_start_url") == root)
    return settings.from_profile(environ, config, legacy)


def retry_command(session: SsoSession, profile: str | None) -> str:
    return session.login_command(profile)


def run(rt: Runtime, session: SsoSession, options: LoginOptions) -> Token:
    """An explicit login always signs in anew, unless another process did while this one waited."""
    current = token_cache.load(token_cache.token_path(rt.environ, session.cache_id))
    return login(rt, session, options, replace=current.access_token if current is not None else None)
