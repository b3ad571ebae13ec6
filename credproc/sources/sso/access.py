"""A usable access token for a session: from the AWS CLI's cache, refreshed when less than 15
minutes remain (botocore's window), or, only when allowed, from a new login.

Never prompts on its own: without ``login_options`` an expired session is a NeedsHumanError
(exit 4) naming the exact command that fixes it.
"""

from __future__ import annotations

from credproc.errors import NeedsHumanError, UpstreamError
from credproc.lock import hold
from credproc.sources.sso import oidc, token_cache
from credproc.sources.sso.login import MIN_LIFETIME, LoginOptions, login
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from credproc.sources.sso.token_cache import Token

REFRESH_WINDOW = 15 * 60
REFRESH_LOCK_TIMEOUT = 45.0  # under the Go SDK's 60 s limit for a whole credential_process


def needs_login(session: SsoSession, why: str, command: str) -> NeedsHumanError:
    return NeedsHumanError(f"the SSO session {session.label} {why}", f"run `{command}`")


def valid_token(
    rt: Runtime,
    session: SsoSession,
    command: str,
    login_options: LoginOptions | None = None,
    bad: str | None = None,
) -> Token:
    """``bad`` is an access token the portal just refused (revoked): never return it again."""
    path = token_cache.token_path(rt.environ, session.cache_id)
    now = rt.clock()
    token = token_cache.load(path)
    usable = token is not None and token.access_token != bad
    if token is not None and usable and token.seconds_left(now) > REFRESH_WINDOW:
        return token
    if token is not None and token.refreshable(now):
        refreshed = _refresh(rt, session, path, token, bad)
        if refreshed is not None:
            return refreshed
    if token is not None and usable and token.seconds_left(now) > MIN_LIFETIME:
        return token  # not refreshable, but still good for a while: use it as the AWS CLI does
    if login_options is None:
        if bad is not None:
            raise needs_login(session, "was refused by the portal (signed out or revoked)", command)
        raise needs_login(session, "has expired" if token is not None else "has no sign-in yet", command)
    from credproc import aws

    with aws.paused():  # --auto-login waits for a person; the run budget is for AWS's answers
        return login(rt, session, login_options, replace=token.access_token if token is not None else None)


def _refresh(rt: Runtime, session: SsoSession, path: str, seen: Token, bad: str | None) -> Token | None:
    """One CreateToken(refresh_token) per session at a time; None when the session cannot be
    refreshed any more (the caller then needs a login)."""
    from credproc import aws

    with hold(token_cache.lock_path(rt.environ, session.cache_id), aws.wait_limit(REFRESH_LOCK_TIMEOUT)):
        token = token_cache.load(path)
        now = rt.clock()
        if token is None:
            return None
        if (
            token.access_token != seen.access_token
            and token.access_token != bad
            and (token.seconds_left(now) > REFRESH_WINDOW)
        ):
            return token  # another process refreshed (or signed in) while we waited
        if not token.refreshable(now):
            return None
        try:
            grant = oidc.refresh(
                rt, session, str(token.client_id), str(token.client_secret), str(token.refresh_token)
            )
        except NeedsHumanError:
            return None
        except UpstreamError as exc:
            if token.access_token != bad and token.seconds_left(now) > MIN_LIFETIME:
                rt.warn(f"could not refresh the SSO token ({exc.message}); using the current one")
                return token
            raise
        fresh = Token(
            start_url=session.start_url,
            region=session.region,
            access_token=grant.access_token,
            expires_at=token_cache.from_now(now, grant.expires_in),
            refresh_token=grant.refresh_token or token.refresh_token,
            client_id=token.client_id,
            client_secret=token.client_secret,
            registration_expires_at=token.registration_expires_at,
            extra=token.extra,
        )
        token_cache.save(path, fresh)
        return fresh
