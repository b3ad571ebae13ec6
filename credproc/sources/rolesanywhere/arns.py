"""The three ARNs of a Roles Anywhere call, checked before any network call."""

from __future__ import annotations

import re
from dataclasses import dataclass

from credproc.errors import ConfigError

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PARTITION = r"aws[a-zA-Z-]*"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"
_RA = rf"^arn:({_PARTITION}):rolesanywhere:({_REGION}):(\d{{12}})"
TRUST_ANCHOR_ARN = re.compile(rf"{_RA}:trust-anchor/{_UUID}$")
PROFILE_ARN = re.compile(rf"{_RA}:profile/{_UUID}$")
ROLE_ARN = re.compile(rf"^arn:({_PARTITION}):iam::(\d{{12}}):role/[\w+=,.@/-]{{1,512}}$")
REGION = re.compile(rf"^{_REGION}$")


@dataclass(frozen=True)
class Arns:
    trust_anchor: str
    profile: str
    role: str

    @property
    def region(self) -> str:
        """The region both Roles Anywhere ARNs name (``check`` made sure they agree)."""
        match = TRUST_ANCHOR_ARN.match(self.trust_anchor)
        assert match is not None  # noqa: S101 - guaranteed by check()
        return match.group(2)


def check(trust_anchor: str | None, profile: str | None, role: str | None, where: str) -> Arns:
    """Well-formed ARNs, in one partition, with the trust anchor and profile in one region.

    ``where`` names the origin for messages (``profile 'x'`` or ``the command line``).
    """
    missing = [
        name
        for name, value in (("trust anchor", trust_anchor), ("profile", profile), ("role", role))
        if not value
    ]
    if missing or trust_anchor is None or profile is None or role is None:
        raise ConfigError(
            f"Roles Anywhere in {where} needs the {', '.join(missing)} ARN",
            "set rolesanywhere_trust_anchor_arn, rolesanywhere_profile_arn and rolesanywhere_role_arn "
            "(or --trust-anchor-arn, --profile-arn, --role-arn)",
        )
    anchor = TRUST_ANCHOR_ARN.match(trust_anchor)
    if anchor is None:
        raise ConfigError(
            f"trust anchor ARN in {where} is malformed: {trust_anchor!r}",
            "expected arn:aws:rolesanywhere:REGION:ACCOUNT:trust-anchor/UUID",
        )
    prof = PROFILE_ARN.match(profile)
    if prof is None:
        raise ConfigError(
            f"Roles Anywhere profile ARN in {where} is malformed: {profile!r}",
            "expected arn:aws:rolesanywhere:REGION:ACCOUNT:profile/UUID",
        )
    role_match = ROLE_ARN.match(role)
    if role_match is None:
        raise ConfigError(
            f"role ARN in {where} is not an IAM role ARN: {role!r}",
            "expected arn:aws:iam::ACCOUNT:role/NAME",
        )
    if anchor.group(2) != prof.group(2):
        raise ConfigError(
            f"the trust anchor ({anchor.group(2)}) and the Roles Anywhere profile ({prof.group(2)}) "
            f"in {where} are in different regions; both must be in the region you call"
        )
    if len({anchor.group(1), prof.group(1), role_match.group(1)}) != 1:
        raise ConfigError(f"the ARNs in {where} are in different AWS partitions")
    return Arns(trust_anchor, profile, role)


def check_region(region: str, arns: Arns, where: str) -> str:
    """A region given beside the ARNs: any well-formed name. It need not be the trust anchor's:
    aws_signing_helper signs for the region given, and so does credproc (the service decides)."""
    del arns
    if not REGION.match(region):
        raise ConfigError(f"region {region!r} in {where} is not an AWS region name")
    return region
