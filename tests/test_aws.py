"""Endpoint and region precedence (botocore's documented order) and AWS error mapping."""

from __future__ import annotations

import pytest

from credproc import aws
from credproc.config import AwsConfig
from credproc.errors import ConfigError, UpstreamError

CONFIG = AwsConfig(
    profiles={
        "svc": {"services": "local", "endpoint_url": "http://profile-global", "region": "eu-north-1"},
        "plain": {"endpoint_url": "http://profile-global"},
        "none": {},
    },
    services={"local": {"sts": {"endpoint_url": "http://services-sts"}}},
)


@pytest.mark.parametrize(
    ("env", "profile", "expected"),
    [
        ({"AWS_ENDPOINT_URL_STS": "http://env-sts", "AWS_ENDPOINT_URL": "http://env"}, "svc", "http://env-sts"),
        ({"AWS_ENDPOINT_URL": "http://env"}, "svc", "http://services-sts"),
        ({"AWS_ENDPOINT_URL": "http://env"}, "plain", "http://env"),
        ({}, "plain", "http://profile-global"),
        ({}, "none", None),
        ({"AWS_ENDPOINT_URL_STS": "http://x", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "svc", None),
    ],
)
def test_endpoint_precedence(env: dict[str, str], profile: str, expected: str | None) -> None:
    assert aws.endpoint_url(env, CONFIG, profile, "sts") == expected


def test_service_ids_with_dashes_map_to_their_variable() -> None:
    assert aws.endpoint_url({"AWS_ENDPOINT_URL_SSO_OIDC": "http://oidc"}, CONFIG, "none", "sso-oidc") == "http://oidc"


def test_region_precedence() -> None:
    assert aws.region_for({"AWS_REGION": "us-west-2"}, CONFIG, "svc", "ap-south-1") == "ap-south-1"
    assert aws.region_for({"AWS_REGION": "us-west-2"}, CONFIG, "svc") == "eu-north-1"
    assert aws.region_for({"AWS_REGION": "us-west-2"}, CONFIG, "none") == "us-west-2"
    assert aws.region_for({"AWS_DEFAULT_REGION": "us-west-1"}, CONFIG, "none") == "us-west-1"
    assert aws.region_for({}, CONFIG, "none") is None


def _client_error(code: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "because"}}, "AssumeRole")


def test_validation_errors_are_bad_input_and_refusals_are_upstream() -> None:
    with pytest.raises(ConfigError, match="ValidationError: because"), aws.calling("AssumeRole x"):
        raise _client_error("ValidationError")
    with pytest.raises(UpstreamError, match="AccessDenied: because"), aws.calling("AssumeRole x"):
        raise _client_error("AccessDenied")


def test_transport_failures_are_upstream_errors() -> None:
    from botocore.exceptions import EndpointConnectionError, ParamValidationError, ReadTimeoutError

    with pytest.raises(UpstreamError, match="could not reach AWS"), aws.calling("x"):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    with pytest.raises(UpstreamError), aws.calling("x"):
        raise ReadTimeoutError(endpoint_url="http://127.0.0.1:9")
    with pytest.raises(ConfigError), aws.calling("x"):
        raise ParamValidationError(report="bad")
