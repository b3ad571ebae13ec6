"""AssumeRoleWithWebIdentity from a token file (EKS IRSA, GitHub OIDC written to disk)."""

from __future__ import annotations

from dataclasses import dataclass

from credproc import smallfile
from credproc.credentials import Credentials
from credproc.errors import ConfigError
from credproc.sources.base import Context, RoleSource


@dataclass(frozen=True, kw_only=True)
class WebIdentitySource(RoleSource):
    token_file: str
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
            token = smallfile.read(self.token_file, smallfile.TOKEN_LIMIT).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ConfigError(f"web_identity_token_file {self.token_file} is not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(
                f"cannot read web_identity_token_file {self.token_file} of profile "
                f"{self.profile!r}: {exc.strerror}"
            ) from None
        if not token:
            raise ConfigError(f"web_identity_token_file {self.token_file} is empty")
        params = self.role_params(ctx)
        params["WebIdentityToken"] = token
        if self.duration:
            params["DurationSeconds"] = self.duration
        return self.assume(
            ctx, "assume_role_with_web_identity", "AssumeRoleWithWebIdentity", params, creds=None
        )

    def describe(self) -> list[str]:
        return [f"assume {self.role_arn} with the web identity token in {self.token_file}"]

    def details(self) -> dict[str, str]:
        return {"role_arn": self.role_arn, "web_identity_token_file": self.token_file, "region": self.region}

    def botocore_method(self) -> str | None:
        return "assume-role-with-web-identity"
