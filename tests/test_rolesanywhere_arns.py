"""ARN and region checks, made before any network call."""

from __future__ import annotations

import pytest

from credproc.errors import ConfigError
from credproc.sources.rolesanywhere import arns
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN


def test_well_formed_arns_give_their_region() -> None:
    checked = arns.check(TRUST_ANCHOR_ARN, PROFILE_ARN, ROLE_ARN, "here")
    assert checked.region == "us-east-1"
    assert arns.check_region("us-east-1", checked, "here") == "us-east-1"


@pytest.mark.parametrize(
    ("anchor", "profile", "role", "message"),
    [
        (None, PROFILE_ARN, ROLE_ARN, "needs the trust anchor ARN"),
        (TRUST_ANCHOR_ARN, None, None, "needs the profile, role ARN"),
        (TRUST_ANCHOR_ARN, TRUST_ANCHOR_ARN, ROLE_ARN, "profile ARN in here is malformed"),
        (TRUST_ANCHOR_ARN, PROFILE_ARN, "arn:aws:iam::123:role/x", "not an IAM role ARN"),
        (
            TRUST_ANCHOR_ARN.replace("arn:aws:", "arn:aws-cn:"),
            PROFILE_ARN.replace("arn:aws:", "arn:aws-cn:"),
            ROLE_ARN,
            "different AWS partitions",
        ),
    ],
)
def test_bad_arns_are_refused(
    anchor: str | None, profile: str | None, role: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        arns.check(anchor, profile, role, "here")


def test_a_region_name_must_look_like_one() -> None:
    checked = arns.check(TRUST_ANCHOR_ARN, PROFILE_ARN, ROLE_ARN, "here")
    with pytest.raises(ConfigError, match="not an AWS region name"):
        arns.check_region("Virginia", checked, "here")
