"""Endpoint and region precedence (botocore's documented order) and AWS error mapping."""

from __future__ import annotations

from typing import Any

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
        (
            {"AWS_ENDPOINT_URL_STS": "http://env-sts", "AWS_ENDPOINT_URL": "http://env"},
            "svc",
            "http://env-sts",
        ),
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
    assert (
        aws.endpoint_url({"AWS_ENDPOINT_URL_SSO_OIDC": "http://oidc"}, CONFIG, "none", "sso-oidc")
        == "http://oidc"
    )


def test_one_tls_verify_rule_for_botocore_and_urllib() -> None:
    from credproc.aws.endpoints import tls_verify

    assert tls_verify({}, True) is True
    assert tls_verify({"AWS_CA_BUNDLE": "/ca.pem"}, True) == "/ca.pem"
    assert tls_verify({"AWS_CA_BUNDLE": ""}, True) is True
    assert tls_verify({"AWS_CA_BUNDLE": "/ca.pem"}, False) is False


def test_region_precedence() -> None:
    assert aws.region_for({"AWS_REGION": "us-west-2"}, CONFIG, "svc", "ap-south-1") == "ap-south-1"
    assert aws.region_for({"AWS_REGION": "us-west-2"}, CONFIG, "svc") == "eu-north-1"
    assert aws.region_for({"AWS_REGION": "us-west-2"}, CONFIG, "none") == "us-west-2"
    assert aws.region_for({"AWS_DEFAULT_REGION": "us-west-1"}, CONFIG, "none") == "us-west-1"
    assert aws.region_for({}, CONFIG, "none") is None


def _client_error(code: str) -> Exception:
    from botocore.exceptions import ClientError

    error: Exception = ClientError({"Error": {"Code": code, "Message": "because"}}, "AssumeRole")
    return error


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


# ---- the run budget: every client of one credential-process run shares RUN_BUDGET seconds ----------


def _timeouts_of(client: object) -> tuple[float, float]:
    cfg = client.meta.config  # type: ignore[attr-defined]
    return cfg.connect_timeout, cfg.read_timeout


def test_without_a_budget_clients_get_the_default_timeouts() -> None:
    made = aws.client("sts", region="us-east-1", endpoint=None, creds=None, environ={})
    assert _timeouts_of(made) == (aws.CONNECT_TIMEOUT, aws.READ_TIMEOUT)
    assert made.meta.config.retries["total_max_attempts"] == aws.MAX_ATTEMPTS


def test_a_budget_shrinks_each_clients_timeouts_to_fit_the_attempts() -> None:
    with aws.budget(6):
        connect, read = _timeouts_of(
            aws.client("sts", region="us-east-1", endpoint=None, creds=None, environ={})
        )
    assert connect <= 2.0 and read <= 2.0
    assert aws.time_left() is None


def test_nested_budgets_only_shrink_and_a_pause_lifts_them() -> None:
    with aws.budget(30):
        with aws.budget(100):
            left = aws.time_left()
            assert left is not None and left <= 30
        with aws.paused():
            assert aws.time_left() is None
        assert aws.time_left() is not None


def test_time_a_person_spends_is_given_back_to_every_enclosing_budget() -> None:
    """An MFA code typed in 20 s must not leave the AssumeRole that follows without time."""
    import time

    with aws.budget(1.0), aws.budget(0.8):
        with aws.paused():
            time.sleep(1.0)
        inner = aws.time_left()
        assert inner is not None and inner > 0.5
    with aws.budget(1.0):
        with aws.budget(5), aws.paused():
            time.sleep(1.0)
        outer = aws.time_left()
        assert outer is not None and outer > 0.5


def test_a_spent_budget_refuses_new_calls_with_an_upstream_error() -> None:
    with aws.budget(0), pytest.raises(UpstreamError, match="did not answer within"):
        aws.client("sts", region="us-east-1", endpoint=None, creds=None, environ={})


@pytest.mark.parametrize("answer", [{}, {"roleCredentials": None}, {"expiresIn": "soon"}])
def test_an_answer_missing_its_fields_is_an_upstream_error(answer: dict[str, Any]) -> None:
    with pytest.raises(UpstreamError, match="without the expected fields"), aws.reading("Op"):
        int(answer["roleCredentials"]["x"] if "roleCredentials" in answer else answer["expiresIn"])


def test_lock_waits_follow_the_budget() -> None:
    assert aws.wait_limit(50) == 50
    with aws.budget(10):
        assert 10 < aws.wait_limit(50) <= 10 + aws.LOCK_GRACE
        assert aws.wait_limit(3) == 3
    with aws.budget(-100):
        assert aws.wait_limit(50) == 0


def test_a_budget_belongs_to_the_thread_that_set_it() -> None:
    """A server refreshes in several threads: one request's budget is not another's."""
    import threading

    seen: list[float | None] = []
    with aws.budget(10):
        worker = threading.Thread(target=lambda: seen.append(aws.time_left()))
        worker.start()
        worker.join()
    assert seen == [None]


def test_resolving_a_profile_runs_in_a_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """env, exec and a server's refreshes resolve through resolve_profile: bounded like a
    credential-process run."""
    from credproc import resolve

    seen: list[float | None] = []
    monkeypatch.setattr(resolve, "build_source", lambda ctx, name: None)
    monkeypatch.setattr(resolve, "resolve_source", lambda ctx, name, source: seen.append(aws.time_left()))
    resolve.resolve_profile(None, "p")  # type: ignore[arg-type]
    assert seen[0] is not None and 0 < seen[0] <= aws.RUN_BUDGET
