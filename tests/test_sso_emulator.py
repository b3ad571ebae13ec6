"""The emulator refuses what AWS refuses, so tests passing against it mean something."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from credproc import aws
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    SsoEmulator,
    s256,
    sso_fixture,
    sso_server_fixture,
)

VERIFIER = "v" * 50
REDIRECT = "http://127.0.0.1:5555/oauth/callback"


def _client(sso: SsoEmulator, service: str) -> Any:
    return aws.client(service, region="us-east-1", endpoint=sso.url, creds=None, environ={})


def _error_code(call: Any, **params: Any) -> str:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        call(**params)
    return str(caught.value.response["Error"]["Code"])


def _pkce_client(sso: SsoEmulator) -> dict[str, Any]:
    return dict(
        _client(sso, "sso-oidc").register_client(
            clientName="t",
            clientType="public",
            grantTypes=["authorization_code", "refresh_token"],
            redirectUris=["http://127.0.0.1/oauth/callback"],
            issuerUrl="https://corp.awsapps.com/start",
        )
    )


def _authorize(sso: SsoEmulator, client_id: str, redirect: str = REDIRECT) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "state": "s1",
            "code_challenge_method": "S256",
            "code_challenge": s256(VERIFIER),
        }
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(f"{sso.url}/authorize?{query}")
    assert caught.value.code == 302
    location = caught.value.headers["Location"]
    assert location.startswith(redirect)
    return parse_qs(urlsplit(location).query)["code"][0]


def test_pkce_code_needs_the_right_verifier_redirect_and_is_single_use(sso: SsoEmulator) -> None:
    reg = _pkce_client(sso)
    oidc = _client(sso, "sso-oidc")
    base = {
        "clientId": reg["clientId"],
        "clientSecret": reg["clientSecret"],
        "grantType": "authorization_code",
    }
    code = _authorize(sso, reg["clientId"])
    assert (
        _error_code(oidc.create_token, **base, code=code, redirectUri=REDIRECT, codeVerifier="w" * 50)
        == "InvalidGrantException"
    )
    code = _authorize(sso, reg["clientId"])
    assert (
        _error_code(
            oidc.create_token,
            **base,
            code=code,
            redirectUri=REDIRECT.replace("5555", "5556"),
            codeVerifier=VERIFIER,
        )
        == "InvalidGrantException"
    )
    code = _authorize(sso, reg["clientId"])
    assert oidc.create_token(**base, code=code, redirectUri=REDIRECT, codeVerifier=VERIFIER)["accessToken"]
    assert (
        _error_code(oidc.create_token, **base, code=code, redirectUri=REDIRECT, codeVerifier=VERIFIER)
        == "InvalidGrantException"
    )


def test_unregistered_redirect_is_refused_at_authorize(sso: SsoEmulator) -> None:
    reg = _pkce_client(sso)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": reg["clientId"],
            "state": "s",
            "redirect_uri": "http://127.0.0.1:1/elsewhere",
            "code_challenge_method": "S256",
            "code_challenge": s256(VERIFIER),
        }
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{sso.url}/authorize?{query}")
    assert caught.value.code == 400


def test_client_secret_and_refresh_token_are_checked(sso: SsoEmulator) -> None:
    oidc = _client(sso, "sso-oidc")
    client_id, secret = sso.emulator.register()
    refresh = sso.emulator.issue_refresh_token(client_id)
    assert (
        _error_code(
            oidc.create_token,
            clientId=client_id,
            clientSecret="wrong",
            grantType="refresh_token",
            refreshToken=refresh,
        )
        == "InvalidClientException"
    )
    assert (
        _error_code(
            oidc.create_token,
            clientId=client_id,
            clientSecret=secret,
            grantType="refresh_token",
            refreshToken="aor-unknown",
        )
        == "InvalidGrantException"
    )


def test_portal_needs_a_live_bearer_token_and_an_assignment(sso: SsoEmulator) -> None:
    portal = _client(sso, "sso")
    assert _error_code(portal.list_accounts, accessToken="nope") == "UnauthorizedException"
    token = sso.emulator.issue_token()
    assert (
        _error_code(
            portal.get_role_credentials, accessToken=token, accountId="999999999999", roleName="Admin"
        )
        == "ForbiddenException"
    )
    sso.emulator.tokens[token].expires = 0
    assert (
        _error_code(
            portal.get_role_credentials, accessToken=token, accountId="111111111111", roleName="Admin"
        )
        == "UnauthorizedException"
    )
