"""AssumeRoleWithWebIdentity from a token file (EKS IRSA, GitHub OIDC written to disk)."""

from __future__ import annotations

from dataclasses import dataclass

from credproc import aws
from credproc.credentials import Credentials
from credproc.errors import ConfigError
from credproc.sources.base import Context, SourceDefaults


@dataclass(frozen=True)
class WebIdentitySource(SourceDefaults):
    profile: str
    role_arn: str
    token_file: str
    region: str
    endpoint: str | None
    session_name: str | None = None
    duration: int | None = None
    kind = "web-identity"

    @property
    def identity(self) -> str:
        return "\0".join(
            [
                "web-identity",
                self.role_arn,
                self.token_file,
                self.session_name or "",
                str(self.duration or ""),
                self.region,
                self.endpoint or "",
            ]
        )

    def fetch(self, ctx: Context) -> Credentials:
        try:
            with open(self.token_file, encoding="utf-8") as fh:
                token = fh.read().strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read web_identity_token_file {self.token_file} of profile "
                f"{self.profile!r}: {exc.strerror}"
            ) from None
        if not token:
            raise ConfigError(f"web_identity_token_file {self.token_file} is empty")
        params: dict[str, object] = {
            "RoleArn": self.role_arn,
            "RoleSessionName": self.session_name or f"credproc-{int(ctx.clock())}",
            "WebIdentityToken": token,
        }
        if self.duration:
            params["DurationSeconds"] = self.duration
        sts = aws.client(
            "sts",
            region=self.region,
            endpoint=self.endpoint,
            creds=None,
            environ=ctx.environ,
            verify_ssl=ctx.verify_ssl,
        )
        with aws.calling(f"AssumeRoleWithWebIdentity {self.role_arn}"):
            answer = sts.assume_role_with_web_identity(**params)
        return aws.sts_credentials(f"AssumeRoleWithWebIdentity {self.role_arn}", answer)

    def describe(self) -> list[str]:
        return [f"assume {self.role_arn} with the web identity token in {self.token_file}"]

    def details(self) -> dict[str, str]:
        return {"role_arn": self.role_arn, "web_identity_token_file": self.token_file, "region": self.region}

    def botocore_method(self) -> str | None:
        return "assume-role-with-web-identity"
