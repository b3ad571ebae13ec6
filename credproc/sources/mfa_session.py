"""An MFA session on top of keyring keys: one GetSessionToken per session, shared by every role.

aws-vault's rule, which credproc follows: when long-term keys from the OS keyring meet an
``mfa_serial`` (on the keys' own profile, or on a role profile built on them), the keys are used
only for GetSessionToken with the MFA code, and that session (cached as its own hop) signs the
AssumeRole calls, which then carry no MFA parameters. Assuming several roles over one keyring
profile therefore asks for one code per session, not one per role. The session belongs to the
keys: its identity is the keys, the serial, the duration and the STS endpoint, never the role.
"""

from __future__ import annotations

from dataclasses import dataclass

from credproc import durations
from credproc.aws import endpoints
from credproc.config import ProfileRecord
from credproc.credentials import Credentials
from credproc.sources.assume_role import ask_mfa_code
from credproc.sources.base import Context, Source, SourceDefaults, obtain, sts_call

# GetSessionToken's limits for IAM users; the default follows aws-vault (AWS_SESSION_TOKEN_TTL).
SESSION = durations.Bounds(default=3600, low=900, high=129600)
DURATION_KEY = "mfa_session_duration"
KIND = "mfa-session"
BASE_KINDS = ("keyring",)


@dataclass(frozen=True)
class MfaSessionSource(SourceDefaults):
    profile: str
    serial: str
    parent: Source
    region: str
    endpoint: str | None
    duration: int = SESSION.default
    kind = KIND

    @property
    def identity(self) -> str:
        # No region: a session token serves every region, so --region must not cost a new code.
        return "\0".join([KIND, self.serial, str(self.duration), self.endpoint or "", self.parent.identity])

    def fetch(self, ctx: Context) -> Credentials:
        base = obtain(ctx, self.parent)
        code = ask_mfa_code(ctx, self.serial)
        return sts_call(
            ctx,
            "get_session_token",
            f"GetSessionToken with MFA {self.serial}",
            {"DurationSeconds": self.duration, "SerialNumber": self.serial, "TokenCode": code},
            region=self.region,
            endpoint=self.endpoint,
            creds=base,
            answer_what="GetSessionToken",
        )

    def describe(self) -> list[str]:
        return [f"MFA session {self.serial} ({self.duration}s)", *self.parent.describe()]

    def parents(self) -> tuple[Source, ...]:
        return (self.parent,)

    def details(self) -> dict[str, str]:
        return {"mfa_serial": self.serial, "duration_seconds": str(self.duration)}


def parse_session_duration(value: str | None, profile: str) -> int:
    return SESSION.parse(value, f"{DURATION_KEY} of profile {profile!r}")


def session_for(ctx: Context, record: ProfileRecord, keys: Source, serial: str) -> MfaSessionSource:
    """The MFA session of the keyring profile ``record`` (its region, endpoint and session duration)."""
    name = record.name
    return MfaSessionSource(
        profile=name,
        serial=serial,
        parent=keys,
        region=endpoints.pick_region(ctx.environ, record.region, ctx.region) or endpoints.DEFAULT_REGION,
        endpoint=endpoints.endpoint_url(ctx.environ, ctx.config, name, "sts"),
        duration=parse_session_duration(record.mfa_session_duration, name),
    )


def rebase(ctx: Context, parent: Source, mfa_serial: str | None) -> tuple[Source, str | None]:
    """The parent and MFA serial an AssumeRole should use (the rule in this module's docstring).

    Keyring keys + ``mfa_serial`` → an MFA session parent and no MFA on the AssumeRole; a parent
    that is already an MFA session → the AssumeRole needs no MFA of its own; anything else is
    left as the AWS CLI does it (MFA parameters on the AssumeRole call).
    """
    if parent.kind == KIND:
        return parent, None
    if mfa_serial and parent.kind in BASE_KINDS and parent.profile:
        from credproc.config import read_profile

        return session_for(ctx, read_profile(ctx.config, parent.profile), parent, mfa_serial), None
    return parent, mfa_serial
