"""AssumeRole on top of another source (``source_profile`` chains, ``credential_source``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from credproc import durations
from credproc.credentials import Credentials
from credproc.errors import ConfigError
from credproc.sources.base import Context, RoleSource, Source, obtain

# AssumeRole's DurationSeconds (the role's own maximum may be lower; STS says so).
DURATION = durations.Bounds(default=3600, low=900, high=43200)
ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
MFA_CODE = re.compile(r"^\d{6}$")


def parse_duration(value: str | None, profile: str, key: str = "duration_seconds") -> int:
    return DURATION.parse(value, f"{key} of profile {profile!r}")


def check_role_arn(arn: str, profile: str) -> str:
    if not ROLE_ARN.match(arn):
        raise ConfigError(
            f"role_arn of profile {profile!r} is not an IAM role ARN: {arn!r}",
            "expected arn:aws:iam::123456789012:role/NAME",
        )
    return arn


def ask_mfa_code(ctx: Context, serial: str) -> str:
    if ctx.mfa_token:
        code = ctx.mfa_token.strip()
    else:
        code = ctx.terminal.ask(
            f"MFA code for {serial}: ",
            f"an MFA code for {serial} is needed",
            hint="run it once in a terminal (the result is cached), or pass --mfa-token CODE",
        ).strip()
    if not MFA_CODE.match(code):
        raise ConfigError(f"the MFA code for {serial} must be 6 digits")
    return code


@dataclass(frozen=True, kw_only=True)
class AssumeRoleSource(RoleSource):
    parent: Source
    external_id: str | None = None
    duration: int = DURATION.default
    mfa_serial: str | None = None
    source_identity: str | None = None
    kind = "assume-role"

    @property
    def identity(self) -> str:
        fields = [
            "assume-role",
            self.role_arn,
            self.session_name or "",
            self.external_id or "",
            str(self.duration),
            self.mfa_serial or "",
            self.source_identity or "",
            self.region,
            self.endpoint or "",
            self.parent.identity,
        ]
        return "\0".join(fields)

    def fetch(self, ctx: Context) -> Credentials:
        base = obtain(ctx, self.parent)
        params = self.role_params(ctx)
        params["DurationSeconds"] = self.duration
        if self.external_id:
            params["ExternalId"] = self.external_id
        if self.source_identity:
            params["SourceIdentity"] = self.source_identity
        if self.mfa_serial:
            params["SerialNumber"] = self.mfa_serial
            params["TokenCode"] = ask_mfa_code(ctx, self.mfa_serial)
        return self.assume(ctx, "assume_role", "AssumeRole", params, creds=base)

    def deps(self) -> list[str]:
        # The parent's files (an SSO token file): a role assumed with an SSO session's credentials
        # is not served from the cache once that session is signed out.
        return self.parent.deps()

    def describe(self) -> list[str]:
        mfa = f" with MFA {self.mfa_serial}" if self.mfa_serial else ""
        return [f"assume {self.role_arn}{mfa}", *self.parent.describe()]

    def parents(self) -> tuple[Source, ...]:
        return (self.parent,)

    def details(self) -> dict[str, str]:
        found = {"role_arn": self.role_arn, "region": self.region}
        optional = {
            "mfa_serial": self.mfa_serial,
            "role_session_name": self.session_name,
            "source_identity": self.source_identity,
            "endpoint": self.endpoint,
        }
        found.update({k: v for k, v in optional.items() if v})
        if self.duration != DURATION.default:
            found["duration_seconds"] = str(self.duration)
        return found

    def botocore_method(self) -> str | None:
        return "assume-role"
