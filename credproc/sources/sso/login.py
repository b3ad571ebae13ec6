"""One login for one session, single-flight across processes.

Every login and refresh of a session holds that session's lock file (beside its token, OS lock
that dies with its holder). A process that had to wait re-reads the token first: someone else may
have just signed in, so 30 parallel ``--auto-login`` runs open one browser and the rest reuse it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from credproc.errors import NeedsHumanError
from credproc.lock import hold
from credproc.sources.sso import device, oidc, pkce, token_cache
from credproc.sources.sso.oidc import Grant
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from credproc.sources.sso.token_cache import Registration, Token

DEFAULT_TIMEOUT = 300.0  # how long a browser tab may take; the wait is always bounded
LOCK_MARGIN = 30.0
MIN_LIFETIME = 60.0  # a token with less left than this is treated as expired


@dataclass(frozen=True)
class LoginOptions:
    device_code: bool = False
    open_browser: Callable[[str], bool] | None = None  # None: print the URL only (--no-browser)
    timeout: float = DEFAULT_TIMEOUT
    interactive: bool = True  # False: no terminal; only a browser can reach the person
    retry_hint: str = "credproc login"


def login(rt: Runtime, session: SsoSession, options: LoginOptions, replace: str | None) -> Token:
    """Sign in and write the token file. ``replace`` is the access token known to be bad (or the
    current one, for an explicit login); a different valid token found after waiting is reused."""
    path = token_cache.token_path(rt.environ, session.cache_id)

    def on_wait() -> None:
        rt.say(f"Waiting for another credproc to finish signing in to {session.label}…")

    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with hold(token_cache.lock_path(rt.environ, session.cache_id), options.timeout + LOCK_MARGIN, on_wait):
        current = token_cache.load(path)
        left = current.seconds_left(rt.clock()) if current is not None else 0.0
        if current is not None and left > MIN_LIFETIME and current.access_token != replace:
            return current
        grant, reg = _sign_in(rt, session, options)
        token = Token(
            start_url=session.start_url,
            region=session.region,
            access_token=grant.access_token,
            expires_at=token_cache.from_now(rt.clock(), grant.expires_in),
            refresh_token=grant.refresh_token,
            client_id=reg.client_id if grant.refresh_token else None,
            client_secret=reg.client_secret if grant.refresh_token else None,
            registration_expires_at=reg.expires_at if grant.refresh_token else None,
        )
        token_cache.save(path, token)
        return token


def _sign_in(rt: Runtime, session: SsoSession, options: LoginOptions) -> tuple[Grant, Registration]:
    if not options.device_code:
        reg = oidc.registration(rt, session, pkce=True)
        try:
            grant = pkce.login(rt, session, reg, options.open_browser, options.timeout, options.retry_hint)
            return grant, reg
        except pkce.NoBrowser:
            if not options.interactive:
                raise NeedsHumanError(
                    f"the SSO session {session.label} needs a sign-in, but no browser could be "
                    "opened and there is no terminal to show a code on",
                    f"run `{options.retry_hint}` in a terminal",
                ) from None
            rt.say("No browser could be opened; using a device code instead.")
    elif not options.interactive:
        raise NeedsHumanError(
            f"the SSO session {session.label} needs a sign-in, but there is no terminal to show a code on",
            f"run `{options.retry_hint}` in a terminal",
        )
    reg = oidc.registration(rt, session, pkce=False)
    return device.login(
        rt, session, reg, None if options.device_code is False else options.open_browser, options.retry_hint
    ), reg
