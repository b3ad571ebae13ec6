"""``credential_source`` values: Environment, EcsContainer, Ec2InstanceMetadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from credproc.credentials import Credentials
from credproc.errors import ConfigError, UpstreamError
from credproc.sources.base import Context, SourceDefaults
from credproc.sources.static import StaticSource

KNOWN = ("Environment", "EcsContainer", "Ec2InstanceMetadata")


def environment_source(ctx: Context, profile: str) -> StaticSource:
    """botocore's EnvProvider: an empty variable counts as unset, and AWS_SECURITY_TOKEN (the old
    name) is taken before AWS_SESSION_TOKEN."""
    key = ctx.environ.get("AWS_ACCESS_KEY_ID")
    secret = ctx.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        raise ConfigError(
            f"profile {profile!r} has credential_source = Environment, "
            "but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set"
        )
    token = ctx.environ.get("AWS_SECURITY_TOKEN") or ctx.environ.get("AWS_SESSION_TOKEN") or None
    return StaticSource(key, secret, token, profile=profile, origin="environment")


@dataclass(frozen=True)
class MetadataSource(SourceDefaults):
    """The ECS/EKS container endpoint or EC2 instance metadata, through botocore's own fetchers."""

    profile: str
    which: str  # "EcsContainer" or "Ec2InstanceMetadata"
    env_items: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    kind = "metadata"
    cacheable = False  # the metadata service is local and already caches; its answer is the truth

    @property
    def identity(self) -> str:
        return "\0".join(["metadata", self.which, *(f"{k}={v}" for k, v in self.env_items)])

    def fetch(self, ctx: Context) -> Credentials:
        from botocore import credentials as bc

        env = dict(ctx.environ)
        provider: bc.CredentialProvider
        if self.which == "EcsContainer":
            provider = bc.ContainerProvider(environ=env)
        else:
            # botocore reads the endpoint from its config mapping, not the env it is given.
            imds_config = {
                "ec2_metadata_service_endpoint": env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
                "ec2_metadata_service_endpoint_mode": env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"),
            }
            fetcher = bc.InstanceMetadataFetcher(timeout=2, num_attempts=2, env=env, config=imds_config)
            provider = bc.InstanceMetadataProvider(iam_role_fetcher=fetcher)
        try:
            found = provider.load()
        except Exception as exc:  # botocore raises several unrelated types here
            raise UpstreamError(f"{self.which} credentials unavailable: {exc}") from None
        if found is None:
            raise UpstreamError(f"{self.which} credentials unavailable for profile {self.profile!r}")
        frozen = found.get_frozen_credentials()
        expiry = getattr(found, "_expiry_time", None)
        expiration = expiry.astimezone(timezone.utc) if isinstance(expiry, datetime) else None
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token, expiration)

    def describe(self) -> list[str]:
        return [f"credentials from {self.which}"]

    def details(self) -> dict[str, str]:
        return {"credential_source": self.which}

    def botocore_method(self) -> str | None:
        return "container-role" if self.which == "EcsContainer" else "iam-role"


def metadata_source(ctx: Context, profile: str, which: str) -> MetadataSource:
    prefixes = ("AWS_CONTAINER_", "AWS_EC2_METADATA_")
    items = tuple(sorted((k, v) for k, v in ctx.environ.items() if k.startswith(prefixes)))
    return MetadataSource(profile, which, items)
