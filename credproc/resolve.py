"""How a profile resolves to a source: the provider order, in one place.

``build_source`` reads the profile once (``config.read_profile``) and asks each provider of
``chain`` in turn, as botocore's ``CredentialResolver`` does; the first that recognises the profile
builds its source. ``role_parent`` is the assume-role provider's own question (botocore's
``AssumeRoleProvider._resolve_source_credentials``): what signs the AssumeRole call.

Order for a named profile (botocore's, with credproc's additions marked):
1. Roles Anywhere keys (``rolesanywhere_*``)                               [credproc]
2. ``role_arn`` + ``source_profile`` / ``credential_source``  → assume-role
3. ``role_arn`` + ``web_identity_token_file``                 → web identity
4. ``sso_session`` / ``sso_start_url``                        → IAM Identity Center
5. static keys in the credentials or config file
6. ``credential_process`` (a line that calls credproc for this same profile is ignored)
7. keys in the OS keyring under the profile's name             [credproc, as aws-vault]

To change the order (to mirror botocore's exactly), change ``chain`` and ``role_parent``: nothing
else decides it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from credproc import aws
from credproc.aws.endpoints import DEFAULT_REGION, endpoint_url, pick_region
from credproc.config import ProfileRecord, read_profile
from credproc.credentials import Credentials
from credproc.errors import ConfigError
from credproc.paths import expand_user
from credproc.profiles import DEFAULT as DEFAULT_PROFILE
from credproc.sources import credential_source, keyring_keys, mfa_session
from credproc.sources.assume_role import AssumeRoleSource, check_role_arn, parse_duration
from credproc.sources.base import Context, Source, obtain
from credproc.sources.process import ProcessSource, credproc_target, split_command
from credproc.sources.rolesanywhere import source as rolesanywhere
from credproc.sources.sso import source as sso
from credproc.sources.static import StaticSource
from credproc.sources.web_identity import WebIdentitySource

# A provider looks at one profile: its source, or None when the profile is not of its kind.
# ``here`` is the chain of profiles resolved so far, this one last (loop detection, process guard).
Provider = Callable[[Context, ProfileRecord, tuple[str, ...]], "Source | None"]


def build_source(ctx: Context, name: str, stack: tuple[str, ...] = ()) -> Source:
    """The source for profile ``name``. ``stack`` holds the profiles above it in this resolution."""
    full_stack = (*ctx.stack, *stack)
    if name in full_stack:
        raise _loop_message(full_stack, name)
    record = read_profile(ctx.config, name)
    here = (*stack, name)
    unnamed = name == DEFAULT_PROFILE and not full_stack and not _profile_named(ctx.environ)
    for provider in chain():
        try:
            found = provider(ctx, record, here)
        except ConfigError:
            # The keyring is the last resort; an unnamed 'default' most likely means a forgotten --profile.
            if unnamed and provider is keyring_provider:
                raise _unnamed_default() from None
            raise
        if found is not None:
            return found
    if unnamed:
        raise _unnamed_default()
    raise ConfigError(
        f"profile {name!r} has no credentials: no keys, role_arn, sso_session, rolesanywhere_* keys, "
        "credential_process, nor keys in the keyring",
        f"add keys with `credproc keys add {name}` or configure a source in the profile",
    )


def _unnamed_default() -> ConfigError:
    return ConfigError(
        "no profile was named, and profile 'default' has no credentials",
        "name one with --profile P or AWS_PROFILE=P, or add credentials to 'default'",
    )


def _profile_named(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE"))


def chain() -> tuple[Provider, ...]:
    """The providers of one profile, first match wins (the order in this module's docstring)."""
    return (
        roles_anywhere_provider,  # [credproc]
        assume_role_provider,
        web_identity_provider,
        sso_provider,
        static_keys_provider,
        process_provider,
        keyring_provider,  # [credproc]
    )


def role_parent(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source:
    """What signs a role profile's AssumeRole: its ``source_profile`` (resolved as a profile of
    its own; naming itself means its own keys) or its ``credential_source``."""
    name = record.name
    if record.source_profile and record.credential_source:
        raise ConfigError(f"profile {name!r} sets both source_profile and credential_source; keep one")
    if record.source_profile:
        if record.source_profile == name:
            return _own_keys(ctx, record, here)
        if record.source_profile not in ctx.config.profiles:
            raise ctx.config.missing_profile(record.source_profile, referrer=name)
        return build_source(ctx, record.source_profile, here)
    if record.credential_source:
        return _credential_source(ctx, name, record.credential_source)
    raise ConfigError(
        f"profile {name!r} has role_arn but no source_profile, credential_source or web_identity_token_file"
    )


# --- the providers, in chain order -----------------------------------------------------------


def roles_anywhere_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    return rolesanywhere.detect(ctx, record)


def _web_identity_token_file(record: ProfileRecord) -> str | None:
    """The token file of a web-identity role profile (one with no other source), else None."""
    if record.source_profile or record.credential_source:
        return None
    return record.web_identity_token_file


def assume_role_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    if not record.role_arn or _web_identity_token_file(record):
        return None
    name = record.name
    check_role_arn(record.role_arn, name)
    region, endpoint = _sts_place(ctx, record)
    parent = role_parent(ctx, record, here)
    # Keyring keys + mfa_serial: the MFA goes on one shared GetSessionToken hop (mfa_session.py).
    parent, mfa_serial = mfa_session.rebase(ctx, parent, record.mfa_serial)
    return AssumeRoleSource(
        profile=name,
        role_arn=record.role_arn,
        parent=parent,
        region=region,
        endpoint=endpoint,
        session_name=record.role_session_name,
        external_id=record.external_id,
        duration=parse_duration(record.duration_seconds, name),
        mfa_serial=mfa_serial,
        source_identity=record.source_identity,
    )


def web_identity_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    token_file = _web_identity_token_file(record)
    if not record.role_arn or not token_file:
        return None
    name = record.name
    check_role_arn(record.role_arn, name)
    region, endpoint = _sts_place(ctx, record)
    raw_duration = record.duration_seconds
    return WebIdentitySource(
        name,
        record.role_arn,
        expand_user(token_file, ctx.environ),
        region,
        endpoint,
        record.role_session_name,
        parse_duration(raw_duration, name) if raw_duration else None,
    )


def sso_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    return sso.detect(ctx, record)


def static_keys_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    keys = record.keys
    if not keys.present:
        return None
    if not (keys.access_key_id and keys.secret_access_key):
        raise ConfigError(
            f"profile {record.name!r} has only one of aws_access_key_id / aws_secret_access_key"
        )
    origin = "credentials file" if record.in_credentials_file else "config file"
    return StaticSource(
        keys.access_key_id, keys.secret_access_key, keys.session_token, profile=record.name, origin=origin
    )


def process_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    command = record.credential_process
    if not command:
        return None
    target = credproc_target(split_command(command), ctx.environ)
    if target is None:
        return ProcessSource(record.name, command, here)
    if target != record.name:
        return build_source(ctx, target, here)
    return None  # A credproc line for this very profile is how the AWS CLI reaches us: ignore it.


def keyring_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    return keyring_keys.detect(ctx, record)


# --- helpers ---------------------------------------------------------------------------------


def _loop_message(stack: tuple[str, ...], name: str) -> ConfigError:
    cycle = " → ".join([*stack[stack.index(name) :], name])
    return ConfigError(f"profile loop: {cycle}", "break the cycle of source_profile/credential_process")


def _sts_place(ctx: Context, record: ProfileRecord) -> tuple[str, str | None]:
    """The region and STS endpoint a role profile's calls go to."""
    region = pick_region(ctx.environ, record.region, ctx.region) or DEFAULT_REGION
    return region, endpoint_url(ctx.environ, ctx.config, record.name, "sts")


def _own_keys(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source:
    """``source_profile`` naming the profile itself means: its own static keys (botocore's rule)."""
    keys = record.keys
    if keys.access_key_id and keys.secret_access_key:
        return StaticSource(
            keys.access_key_id, keys.secret_access_key, keys.session_token, profile=record.name
        )
    found = keyring_keys.detect(ctx, record)
    if found is not None:
        return found
    raise _loop_message(here, record.name)


def _credential_source(ctx: Context, name: str, value: str) -> Source:
    if value == "Environment":
        return credential_source.environment_source(ctx, name)
    if value in ("EcsContainer", "Ec2InstanceMetadata"):
        return credential_source.metadata_source(ctx, name, value)
    raise ConfigError(
        f"credential_source of profile {name!r} is {value!r}; use one of {', '.join(credential_source.KNOWN)}"
    )


def resolve_profile(ctx: Context, name: str) -> Credentials:
    """Credentials for profile ``name``, each hop through the cache, with the profile's region.
    Bounded like a credential-process run (aws.budget): a shell, `exec` or a server's refresh
    never waits on AWS for minutes."""
    with aws.budget():
        return resolve_source(ctx, name, build_source(ctx, name))


def resolve_source(ctx: Context, name: str, source: Source) -> Credentials:
    creds = obtain(ctx, source)
    return creds.with_region(aws.region_for(ctx.environ, ctx.config, name, ctx.region))
