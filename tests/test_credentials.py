"""The Credentials value and the formats it reads and writes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from credproc.credentials import Credentials, from_process_dict, parse_expiration
from credproc.errors import ConfigError, UpstreamError


def test_repr_never_shows_secrets() -> None:
    creds = Credentials("ASIAEXAMPLE", "secret-value", "token-value")
    assert "secret-value" not in repr(creds) and "token-value" not in repr(creds)


@pytest.mark.parametrize(
    "value",
    [
        "2030-01-02T03:04:05Z",
        "2030-01-02T03:04:05.123456Z",
        "2030-01-02T04:04:05+01:00",
        "2030-01-02T03:04:05",
        1893553445000,
        1893553445,
        datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    ],
)
def test_expiration_formats_all_mean_the_same_instant(value: object) -> None:
    assert parse_expiration(value) == datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("value", ["soon", None, True, [1]])
def test_unreadable_expiration_is_an_upstream_error(value: object) -> None:
    with pytest.raises(UpstreamError):
        parse_expiration(value)


def test_process_json_round_trips() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    creds = Credentials("ASIAEXAMPLE", "s", "t", when)
    import json

    data = json.loads(creds.to_process_json())
    assert data == {
        "Version": 1,
        "AccessKeyId": "ASIAEXAMPLE",
        "SecretAccessKey": "s",
        "SessionToken": "t",
        "Expiration": "2030-01-02T03:04:05Z",
    }
    assert from_process_dict(data, "x") == creds
    assert creds.seconds_left(when.timestamp() - 60) == 60
    assert Credentials("A", "s").seconds_left(0) is None
    assert creds.with_region("eu-west-1").region == "eu-west-1"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([], "did not print a JSON object"),
        ({"Version": 2}, "unsupported Version"),
        ({"Version": 1, "AccessKeyId": "A"}, "no AccessKeyId/SecretAccessKey"),
    ],
)
def test_malformed_process_output_is_bad_input(data: object, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        from_process_dict(data, "helper")


def test_expiration_drops_microseconds() -> None:
    now = datetime.now(timezone.utc) + timedelta(microseconds=123)
    assert parse_expiration(now).microsecond == 0
