"""The device authorization flow (RFC 8628): show a code, poll CreateToken at the server's pace.

``slow_down`` adds 5 seconds to the interval (RFC 8628 §3.5); the code's own expiry bounds the wait.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from credproc import aws
from credproc.errors import NeedsHumanError, UpstreamError
from credproc.safetext import printable
from credproc.sources.sso import oidc
from credproc.sources.sso.oidc import Grant
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession
from credproc.sources.sso.token_cache import Registration

SLOW_DOWN_STEP = 5
DEFAULT_INTERVAL = 5


def login(
    rt: Runtime,
    session: SsoSession,
    reg: Registration,
    open_browser: Callable[[str], bool] | None,
    retry_hint: str,
) -> Grant:
    from botocore.exceptions import ClientError

    oidc_client = oidc.client(rt, session)
    with aws.calling("SSO-OIDC StartDeviceAuthorization"):
        auth = oidc_client.start_device_authorization(
            clientId=reg.client_id, clientSecret=reg.client_secret, startUrl=session.start_url
        )
    uri, code = printable(str(auth["verificationUri"])), printable(str(auth["userCode"]))
    rt.say(f"Sign in to {session.start_url}: open {uri} and enter the code {code}")
    complete = auth.get("verificationUriComplete")
    if complete:
        rt.say(f"(or open {printable(str(complete))})")
        if open_browser is not None:
            open_browser(complete)
    interval = int(auth.get("interval") or DEFAULT_INTERVAL)
    deadline = rt.clock() + int(auth.get("expiresIn") or 600)
    while True:
        _pause(rt, interval)
        if rt.clock() > deadline:
            raise _expired(retry_hint)
        try:
            answer: Any = oidc_client.create_token(
                grantType=oidc.DEVICE_GRANT,
                clientId=reg.client_id,
                clientSecret=reg.client_secret,
                deviceCode=auth["deviceCode"],
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code == "AuthorizationPendingException":
                continue
            if code == "SlowDownException":
                interval += SLOW_DOWN_STEP
                continue
            if code == "ExpiredTokenException":
                raise _expired(retry_hint) from None
            if code == "AccessDeniedException":
                raise UpstreamError(
                    "the sign-in was denied in the browser", f"run `{retry_hint}` to try again"
                ) from None
            with aws.calling("SSO-OIDC CreateToken (device code)"):
                raise
        else:
            return Grant(answer["accessToken"], int(answer["expiresIn"]), answer.get("refreshToken") or None)


def _pause(rt: Runtime, seconds: float) -> None:
    """Sleep in small steps so the spinner moves."""
    end = rt.clock() + seconds
    while (left := end - rt.clock()) > 0:
        rt.tick("waiting for the code to be approved")
        rt.sleep(min(0.1, left))


def _expired(retry_hint: str) -> NeedsHumanError:
    return NeedsHumanError("the device code expired before it was approved", f"run `{retry_hint}` again")
