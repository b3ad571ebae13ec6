"""CreateSession: the endpoint rule, one signed POST, and AWS's answers turned into credproc's."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from urllib.parse import urlsplit

from credproc.credentials import Credentials, parse_expiration
from credproc.errors import ConfigError, UpstreamError
from credproc.sources.rolesanywhere import signer, transport
from credproc.sources.rolesanywhere.arns import Arns
from credproc.sources.rolesanywhere.material import Material

# Refusals that mean the request itself is wrong (exit 1), as opposed to AWS saying no (exit 3).
VALIDATION_TYPES = frozenset({"ValidationException", "SerializationException"})


def _error_type(response: transport.Response, data: Mapping[str, object]) -> str:
    headers = {k.lower(): v for k, v in response.headers.items()}
    raw = headers.get("x-amzn-errortype") or str(data.get("__type") or data.get("code") or "")
    # "AccessDeniedException:http://internal..." and "com.amazon...#AccessDeniedException" both occur.
    return raw.split(":")[0].split("#")[-1] or f"HTTP {response.status}"


def _json(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body.decode("utf-8")) if body else {}
    except (ValueError, RecursionError):  # garbled, or nested past the parser's depth
        return {}
    return data if isinstance(data, dict) else {}


def _credentials(data: Mapping[str, object]) -> Credentials:
    try:
        found = data["credentialSet"][0]["credentials"]  # type: ignore[index]
        return Credentials(
            str(found["accessKeyId"]),
            str(found["secretAccessKey"]),
            str(found["sessionToken"]),
            parse_expiration(found["expiration"]),
        )
    except (KeyError, IndexError, TypeError):
        raise UpstreamError("CreateSession answered without a credential set") from None


def interpret(response: transport.Response) -> Credentials:
    data = _json(response.body)
    if 200 <= response.status < 300:
        return _credentials(data)
    kind = _error_type(response, data)
    message = str(data.get("message") or data.get("Message") or "no message")
    text = f"CreateSession refused: {kind}: {message} (HTTP {response.status})"
    if kind in VALIDATION_TYPES or response.status == 400:
        raise ConfigError(text)
    if response.status in transport.RETRY_STATUSES:
        raise UpstreamError(text + "; gave up after retries", "try again in a moment")
    raise UpstreamError(text)


def create_session(
    material: Material,
    *,
    endpoint: str,
    region: str,
    arns: Arns,
    duration: int,
    session_name: str | None,
    environ: Mapping[str, str],
    verify: bool = True,
    now: Callable[[], float] = time.time,
    policy: transport.RetryPolicy = transport.RetryPolicy(),  # noqa: B008 - frozen
    clock: transport.Clock = transport.Clock(),  # noqa: B008 - frozen
) -> Credentials:
    url = endpoint + "/sessions"
    host = transport.host_header(url)
    base_path = urlsplit(url).path

    def make_request() -> tuple[Mapping[str, str], bytes]:
        body = signer.create_session_body(
            profile_arn=arns.profile,
            role_arn=arns.role,
            trust_anchor_arn=arns.trust_anchor,
            duration=duration,
            session_name=session_name,
        )
        signed = signer.sign(
            material,
            method="POST",
            host=host,
            path=base_path,
            body=body,
            region=region,
            when=datetime.fromtimestamp(now(), tz=timezone.utc),
        )
        return signed.headers, signed.body

    response = transport.post(url, make_request, environ=environ, verify=verify, policy=policy, clock=clock)
    return interpret(response)
