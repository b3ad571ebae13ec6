"""An IAM Identity Center portal + SSO-OIDC emulator on 127.0.0.1 port 0, as strict as AWS.

One HTTP server answers both services (tests point ``AWS_ENDPOINT_URL_SSO`` and
``AWS_ENDPOINT_URL_SSO_OIDC`` at it), plus the two pages a person's browser visits: ``/authorize``
(the PKCE authorization endpoint, which redirects to the client's loopback ``redirect_uri``) and
``/device`` (where a user approves a device code). It checks what AWS checks: client id and
secret and their expiry, the registered redirect URI (loopback port ignored, RFC 8252 §7.3), the
PKCE S256 verifier, single-use authorization codes, device code expiry and polling speed, refresh
tokens, bearer tokens (expired, revoked), and the account/role assignments. Errors carry the
``x-amzn-ErrorType`` header and AWS's JSON bodies. Every call is counted by operation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.support import leaks
from tests.support.faults import Fault, pick
from tests.support.loopback import LoopbackServer, answer_fault, reset_connection

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, oauth: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.oauth = status, kind, message, oauth


@dataclass
class Client:
    secret: str
    expires: float
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]


@dataclass
class DeviceGrant:
    client_id: str
    user_code: str
    expires: float
    interval: int
    approved: bool = False
    last_poll: float = 0.0


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    expires: float
    used: bool = False


@dataclass
class Token:
    client_id: str
    expires: float
    revoked: bool = False


@dataclass
class Account:
    account_id: str
    name: str
    roles: tuple[str, ...]


@dataclass
class Emulator:
    """The service state. Knobs are plain attributes a test sets before the run."""

    token_ttl: int = 8 * 3600
    role_ttl: int = 3600
    registration_ttl: int = 90 * 24 * 3600
    device_ttl: int = 600
    device_interval: int = 1  # what the server enforces between polls
    advertised_interval: int | None = None  # what it tells clients (None: the same)
    issue_refresh_tokens: bool = True
    page_size: int = 2  # small, so clients must follow nextToken
    deny_devices: bool = False  # the person presses "Deny" on the device page
    refuse_bearer: bool = False  # every portal call answers 401 (a session revoked as it is used)
    tamper_state: bool = False  # /authorize answers with a different state (a forged redirect)
    accounts: list[Account] = field(
        default_factory=lambda: [
            Account("111111111111", "dev", ("Admin", "ReadOnly")),
            Account("222222222222", "prod", ("ReadOnly",)),
            Account("333333333333", "sandbox", ("Admin",)),
        ]
    )
    calls: Counter[str] = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)  # injected first, one per matching call
    always: Fault | None = None  # then on every matching call (tests.support.faults.pick)
    clients: dict[str, Client] = field(default_factory=dict)
    devices: dict[str, DeviceGrant] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> client id
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Callable[[], float] = time.time
    url: str = ""

    # ---- helpers a test uses directly ------------------------------------------------------

    def issue_token(self, client_id: str = "test-client", ttl: int | None = None) -> str:
        token = "aoa" + secrets.token_urlsafe(24)
        leaks.remember(token)
        self.tokens[token] = Token(client_id, self.clock() + (self.token_ttl if ttl is None else ttl))
        return token

    def issue_refresh_token(self, client_id: str) -> str:
        refresh = "aor" + secrets.token_urlsafe(24)
        leaks.remember(refresh)
        self.refresh_tokens[refresh] = client_id
        return refresh

    def register(self, grant_types: tuple[str, ...] = ("refresh_token",)) -> tuple[str, str]:
        client_id, secret = "cid-" + secrets.token_hex(8), "csec-" + secrets.token_urlsafe(16)
        leaks.remember(secret)
        self.clients[client_id] = Client(
            secret, self.clock() + self.registration_ttl, grant_types, (), ("sso:account:access",)
        )
        return client_id, secret

    def revoke_all(self) -> None:
        """What an administrator's "revoke sessions" does: access and refresh tokens die."""
        for token in self.tokens.values():
            token.revoked = True
        self.refresh_tokens.clear()

    def count(self, op: str) -> int:
        with self.lock:
            return self.calls[op]

    # ---- SSO-OIDC ----------------------------------------------------------------------------

    def _client(self, body: dict[str, Any]) -> tuple[str, Client]:
        client_id, secret = body.get("clientId"), body.get("clientSecret")
        client = self.clients.get(str(client_id))
        if client is None or not secrets.compare_digest(client.secret, str(secret or "")):
            raise ApiError(401, "InvalidClientException", "Invalid client", "invalid_client")
        if client.expires <= self.clock():
            raise ApiError(401, "InvalidClientException", "Client registration expired", "invalid_client")
        return str(client_id), client

    def register_client(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("clientType") != "public" or not body.get("clientName"):
            raise ApiError(
                400, "InvalidClientMetadataException", "clientType must be public", "invalid_client_metadata"
            )
        grants = tuple(body.get("grantTypes") or ())
        redirects = tuple(body.get("redirectUris") or ())
        if "authorization_code" in grants and (not redirects or not body.get("issuerUrl")):
            raise ApiError(
                400, "InvalidRequestException", "redirectUris and issuerUrl are required", "invalid_request"
            )
        for uri in redirects:
            if urlsplit(uri).hostname not in ("127.0.0.1", "localhost", "::1"):
                raise ApiError(
                    400,
                    "InvalidRedirectUriException",
                    "redirect URI must be loopback",
                    "invalid_redirect_uri",
                )
        client_id, secret = "cid-" + secrets.token_hex(8), "csec-" + secrets.token_urlsafe(24)
        leaks.remember(secret)
        now = self.clock()
        self.clients[client_id] = Client(
            secret,
            now + self.registration_ttl,
            grants or (DEVICE_GRANT, "refresh_token"),
            redirects,
            tuple(body.get("scopes") or ()),
        )
        return {
            "clientId": client_id,
            "clientSecret": secret,
            "clientIdIssuedAt": int(now),
            "clientSecretExpiresAt": int(now + self.registration_ttl),
        }

    def start_device_authorization(self, body: dict[str, Any]) -> dict[str, Any]:
        client_id, _ = self._client(body)
        if not body.get("startUrl"):
            raise ApiError(400, "InvalidRequestException", "startUrl is required", "invalid_request")
        device_code = "dc-" + secrets.token_urlsafe(16)
        user_code = secrets.token_hex(2).upper() + "-" + secrets.token_hex(2).upper()
        now = self.clock()  # polling speed counts from here, as AWS counts it
        self.devices[device_code] = DeviceGrant(
            client_id, user_code, now + self.device_ttl, self.device_interval, last_poll=now
        )
        verify = f"{self.url}/device"
        interval = self.device_interval if self.advertised_interval is None else self.advertised_interval
        return {
            "deviceCode": device_code,
            "userCode": user_code,
            "verificationUri": verify,
            "verificationUriComplete": f"{verify}?user_code={user_code}",
            "expiresIn": self.device_ttl,
            "interval": interval,
        }

    def approve(self, user_code: str) -> bool:
        for grant in self.devices.values():
            if grant.user_code == user_code and grant.expires > self.clock():
                grant.approved = True
                return True
        return False

    def create_token(self, body: dict[str, Any]) -> dict[str, Any]:
        client_id, client = self._client(body)
        grant = body.get("grantType")
        if grant not in client.grant_types:
            raise ApiError(
                400, "UnauthorizedClientException", f"grant {grant} not registered", "unauthorized_client"
            )
        if grant == DEVICE_GRANT:
            self._device_grant(client_id, str(body.get("deviceCode") or ""))
        elif grant == "authorization_code":
            self._code_grant(client_id, body)
        elif grant == "refresh_token":
            owner = self.refresh_tokens.pop(str(body.get("refreshToken") or ""), None)
            if owner != client_id:
                raise ApiError(400, "InvalidGrantException", "Invalid refresh token", "invalid_grant")
        else:
            raise ApiError(
                400, "UnsupportedGrantTypeException", "unsupported grant", "unsupported_grant_type"
            )
        answer: dict[str, Any] = {
            "accessToken": self.issue_token(client_id),
            "tokenType": "Bearer",
            "expiresIn": self.token_ttl,
        }
        if self.issue_refresh_tokens:
            answer["refreshToken"] = self.issue_refresh_token(client_id)
        return answer

    def _device_grant(self, client_id: str, device_code: str) -> None:
        grant = self.devices.get(device_code)
        if grant is None or grant.client_id != client_id:
            raise ApiError(400, "InvalidGrantException", "Invalid device code", "invalid_grant")
        now = self.clock()
        if grant.expires <= now:
            raise ApiError(400, "ExpiredTokenException", "Device code expired", "expired_token")
        too_fast = now - grant.last_poll < grant.interval
        grant.last_poll = now
        if too_fast:
            raise ApiError(400, "SlowDownException", "Client is polling too fast", "slow_down")
        if self.deny_devices:
            raise ApiError(400, "AccessDeniedException", "Access denied", "access_denied")
        if not grant.approved:
            raise ApiError(
                400, "AuthorizationPendingException", "Authorization pending", "authorization_pending"
            )
        del self.devices[device_code]

    def _code_grant(self, client_id: str, body: dict[str, Any]) -> None:
        issued = self.codes.get(str(body.get("code") or ""))
        if issued is None or issued.used or issued.client_id != client_id or issued.expires <= self.clock():
            raise ApiError(400, "InvalidGrantException", "Invalid authorization code", "invalid_grant")
        issued.used = True
        if body.get("redirectUri") != issued.redirect_uri:
            raise ApiError(400, "InvalidGrantException", "redirect_uri mismatch", "invalid_grant")
        verifier = str(body.get("codeVerifier") or "")
        if not 43 <= len(verifier) <= 128 or s256(verifier) != issued.challenge:
            raise ApiError(400, "InvalidGrantException", "PKCE verification failed", "invalid_grant")

    def authorize(self, query: dict[str, str]) -> str:
        """The browser's visit: returns the redirect Location (the person said yes)."""
        client = self.clients.get(query.get("client_id", ""))
        if client is None or "authorization_code" not in client.grant_types:
            raise ApiError(400, "InvalidClientException", "unknown client", "invalid_client")
        redirect = query.get("redirect_uri", "")
        if not any(loopback_match(r, redirect) for r in client.redirect_uris):
            raise ApiError(
                400, "InvalidRedirectUriException", "redirect_uri not registered", "invalid_redirect_uri"
            )
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            raise ApiError(
                400, "InvalidRequestException", "response_type=code and S256 required", "invalid_request"
            )
        if not query.get("code_challenge") or not query.get("state"):
            raise ApiError(
                400, "InvalidRequestException", "code_challenge and state required", "invalid_request"
            )
        code = "code-" + secrets.token_urlsafe(16)
        self.codes[code] = AuthCode(query["client_id"], redirect, query["code_challenge"], self.clock() + 300)
        state = "forged-" + secrets.token_hex(4) if self.tamper_state else query["state"]
        return redirect + "?" + urlencode({"code": code, "state": state})

    # ---- SSO portal --------------------------------------------------------------------------

    def bearer(self, headers: Any) -> str:
        token = str(headers.get("x-amz-sso_bearer_token") or "")
        found = self.tokens.get(token)
        if found is None or self.refuse_bearer or found.revoked or found.expires <= self.clock():
            raise ApiError(401, "UnauthorizedException", "Session token not found or invalid")
        return token

    def role_credentials(self, query: dict[str, str]) -> dict[str, Any]:
        account, role = query.get("account_id", ""), query.get("role_name", "")
        if not any(a.account_id == account and role in a.roles for a in self.accounts):
            raise ApiError(403, "ForbiddenException", "No access")
        expiration = int((self.clock() + self.role_ttl) * 1000)
        secret, session = secrets.token_urlsafe(30), "sso-session-" + secrets.token_urlsafe(40)
        leaks.remember(secret, session)
        return {
            "roleCredentials": {
                "accessKeyId": "ASIA" + secrets.token_hex(8).upper(),
                "secretAccessKey": secret,
                "sessionToken": session,
                "expiration": expiration,
            }
        }

    def page(self, items: list[Any], query: dict[str, str], key: str) -> dict[str, Any]:
        start = int(query.get("next_token") or 0)
        size = min(int(query.get("max_result") or self.page_size), self.page_size)
        answer: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            answer["nextToken"] = str(start + size)
        return answer


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def loopback_match(registered: str, given: str) -> bool:
    a, b = urlsplit(registered), urlsplit(given)
    return (a.scheme, a.hostname, a.path) == (b.scheme, b.hostname, b.path) and b.hostname in (
        "127.0.0.1",
        "localhost",
        "::1",
    )


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: dict[str, Any]) -> None:
        self._send(200, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _error(self, err: ApiError) -> None:
        body: dict[str, Any] = {"message": err.message}
        if err.oauth:
            body = {"error": err.oauth, "error_description": err.message}
        self._send(
            err.status,
            json.dumps(body).encode(),
            {"Content-Type": "application/json", "x-amzn-ErrorType": err.kind},
        )

    def _dispatch(self, method: str) -> None:
        emu = self.server.emulator
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        routes: dict[tuple[str, str], tuple[str, Callable[[], Any]]] = {}

        def body() -> dict[str, Any]:
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                raise ApiError(400, "InvalidRequestException", "malformed JSON", "invalid_request") from None
            return data if isinstance(data, dict) else {}

        routes = {
            ("POST", "/client/register"): ("RegisterClient", lambda: emu.register_client(body())),
            ("POST", "/device_authorization"): (
                "StartDeviceAuthorization",
                lambda: emu.start_device_authorization(body()),
            ),
            ("POST", "/token"): ("CreateToken", lambda: emu.create_token(body())),
            ("GET", "/federation/credentials"): (
                "GetRoleCredentials",
                lambda: (emu.bearer(self.headers), emu.role_credentials(query))[1],
            ),
            ("GET", "/assignment/accounts"): (
                "ListAccounts",
                lambda: (
                    emu.bearer(self.headers),
                    emu.page(
                        [
                            {
                                "accountId": a.account_id,
                                "accountName": a.name,
                                "emailAddress": f"{a.name}@example.com",
                            }
                            for a in emu.accounts
                        ],
                        query,
                        "accountList",
                    ),
                )[1],
            ),
            ("GET", "/assignment/roles"): (
                "ListAccountRoles",
                lambda: (
                    emu.bearer(self.headers),
                    emu.page(
                        [
                            {"roleName": r, "accountId": a.account_id}
                            for a in emu.accounts
                            if a.account_id == query.get("account_id")
                            for r in a.roles
                        ],
                        query,
                        "roleList",
                    ),
                )[1],
            ),
            ("POST", "/logout"): ("Logout", lambda: self._logout()),
        }
        if method == "GET" and parts.path == "/authorize":
            self._browser_authorize(query)
            return
        if method == "GET" and parts.path == "/device":
            with emu.lock:
                emu.calls["DeviceApproval"] += 1
                ok = emu.approve(query.get("user_code", ""))
            page = b"approved" if ok else b"unknown code"
            self._send(200 if ok else 400, page, {"Content-Type": "text/plain"})
            return
        route = routes.get((method, parts.path))
        if route is None:
            self._error(ApiError(404, "UnknownOperationException", f"no route {method} {parts.path}"))
            return
        op, call = route
        with emu.lock:
            emu.calls[op] += 1
            fault = pick(emu.faults, emu.always, op)
        if fault is not None and self._fault_answered(fault):
            return
        with emu.lock:
            try:
                answer = call()
            except ApiError as err:
                self._error(err)
                return
        if fault is not None and fault.kind == "truncate":  # the full length declared, half sent
            payload = json.dumps(answer or {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        self._json(answer or {})

    def _fault_answered(self, fault: Fault) -> bool:
        """Answer for ``fault`` and return True, or (slow, truncate) let the real answer follow."""
        return answer_fault(fault, _SsoFaults(self))

    def _logout(self) -> dict[str, Any]:
        emu = self.server.emulator
        token = emu.bearer(self.headers)
        emu.tokens[token].revoked = True
        return {}

    def _browser_authorize(self, query: dict[str, str]) -> None:
        emu = self.server.emulator
        with emu.lock:
            emu.calls["Authorize"] += 1
            try:
                location = emu.authorize(query)
            except ApiError as err:
                self._send(err.status, err.message.encode(), {"Content-Type": "text/plain"})
                return
        self._send(302, b"", {"Location": location})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")


class _SsoFaults:
    """The portal's and SSO-OIDC's words for an injected fault (JSON, ``x-amzn-ErrorType``)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def error(self, status: int, code: str, message: str) -> None:
        self.handler._error(ApiError(status, code, message))

    def throttle(self) -> None:
        self.handler._error(ApiError(429, "TooManyRequestsException", "Rate exceeded"))

    def malformed(self) -> None:
        self.handler._send(200, b'{"roleCredentials": {"accessKeyId": ', {"Content-Type": "application/json"})

    def reset(self) -> None:
        reset_connection(self.handler.connection)
        self.handler.close_connection = True


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.emulator = emulator


class SsoEmulator(LoopbackServer):
    """Context manager: the server in a thread; ``.emulator`` is the state, ``.url`` the endpoint."""

    server: EmulatorServer

    def __init__(self) -> None:
        self.emulator = Emulator()
        super().__init__(EmulatorServer(self.emulator), poll_interval=0.5)
        self.emulator.url = self.url

    def __enter__(self) -> SsoEmulator:
        super().__enter__()
        return self

    def reset(self) -> Emulator:
        self.emulator = Emulator(url=self.url)
        self.server.emulator = self.emulator
        return self.emulator


# ---- what tests share: fixtures and a world with SSO profiles ---------------------------------

START_URL = "https://corp.awsapps.com/start"
LEGACY_URL = "https://legacy.awsapps.com/start"
SSO_CONFIG = f"""
    [profile dev]
    sso_session = corp
    sso_account_id = 111111111111
    sso_role_name = Admin
    region = eu-west-1

    [profile dev-ro]
    sso_session = corp
    sso_account_id = 111111111111
    sso_role_name = ReadOnly

    [sso-session corp]
    sso_start_url = {START_URL}
    sso_region = us-east-1
    sso_registration_scopes = sso:account:access

    [profile legacy]
    sso_start_url = {LEGACY_URL}
    sso_region = us-east-1
    sso_account_id = 222222222222
    sso_role_name = ReadOnly

    [profile chained]
    role_arn = arn:aws:iam::444444444444:role/deploy
    source_profile = dev
    role_session_name = deploy

    [profile static]
    aws_access_key_id = AKIAIOSFODNN7EXAMPLE
    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""


def token_file(home: Path, cache_id: str) -> Path:
    return home / ".aws" / "sso" / "cache" / (hashlib.sha1(cache_id.encode()).hexdigest() + ".json")


def write_token(
    home: Path,
    emu: Emulator,
    cache_id: str = "corp",
    start_url: str = START_URL,
    expires_in: int = 3600,
    refreshable: bool = False,
    token: str | None = None,
) -> dict[str, Any]:
    """A token file as `aws sso login` writes it; the token is known to the emulator."""
    now = emu.clock()
    data: dict[str, Any] = {
        "startUrl": start_url,
        "region": "us-east-1",
        "accessToken": token or emu.issue_token(ttl=expires_in),
        "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + expires_in)),
    }
    if refreshable:
        client_id, secret = emu.register()
        data.update(
            clientId=client_id,
            clientSecret=secret,
            refreshToken=emu.issue_refresh_token(client_id),
            registrationExpiresAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 86400)),
        )
    path = token_file(home, cache_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return data


@pytest.fixture(scope="session", name="sso_server")
def sso_server_fixture() -> Iterator[SsoEmulator]:
    with SsoEmulator() as server:
        yield server


@pytest.fixture(name="sso")
def sso_fixture(sso_server: SsoEmulator, monkeypatch: pytest.MonkeyPatch, hermetic_env: Path) -> SsoEmulator:
    """A fresh emulator state, the endpoints pointed at it, and the SSO profiles written."""
    sso_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", sso_server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", sso_server.url)
    (hermetic_env / ".aws" / "config").write_text(textwrap.dedent(SSO_CONFIG))
    return sso_server


# ---- a browser for tests: follows a URL the way a person's browser would ---------------------


def browse(url: str) -> bool:
    """GET ``url`` following redirects (the /authorize 302 lands on credproc's loopback listener)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        exc.read()
    return True


def browser_script(directory: Path, mode: str = "follow") -> str:
    """An executable for $BROWSER (webbrowser honours it): ``follow`` visits the URL, ``close``
    does nothing (a tab the person closed), ``fail`` exits 1 (no browser could start). Each call
    appends the URL to ``browser.log`` beside it."""
    import sys

    repo = Path(__file__).resolve().parents[2]
    log = directory / "browser.log"
    script = directory / f"browser-{mode}"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(repo)!r})\n"
        f"open({str(log)!r}, 'a').write(sys.argv[1] + '\\n')\n"
        f"mode = {mode!r}\n"
        "if mode == 'fail':\n    sys.exit(1)\n"
        "if mode == 'follow':\n"
        "    from tests.support.sso_emulator import browse\n    browse(sys.argv[1])\n"
    )
    os.chmod(script, 0o700)
    return str(script)
