"""``credproc login``: which session to sign in to, and the sign-in itself."""

from __future__ import annotations

import os
import webbrowser
from collections.abc import Callable, Mapping

import click

from credproc import config, hardening, options, output
from credproc.config import AwsConfig
from credproc.credentials import format_expiration
from credproc.errors import ConfigError, UsageError
from credproc.profiles import selected_profile
from credproc.sources.sso import settings, token_cache
from credproc.sources.sso.login import DEFAULT_TIMEOUT, LoginOptions, login
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from credproc.sources.sso.token_cache import Token
from credproc.terminal import Spinner

# The browser opener; tests of the real process set $BROWSER, which webbrowser honours.
open_browser: Callable[[str], bool] = webbrowser.open


def target(
    environ: Mapping[str, str], config: AwsConfig, profile: str | None, sso_session: str | None
) -> SsoSession:
    """The session named by ``--sso-session``, or the one ``--profile`` (default: $AWS_PROFILE) uses."""
    if profile and sso_session:
        raise UsageError("give --profile or --sso-session, not both")
    if sso_session:
        return settings.from_session(environ, config, sso_session)
    name = selected_profile(profile, environ)
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
    legacy = next(
        p
        for p, section in config.profiles.items()
        if settings.uses_sso(section) and section.get("sso_start_url") == root
    )
    return settings.from_profile(environ, config, legacy)


def retry_command(session: SsoSession, profile: str | None) -> str:
    return session.login_command(profile)


def run(rt: Runtime, session: SsoSession, options: LoginOptions) -> Token:
    """An explicit login always signs in anew, unless another process did while this one waited."""
    hardening.no_core_dumps()  # the SSO token and the client secret pass through this process
    current = token_cache.load(token_cache.token_path(rt.environ, session.cache_id))
    return login(rt, session, options, replace=current.access_token if current is not None else None)


def runtime(environ: dict[str, str], spinner: Spinner | None = None) -> Runtime:
    """The SSO runtime of a command run by a person: progress on a spinner, warnings on stderr."""
    spinner = spinner or Spinner()
    return Runtime(environ=environ, say=spinner.say, warn=output.warn, tick=spinner.tick)


@click.command("login")
@options.profile("Sign in to the SSO session this profile uses (default: $AWS_PROFILE, else 'default').")
@options.sso_session("Sign in to [sso-session S].")
@click.option("--device-code", is_flag=True, help="Use the device code flow (sign in on any device).")
@click.option("--no-browser", is_flag=True, help="Print the URL (and code) instead of opening a browser.")
@click.option(
    "--timeout",
    metavar="SECONDS",
    type=click.FloatRange(1, 3600),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="How long to wait for the browser.",
)
def command(
    profile: str | None, sso_session: str | None, device_code: bool, no_browser: bool, timeout: float
) -> None:
    """Sign in to IAM Identity Center; writes the AWS CLI's token cache."""
    environ = dict(os.environ)
    session = target(environ, config.load(environ), profile, sso_session)
    browser = None if no_browser else open_browser
    login_options = LoginOptions(
        device_code=device_code,
        open_browser=browser,
        timeout=timeout,
        interactive=True,
        retry_hint=retry_command(session, profile),
    )
    token = run(runtime(environ), session, login_options)
    until = format_expiration(token.expires_at)
    output.info(f"signed in to {session.label}; the session lasts until {until}")
