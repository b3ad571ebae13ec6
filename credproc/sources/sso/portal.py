"""SSO portal calls with a bearer token: GetRoleCredentials, ListAccounts, ListAccountRoles, Logout."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from credproc import aws
from credproc.credentials import Credentials
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession


class TokenRefused(Exception):
    """The portal answered 401: the access token was revoked or has expired server-side."""


@dataclass(frozen=True)
class Assignment:
    account_id: str
    account_name: str
    role_name: str


def client(rt: Runtime, session: SsoSession) -> Any:
    return rt.client("sso", session.region, session.portal_endpoint)


def _call(what: str, fn: Any, **params: Any) -> Any:
    from botocore.exceptions import ClientError

    with aws.calling(what):
        try:
            return fn(**params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "UnauthorizedException":
                raise TokenRefused from None
            raise


def role_credentials(
    rt: Runtime, session: SsoSession, access_token: str, account: str, role: str
) -> Credentials:
    what = f"SSO GetRoleCredentials {account}/{role}"
    answer = _call(
        what,
        client(rt, session).get_role_credentials,
        accessToken=access_token,
        accountId=account,
        roleName=role,
    )
    return aws.answer_credentials(what, answer, "roleCredentials", aws.SSO_FIELDS)


def assignments(rt: Runtime, session: SsoSession, access_token: str) -> Iterator[Assignment]:
    portal = client(rt, session)
    for page in _pages(portal, "list_accounts", "SSO ListAccounts", accessToken=access_token):
        for account in page.get("accountList", []):
            account_id, name = account["accountId"], account.get("accountName") or account["accountId"]
            for roles in _pages(
                portal,
                "list_account_roles",
                f"SSO ListAccountRoles {account_id}",
                accessToken=access_token,
                accountId=account_id,
            ):
                for role in roles.get("roleList", []):
                    yield Assignment(account_id, name, role["roleName"])


def _pages(portal: Any, op: str, what: str, **params: Any) -> Iterator[dict[str, Any]]:
    next_token: str | None = None
    while True:
        extra = {"nextToken": next_token} if next_token else {}
        page = _call(what, getattr(portal, op), **params, **extra)
        yield page
        next_token = page.get("nextToken")
        if not next_token:
            return


def logout(rt: Runtime, session: SsoSession, access_token: str) -> None:
    _call("SSO Logout", client(rt, session).logout, accessToken=access_token)
