"""botocore clients with credproc's endpoint, retry and timeout rules, and AWS error mapping."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from credproc.aws.budget import MAX_ATTEMPTS, MIN_TRY_TIMEOUT, attempt_timeouts, time_left
from credproc.aws.endpoints import tls_verify
from credproc.credentials import Credentials, parse_expiration
from credproc.errors import ConfigError, UpstreamError

# AWS error codes that mean the request itself was wrong (bad input, exit 1), not a refusal.
VALIDATION_CODES = frozenset(
    {
        "ValidationError",
        "ValidationException",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "MalformedPolicyDocument",
    }
)


def client(
    service: str,
    *,
    region: str,
    endpoint: str | None,
    creds: Credentials | None,
    environ: Mapping[str, str],
    verify_ssl: bool = True,
) -> Any:
    """A botocore client that reads nothing from the user's files (we already did) and is unsigned
    when ``creds`` is None (SSO, SSO-OIDC, web identity)."""
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    from credproc import validate

    # Every region reaches here (sso_region too): one clear line, not botocore's InvalidRegionError.
    validate.region(region, f"{service} region")

    # Keep botocore away from the user's files and profile: every setting comes from our arguments.
    # The profile variable gets no env var, or an AWS_PROFILE naming a profile (as `exec` children
    # and the AWS CLI's credential_process calls often have) raises ProfileNotFound on /dev/null.
    session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session.set_config_variable("config_file", os.devnull)
    session.set_config_variable("credentials_file", os.devnull)
    session.set_config_variable("profile", None)
    connect_timeout, read_timeout = attempt_timeouts()
    cfg = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # total_max_attempts counts the first try; botocore's "max_attempts" would mean retries.
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        signature_version=UNSIGNED if creds is None else None,
        user_agent_extra="credproc",
    )
    kwargs: dict[str, Any] = {"region_name": region, "config": cfg, "verify": tls_verify(environ, verify_ssl)}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    if creds is not None:
        kwargs.update(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
        )
    else:
        kwargs.update(aws_access_key_id="", aws_secret_access_key="")
    made = session.create_client(service, **kwargs)
    made.meta.events.register("before-parse", _refuse_cut_off_body)
    return _Retrying(made)


def _refuse_cut_off_body(response_dict: Mapping[str, Any], **_: Any) -> None:
    """A body shorter than its Content-Length was cut off in transit. botocore's JSON parser would
    read it as ``{}`` (and its XML parser fail late); call it what it is, a garbled answer."""
    from botocore.parsers import ResponseParserError

    declared = response_dict.get("headers", {}).get("content-length")
    body = response_dict.get("body")
    if declared is not None and isinstance(body, bytes) and declared.isdigit() and len(body) < int(declared):
        raise ResponseParserError(f"answer cut off: {len(body)} of {declared} bytes")


class _Retrying:
    """A botocore client whose operations also retry an answer that could not be parsed.

    botocore's retries cover status codes and transport errors, but a body cut off mid-way
    surfaces, in recent botocore, only when parsing it (ResponseParserError), past its retry loop.
    Such an answer is as transient as a 503: retry it the same bounded number of times, with
    jitter, inside the run's budget.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._inner.meta.method_to_api_mapping:
            return attr

        def operation(**params: Any) -> Any:
            from botocore.parsers import ResponseParserError

            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return _parsed(attr, params)
                except ResponseParserError:
                    left = time_left()
                    if attempt == MAX_ATTEMPTS or (left is not None and left < MIN_TRY_TIMEOUT):
                        raise
                time.sleep(random.uniform(0, 0.2 * 2**attempt))  # noqa: S311 - jitter, not secrecy
            raise AssertionError("unreachable")

        return operation


def _parsed(call: Any, params: Mapping[str, Any]) -> Any:
    """botocore's parsers fail on some garbled bodies with a KeyError (an XML answer without its
    Result element) or a RecursionError (100,000 nested arrays): garbled answers all the same."""
    from botocore.parsers import ResponseParserError

    try:
        return call(**params)
    except (KeyError, RecursionError) as exc:
        raise ResponseParserError(f"unreadable answer ({type(exc).__name__})") from exc


# The fields of a credentials block: key id, secret key, session token, expiration.
STS_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
SSO_FIELDS = ("accessKeyId", "secretAccessKey", "sessionToken", "expiration")


def sts_credentials(what: str, answer: Mapping[str, Any]) -> Credentials:
    """The ``Credentials`` block of an STS answer (AssumeRole*, GetSessionToken)."""
    return answer_credentials(what, answer, "Credentials", STS_FIELDS)


def answer_credentials(
    what: str, answer: Mapping[str, Any], block: str, fields: tuple[str, str, str, str]
) -> Credentials:
    """The credentials in ``answer[block]``, its fields named as ``fields`` (STS_FIELDS, SSO_FIELDS)."""
    with reading(what):
        found = answer[block]
        key_id, secret, token, expiration = (found[name] for name in fields)
        return Credentials(key_id, secret, token, parse_expiration(expiration))


@contextmanager
def calling(what: str) -> Iterator[None]:
    """Turn botocore's failures into credproc errors with AWS's own message, no traceback."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        EndpointConnectionError,
        NoCredentialsError,
        ParamValidationError,
    )
    from botocore.parsers import ResponseParserError

    try:
        yield
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "Unknown")
        message = str(err.get("Message") or "no message")
        if code in VALIDATION_CODES:
            raise ConfigError(f"{what} rejected: {code}: {message}") from None
        raise UpstreamError(f"{what} failed: {code}: {message}") from None
    except ParamValidationError as exc:
        raise ConfigError(f"{what}: {_one_line(str(exc))}") from None
    except (EndpointConnectionError, ConnectionError) as exc:
        raise UpstreamError(
            f"{what}: could not reach AWS ({_one_line(str(exc))})",
            "check your network, proxy and the endpoint settings (AWS_ENDPOINT_URL*)",
        ) from None
    except NoCredentialsError:
        raise ConfigError(f"{what}: no credentials to sign the request") from None
    except BotoCoreError as exc:
        raise UpstreamError(f"{what}: {_one_line(str(exc))}") from None
    except ResponseParserError:  # not a BotoCoreError: a garbled or cut-off answer body
        raise UpstreamError(
            f"{what}: AWS answered with a malformed response", "try again in a moment"
        ) from None


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Reading fields of an answer: botocore's JSON parser turns a garbled 200 body into ``{}``,
    so a missing or mistyped field means AWS answered badly (exit 3), not a bug (a traceback)."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError):
        raise UpstreamError(
            f"{what}: AWS answered without the expected fields", "try again in a moment"
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())
