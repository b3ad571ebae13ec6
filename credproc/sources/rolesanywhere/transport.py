"""One HTTPS POST with bounded retries, backoff and jitter, proxies and CA bundles.

Standard library only (urllib), so the environment is injected rather than read from
``os.environ``: ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` (either case) and ``AWS_CA_BUNDLE``.
TLS is verified unless the caller passes ``verify=False`` (``--no-verify-ssl``).
"""

from __future__ import annotations

import http.client
import random
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from credproc.aws.budget import MAX_ATTEMPTS
from credproc.aws.endpoints import tls_verify
from credproc.errors import ConfigError, UpstreamError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries (the one retry rule, ``aws.budget.MAX_ATTEMPTS``), full-jitter
    exponential backoff, and never past ``deadline`` s: the Go SDK gives a credential_process 60 s
    in all, so the whole run must end well before.
    ``timeout`` bounds each socket operation, and shrinks to what is left of the deadline."""

    attempts: int = MAX_ATTEMPTS
    base: float = 0.3
    cap: float = 3.0
    deadline: float = 30.0
    timeout: float = 10.0
    min_attempt: float = 0.5  # not worth starting an attempt with less time than this left

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        return float(rand() * min(self.cap, self.base * (2**attempt)))


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Clock:
    """Injected so tests run retries without sleeping; defaults are the real ones."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = field(default=random.random)


def host_header(url: str) -> str:
    """The Host header urllib would send, minus a default port: what the signature must cover."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _env(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name.lower()) or environ.get(name.upper()) or None


def proxies_for(url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The proxy map for this URL under curl's conventions, from the injected environment."""
    parts = urlsplit(url)
    proxy = _env(environ, f"{parts.scheme}_proxy")
    if not proxy:
        return {}
    no_proxy = _env(environ, "no_proxy")
    if no_proxy and bypasses(parts.hostname or "", no_proxy):
        return {}
    return {parts.scheme: proxy}


def bypasses(host: str, no_proxy: str) -> bool:
    """curl's NO_PROXY: ``*``, or comma-separated names matching the host or a parent domain
    (a leading dot optional), or exact IP addresses; ports in entries are ignored."""
    host = host.lower().strip("[]")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if not entry.startswith("[") and entry.count(":") == 1:
            entry = entry.split(":")[0]
        entry = entry.strip("[]").lstrip(".")
        if host == entry or host.endswith("." + entry):
            return True
    return False


def ssl_context(environ: Mapping[str, str], verify: bool) -> ssl.SSLContext:
    rule = tls_verify(environ, verify)
    if rule is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    bundle = rule if isinstance(rule, str) else None
    try:
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"AWS_CA_BUNDLE {bundle} is not a readable PEM CA bundle ({exc})") from None


def _opener(url: str, environ: Mapping[str, str], verify: bool) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [
        urllib.request.ProxyHandler(proxies_for(url, environ)),
        urllib.request.HTTPSHandler(context=ssl_context(environ, verify)),
    ]
    return urllib.request.build_opener(*handlers)


def _once(
    opener: urllib.request.OpenerDirector, url: str, headers: Mapping[str, str], body: bytes, timeout: float
) -> Response:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - http(s) only, checked by the caller
    try:
        with opener.open(request, timeout=timeout) as answer:
            return Response(answer.status, dict(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Response(exc.code, dict(exc.headers.items()), exc.read())


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "reason", exc)
    if isinstance(inner, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {inner.verify_message}"
    return str(inner) or type(inner).__name__


def post(
    url: str,
    make_request: Callable[[], tuple[Mapping[str, str], bytes]],
    *,
    environ: Mapping[str, str],
    verify: bool = True,
    policy: RetryPolicy = RetryPolicy(),
    clock: Clock = Clock(),
) -> Response:
    """POST, retrying throttling, 5xx and network failures. ``make_request`` is called once per
    attempt so each try carries a fresh signature date. Gives the last answer or raises
    UpstreamError when the endpoint was never reached."""
    opener = _opener(url, environ, verify)
    from credproc import aws

    budget_left = aws.time_left()  # the run's shared budget, when it is the tighter bound
    if budget_left is not None and budget_left < policy.deadline:
        policy = replace(policy, deadline=max(budget_left, policy.min_attempt))
    start = clock.now()
    last_error = "no attempt made"
    last: Response | None = None
    attempt = 0
    for attempt in range(policy.attempts):
        left = policy.deadline - (clock.now() - start)
        headers, body = make_request()
        try:
            response = _once(opener, url, headers, body, min(policy.timeout, left))
            if response.status not in RETRY_STATUSES:
                return response
            last = response
        # HTTPException: an answer cut short (IncompleteRead) or not HTTP at all (BadStatusLine).
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if isinstance(getattr(exc, "reason", exc), ssl.SSLCertVerificationError):
                raise UpstreamError(
                    f"cannot reach {url}: {_reason(exc)}",
                    "point AWS_CA_BUNDLE at the CA that issued the endpoint's certificate",
                ) from None
            last, last_error = None, _reason(exc)
        delay = policy.delay(attempt, clock.rand)
        left_after_sleep = policy.deadline - (clock.now() - start) - delay
        if attempt + 1 >= policy.attempts or left_after_sleep < policy.min_attempt:
            break
        clock.sleep(delay)
    if last is not None:
        return last
    raise UpstreamError(
        f"cannot reach {url} after {attempt + 1} attempts: {last_error}",
        "check your network, HTTPS_PROXY/NO_PROXY and the endpoint (--endpoint, "
        "AWS_ENDPOINT_URL_ROLESANYWHERE)",
    )
