"""SSO-OIDC calls: RegisterClient (reused until it expires), device authorization, CreateToken."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from credproc import aws
from credproc.errors import NeedsHumanError
from credproc.sources.sso import token_cache
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from credproc.sources.sso.token_cache import Registration

CLIENT_NAME = "credproc"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Registered once with no port: SSO-OIDC matches loopback redirects on any port (RFC 8252 §7.3),
# so one registration serves every login's ephemeral port.
REDIRECT_URI = "http://127.0.0.1/oauth/callback"


@dataclass(frozen=True)
class Grant:
    """A CreateToken answer."""

    access_token: str = field(repr=False)
    expires_in: int
    refresh_token: str | None = field(default=None, repr=False)


def client(rt: Runtime, session: SsoSession) -> Any:
    return rt.client("sso-oidc", session.region, session.oidc_endpoint)


def authorize_base(session: SsoSession) -> str:
    """Where a browser is sent for the PKCE flow: the OIDC endpoint's /authorize."""
    base = session.oidc_endpoint or f"https://oidc.{session.region}.amazonaws.com"
    return base.rstrip("/") + "/authorize"


def registration(rt: Runtime, session: SsoSession, pkce: bool) -> Registration:
    """A client registration for this session and flow, reused from the cache until near expiry."""
    purpose: Mapping[str, object] = {
        "startUrl": session.start_url,
        "region": session.region,
        "scopes": list(session.scopes),
        "session_name": session.name,
        "grant": "authorization_code" if pkce else "device_code",
        "endpoint": session.oidc_endpoint,
    }
    path = token_cache.registration_path(rt.environ, purpose)
    found = token_cache.load_registration(path)
    if found is not None and found.usable(rt.clock()):
        return found
    params: dict[str, Any] = {
        "clientName": CLIENT_NAME,
        "clientType": "public",
        "scopes": list(session.scopes),
    }
    if pkce:
        params.update(
            grantTypes=["authorization_code", "refresh_token"],
            redirectUris=[REDIRECT_URI],
            issuerUrl=session.start_url,
        )
    with aws.calling("SSO-OIDC RegisterClient"):
        answer = client(rt, session).register_client(**params)
    reg = Registration(
        answer["clientId"],
        answer["clientSecret"],
        token_cache.from_now(0, int(answer["clientSecretExpiresAt"])),
    )
    token_cache.save_registration(path, reg, session.scopes)
    return reg


def _grant(answer: Mapping[str, Any]) -> Grant:
    with aws.reading("SSO-OIDC CreateToken"):
        return Grant(answer["accessToken"], int(answer["expiresIn"]), answer.get("refreshToken") or None)


# CreateToken refusals that mean "this refresh token or client is no good any more": sign in again.
REFRESH_DEAD = frozenset(
    {
        "InvalidGrantException",
        "InvalidClientException",
        "UnauthorizedClientException",
        "ExpiredTokenException",
        "AccessDeniedException",
        "InvalidRequestException",
    }
)


def refresh(
    rt: Runtime, session: SsoSession, client_id: str, client_secret: str, refresh_token: str
) -> Grant:
    """Raises NeedsHumanError when the session can no longer be refreshed, UpstreamError otherwise."""
    from botocore.exceptions import ClientError

    with aws.calling("SSO-OIDC CreateToken (refresh)"):
        try:
            return _grant(
                client(rt, session).create_token(
                    grantType="refresh_token",
                    clientId=client_id,
                    clientSecret=client_secret,
                    refreshToken=refresh_token,
                )
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in REFRESH_DEAD:
                raise NeedsHumanError(f"the SSO session can no longer be refreshed ({code})") from None
            raise


def exchange_code(
    rt: Runtime, session: SsoSession, reg: Registration, code: str, redirect_uri: str, verifier: str
) -> Grant:
    with aws.calling("SSO-OIDC CreateToken (authorization code)"):
        return _grant(
            client(rt, session).create_token(
                grantType="authorization_code",
                clientId=reg.client_id,
                clientSecret=reg.client_secret,
                code=code,
                redirectUri=redirect_uri,
                codeVerifier=verifier,
            )
        )
