"""How a profile resolves to a source, in the AWS CLI's order, plus credproc's own sources.

Order for a named profile (botocore's, with credproc's additions marked):
1. Roles Anywhere keys (``rolesanywhere_*``)                               [credproc]
2. ``role_arn`` + ``source_profile`` / ``credential_source``  → assume-role
3. ``role_arn`` + ``web_identity_token_file``                 → web identity
4. ``sso_session`` / ``sso_start_url``                        → IAM Identity Center
5. static keys in the credentials or config file
6. ``credential_process`` (a line that calls credproc for this same profile is ignored)
7. keys in the OS keyring under the profile's name             [credproc, as aws-vault]
"""

from __future__ import annotations

from credproc import aws
from credproc.config import get_str
from credproc.credentials import Credentials
from credproc.errors import ConfigError
from credproc.sources import credential_source, keyring_keys, mfa_session
from credproc.sources.assume_role import AssumeRoleSource, check_role_arn, parse_duration
from credproc.sources.base import Context, Source, obtain
from credproc.sources.process import ProcessSource, credproc_target, split_command
from credproc.sources.rolesanywhere import source as rolesanywhere
from credproc.sources.sso import source as sso
from credproc.sources.static import StaticSource
from credproc.sources.web_identity import WebIdentitySource


def _loop_message(stack: tuple[str, ...], name: str) -> ConfigError:
    chain = " → ".join([*stack[stack.index(name):], name])
    return ConfigError(f"profile loop: {chain}", "break the cycle of source_profile/credential_process")


def build_source(ctx: Context, name: str, stack: tuple[str, ...] = ()) -> Source:
    """The source for profile ``name``. ``stack`` holds the profiles above it in this resolution."""
    full_stack = (*ctx.stack, *stack)
    if name in full_stack:
        raise _loop_message(full_stack, name)
    section = ctx.config.profile(name)
    here = (*stack, name)

    found = rolesanywhere.detect(ctx, name, section)
    if found is not None:
        return found
    role_arn = get_str(section, "role_arn")
    if role_arn:
        return _role_source(ctx, name, role_arn, here)
    found = sso.detect(ctx, name, section, here)
    if found is not None:
        return found
    key, secret = get_str(section, "aws_access_key_id"), get_str(section, "aws_secret_access_key")
    if key or secret:
        if not (key and secret):
            raise ConfigError(f"profile {name!r} has only one of aws_access_key_id / aws_secret_access_key")
        origin = "credentials file" if _in_credentials_file(ctx, name) else "config file"
        return StaticSource(key, secret, get_str(section, "aws_session_token"), profile=name, origin=origin)
    command = get_str(section, "credential_process")
    if command:
        target = credproc_target(split_command(command), ctx.environ)
        if target is None:
            return ProcessSource(name, command, here)
        if target != name:
            return build_source(ctx, target, here)
        # A credproc line for this very profile is how the AWS CLI reaches us: ignore it.
    found = keyring_keys.detect(ctx, name, section)
    if found is not None:
        return found
    raise ConfigError(
        f"profile {name!r} has no credentials: no keys, role_arn, sso_session, rolesanywhere_* keys, "
        "credential_process, nor keys in the keyring",
        f"add keys with `credproc keys add {name}` or configure a source in the profile",
    )


def _in_credentials_file(ctx: Context, name: str) -> bool:
    from credproc.config import _parse

    return name in _parse(ctx.config.credentials_file, as_profiles=False)


def _role_source(ctx: Context, name: str, role_arn: str, here: tuple[str, ...]) -> Source:
    section = ctx.config.profile(name)
    check_role_arn(role_arn, name)
    region = aws.region_for(ctx.environ, ctx.config, name, ctx.region) or aws.DEFAULT_REGION
    endpoint = aws.endpoint_url(ctx.environ, ctx.config, name, "sts")
    session_name = get_str(section, "role_session_name")
    token_file = get_str(section, "web_identity_token_file")
    source_profile = get_str(section, "source_profile")
    cred_source = get_str(section, "credential_source")
    if token_file and not (source_profile or cred_source):
        from credproc.paths import expand_user

        raw_duration = get_str(section, "duration_seconds")
        return WebIdentitySource(
            name, role_arn, expand_user(token_file, ctx.environ), region, endpoint, session_name,
            parse_duration(raw_duration, name) if raw_duration else None,
        )
    if source_profile and cred_source:
        raise ConfigError(f"profile {name!r} sets both source_profile and credential_source; keep one")
    parent: Source
    if source_profile:
        if source_profile == name:
            parent = _self_source(ctx, name, here)
        else:
            parent = build_source(ctx, source_profile, here)
    elif cred_source:
        parent = _credential_source(ctx, name, cred_source)
    else:
        raise ConfigError(
            f"profile {name!r} has role_arn but no source_profile, credential_source or "
            "web_identity_token_file"
        )
    # Keyring keys + mfa_serial: the MFA goes on one shared GetSessionToken hop (mfa_session.py).
    parent, mfa_serial = mfa_session.rebase(ctx, parent, get_str(section, "mfa_serial"))
    return AssumeRoleSource(
        profile=name, role_arn=role_arn, parent=parent, region=region, endpoint=endpoint,
        session_name=session_name, external_id=get_str(section, "external_id"),
        duration=parse_duration(get_str(section, "duration_seconds"), name),
        mfa_serial=mfa_serial, source_identity=get_str(section, "source_identity"),
    )


def _self_source(ctx: Context, name: str, here: tuple[str, ...]) -> Source:
    """``source_profile`` naming the profile itself means: its own static keys (botocore's rule)."""
    section = ctx.config.profile(name)
    key, secret = get_str(section, "aws_access_key_id"), get_str(section, "aws_secret_access_key")
    if key and secret:
        return StaticSource(key, secret, get_str(section, "aws_session_token"), profile=name)
    found = keyring_keys.detect(ctx, name, section)
    if found is not None:
        return found
    raise _loop_message(here, name)


def _credential_source(ctx: Context, name: str, value: str) -> Source:
    if value == "Environment":
        return credential_source.environment_source(ctx, name)
    if value in ("EcsContainer", "Ec2InstanceMetadata"):
        return credential_source.metadata_source(ctx, name, value)
    raise ConfigError(
        f"credential_source of profile {name!r} is {value!r}; "
        f"use one of {', '.join(credential_source.KNOWN)}"
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
