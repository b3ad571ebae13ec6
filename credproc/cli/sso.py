"""``credproc login``, ``credproc logout`` and ``credproc configure sso``."""

from __future__ import annotations

import os
import sys
import time
import webbrowser
from collections.abc import Callable

import click

from credproc import config, output
from credproc.cache import Cache
from credproc.cli.configure import configure_group
from credproc.cli.main import cli
from credproc.commands import sso_configure, sso_login, sso_logout
from credproc.credentials import format_expiration
from credproc.errors import UsageError
from credproc.sources.sso import settings
from credproc.sources.sso.login import DEFAULT_TIMEOUT, LoginOptions
from credproc.sources.sso.runtime import Runtime

# The browser opener; tests of the real process set $BROWSER, which webbrowser honours.
open_browser: Callable[[str], bool] = webbrowser.open
SPINNER = "|/-\\"


class Spinner:
    """A one-line spinner on stderr, only when stderr is a terminal (never in logs or pipes)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.frame = 0
        self.last = 0.0

    def tick(self, text: str) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        self.frame += 1
        sys.stderr.write(f"\r{SPINNER[self.frame % len(SPINNER)]} {text}… ")
        sys.stderr.flush()

    def say(self, text: str) -> None:
        if self.enabled and self.frame:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _runtime(environ: dict[str, str], spinner: Spinner | None = None) -> Runtime:
    spinner = spinner or Spinner()
    return Runtime(environ=environ, say=spinner.say, warn=output.warn, tick=spinner.tick)


@cli.command("login")
@click.option("--profile", "-p", metavar="P", default=None,
              help="Sign in to the SSO session this profile uses (default: $AWS_PROFILE, else 'default').")
@click.option("--sso-session", metavar="S", default=None, help="Sign in to [sso-session S].")
@click.option("--device-code", is_flag=True, help="Use the device code flow (sign in on any device).")
@click.option("--no-browser", is_flag=True, help="Print the URL (and code) instead of opening a browser.")
@click.option("--timeout", metavar="SECONDS", type=click.FloatRange(1, 3600), default=DEFAULT_TIMEOUT,
              show_default=True, help="How long to wait for the browser.")
def login_cmd(profile: str | None, sso_session: str | None, device_code: bool, no_browser: bool,
              timeout: float) -> None:
    """Sign in to IAM Identity Center; writes the AWS CLI's token cache."""
    environ = dict(os.environ)
    session = sso_login.target(environ, config.load(environ), profile, sso_session)
    options = LoginOptions(device_code=device_code, open_browser=None if no_browser else open_browser,
                           timeout=timeout, interactive=True,
                           retry_hint=sso_login.retry_command(session, profile))
    token = sso_login.run(_runtime(environ), session, options)
    until = format_expiration(token.expires_at)
    output.info(f"signed in to {session.label}; the session lasts until {until}")


@cli.command("logout")
@click.option("--profile", "-p", metavar="P", default=None, help="End the SSO session this profile uses.")
@click.option("--sso-session", metavar="S", default=None, help="End [sso-session S].")
@click.option("--all", "all_", is_flag=True, help="End every SSO session (the default with no option).")
def logout_cmd(profile: str | None, sso_session: str | None, all_: bool) -> None:
    """End SSO sessions: Logout, remove their tokens and the credentials cached from them."""
    if all_ and (profile or sso_session):
        raise UsageError("--all ends every session; do not combine it with --profile or --sso-session")
    environ = dict(os.environ)
    cfg = config.load(environ)
    sessions = None if all_ or not (profile or sso_session) else [
        sso_login.target(environ, cfg, profile, sso_session)]
    cache = Cache.open(environ, 0, output.warn)
    done = sso_logout.logout(_runtime(environ), cfg, cache, sessions)
    names = ", ".join(done.sessions) or "no SSO session"
    output.info(f"signed out of {names}; removed {done.tokens_removed} token file(s) and "
                f"{done.cache_removed} cached credential(s)")


@configure_group.command("sso")
@click.option("--sso-session", metavar="S", required=True, help="The [sso-session S] to list roles of.")
@click.option("--name-template", metavar="T", default=sso_configure.DEFAULT_TEMPLATE, show_default=True,
              help="Profile names; fields {account_name} {account_id} {role_name} {session}.")
@click.option("--region", metavar="R", default=None, help="region = of the profiles (default: sso_region).")
@click.option("--dry-run", is_flag=True, help="Print the blocks on stdout instead of writing them.")
def configure_sso_cmd(sso_session: str, name_template: str, region: str | None, dry_run: bool) -> None:
    """Write one profile per account and role the session can reach."""
    from credproc.sources.sso import access, portal

    environ = dict(os.environ)
    cfg = config.load(environ)
    session = settings.from_session(environ, cfg, sso_session)
    rt = _runtime(environ)
    token = access.valid_token(rt, session, session.login_command())
    try:
        found = list(portal.assignments(rt, session, token.access_token))
    except portal.TokenRefused:
        raise access.needs_login(session, "was refused by the portal (signed out or revoked)",
                                 session.login_command()) from None
    planned = sso_configure.plan(found, sso_session, name_template, region or session.region, cfg.profiles)
    for name in planned.kept:
        output.info(f"profile {name} exists; left as it is")
    if dry_run:
        output.payload(planned.text().lstrip("\n"))
        return
    if planned.new:
        sso_configure.append(cfg.config_file, planned.text())
    output.info(f"wrote {len(planned.new)} profile(s) to {cfg.config_file}"
                + "".join(f"\n  {p.name}" for p in planned.new))
