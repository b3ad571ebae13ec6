"""How a profile resolves to a source: the provider order, in one place.

``build_source`` reads the profile once (``config.read_profile``) and asks each provider of
``chain`` in turn, as botocore's ``CredentialResolver`` does for ``aws --profile NAME``; the first
that recognises the profile builds its source. ``role_parent`` is the assume-role provider's own
question (botocore's ``AssumeRoleProvider._resolve_source_credentials``): what signs the AssumeRole.

Order for a named profile (botocore 1.43's, with credproc's additions marked):
1. ``role_arn`` with no ``web_identity_token_file`` line        → assume-role
2. ``web_identity_token_file`` (then ``role_arn`` is required)   → web identity
3. ``sso_account_id`` / ``sso_role_name``                        → IAM Identity Center
4. keys in the credentials file (``aws_access_key_id`` there; a missing secret is an error)
5. ``login_session`` (``aws login``): refused, as botocore without awscrt refuses it
6. ``credential_process`` (a line that calls credproc for this same profile is passed over)
7. keys in the config file (same rule as 4; the token is the first of ``aws_security_token``,
   ``aws_session_token``, from the file that has the keys)
8. Roles Anywhere keys (``rolesanywhere_*``)                     [credproc]
9. keys in the OS keyring under the profile's name              [credproc, as aws-vault]

A source profile (``source_profile``) with a key line, or with no role of its own, is asked the
same chain without step 1 (botocore's ``ProfileProviderBuilder``): its keys, SSO or process end the
chain even when it has a ``role_arn``. One with a role and no key line is assumed in turn.

Where the selected profile's AWS calls need a client (steps 1-3), botocore first checks the
profile's ``sso_session`` line (its token provider); a broken one is refused here too.

To change the order, change ``chain`` and ``role_parent``: nothing else decides it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from credproc import aws
from credproc.aws.endpoints import DEFAULT_REGION, endpoint_url, pick_region
from credproc.config import ProfileRecord, StaticKeys, read_profile
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
from credproc.sources.sso.settings import token_provider_problem
from credproc.sources.static import StaticSource
from credproc.sources.web_identity import WebIdentitySource

# A provider looks at one profile: its source, or None when the profile is not of its kind.
# ``here`` is the chain of profiles resolved so far, this one last (loop detection, process guard).
Provider = Callable[[Context, ProfileRecord, tuple[str, ...]], "Source | None"]


def build_source(ctx: Context, name: str, stack: tuple[str, ...] = ()) -> Source:
    """The source for profile ``name`` as the selected profile (``aws --profile NAME``).
    ``stack`` holds the profiles above it in this resolution (a credproc ``credential_process``
    line of another profile leads here too: the AWS CLI would start credproc for that profile)."""
    full_stack = (*ctx.stack, *stack)
    if name in full_stack:
        raise _loop_message(full_stack, name)
    record = read_profile(ctx.config, name)
    unnamed = name == DEFAULT_PROFILE and not full_stack and not _profile_named(ctx.environ)
    here = (*stack, name)
    for provider in chain():
        try:
            found = provider(ctx, record, here)
        except ConfigError:
            # The keyring is the last resort; an unnamed 'default' most likely means a forgotten --profile.
            if unnamed and provider is keyring_provider:
                raise _unnamed_default() from None
            raise
        if found is not None:
            if provider in _CLIENT_PROVIDERS:
                _check_token_provider(ctx, name)
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
    """The providers of one profile, first match wins (the order in this module's docstring).
    A source profile is asked the same providers without the assume-role one (``role_parent``)."""
    return (
        assume_role_provider,
        web_identity_provider,
        sso_provider,
        credentials_file_keys_provider,
        login_provider,
        process_provider,
        config_file_keys_provider,
        roles_anywhere_provider,  # [credproc]
        keyring_provider,  # [credproc]
    )


def role_parent(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source:
    """What signs a role profile's AssumeRole (botocore's ``_resolve_source_credentials``): its
    ``credential_source``, or its ``source_profile``. A source profile with static key lines, or
    with no role of its own, is resolved by ``chain()`` without the assume-role provider (so its
    keys, SSO or credential_process end the chain even when it has a role_arn); one with a role
    and no keys is assumed in turn. ``source_profile`` naming the profile itself means its own
    credentials, by that same source-profile chain."""
    name = record.name
    if "source_profile" in record.section and "credential_source" in record.section:
        raise ConfigError(f"profile {name!r} sets both source_profile and credential_source; keep one")
    if record.credential_source:
        return _credential_source(ctx, name, record.credential_source)
    if not record.source_profile:
        raise ConfigError(
            f"profile {name!r} has role_arn but no source_profile, credential_source "
            "or web_identity_token_file"
        )
    parent_name = record.source_profile
    if parent_name == name:
        if not record.has_static_keys:
            return _own_keyring_keys(ctx, record, here)
        return _source_profile_chain(ctx, record, here)
    if parent_name not in ctx.config.profiles:
        raise ctx.config.missing_profile(parent_name, referrer=name)
    full_stack = (*ctx.stack, *here)
    if parent_name in full_stack:
        raise _loop_message(full_stack, parent_name)
    parent = read_profile(ctx.config, parent_name)
    parent_here = (*here, parent_name)
    if parent.has_static_keys or not parent.assumes_role:
        return _source_profile_chain(ctx, parent, parent_here)
    return _assumed_role(ctx, parent, parent_here)


def _source_profile_chain(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source:
    for provider in chain():
        if provider is assume_role_provider:  # botocore's ProfileProviderBuilder has no such step
            continue
        found = provider(ctx, record, here)
        if found is not None:
            return found
    raise ConfigError(
        f"source_profile {record.name!r} has no credentials: no keys, sso_account_id, "
        "credential_process, rolesanywhere_* keys, nor keys in the keyring",
        f"add keys with `credproc keys add {record.name}` or configure a source in the profile",
    )


# --- the providers, in chain order -----------------------------------------------------------


def assume_role_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    return _assumed_role(ctx, record, here) if record.assumes_role else None


def _assumed_role(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source:
    name = record.name
    check_role_arn(record.role_arn or "", name)
    region, endpoint = _sts_place(ctx, record)
    parent = role_parent(ctx, record, here)
    # Keyring keys + mfa_serial: the MFA goes on one shared GetSessionToken hop (mfa_session.py).
    parent, mfa_serial = mfa_session.rebase(ctx, parent, record.mfa_serial)
    return AssumeRoleSource(
        profile=name,
        role_arn=record.role_arn or "",
        parent=parent,
        region=region,
        endpoint=endpoint,
        session_name=record.role_session_name,
        external_id=record.external_id,
        duration=parse_duration(_readable_int(record.duration_seconds), name),
        mfa_serial=mfa_serial,
        source_identity=record.source_identity,
    )


def web_identity_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    """botocore's AssumeRoleWithWebIdentityProvider: a token file line takes the profile whatever
    else it has (source_profile included); the role is then required. botocore sends no
    DurationSeconds on this call, so neither does credproc."""
    token_file = record.web_identity_token_file
    if not token_file:
        return None
    name = record.name
    if not record.role_arn:
        raise ConfigError(f"profile {name!r} has web_identity_token_file but no role_arn")
    check_role_arn(record.role_arn, name)
    region, endpoint = _sts_place(ctx, record)
    return WebIdentitySource(
        profile=name,
        role_arn=record.role_arn,
        token_file=expand_user(token_file, ctx.environ),
        region=region,
        endpoint=endpoint,
        session_name=record.role_session_name,
    )


def sso_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    return sso.detect(ctx, record)


def credentials_file_keys_provider(
    ctx: Context, record: ProfileRecord, here: tuple[str, ...]
) -> Source | None:
    return _file_keys_source(record, record.credentials_keys, "credentials file")


def login_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    """botocore's LoginProvider (``aws login``) takes a profile with a login_session line; without
    the awscrt extra (the botocore credproc is tested with) it refuses, and so does credproc."""
    if not record.has_login_session:
        return None
    raise ConfigError(
        f"profile {record.name!r} uses login_session (`aws login`), which credproc cannot resolve",
        "use the AWS CLI for this profile, or configure another source",
    )


def process_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    command = record.credential_process
    if not command:
        if "credential_process" in record.section:  # botocore tries to run the empty line, and fails
            raise ConfigError(f"credential_process of profile {record.name!r} is empty")
        return None
    target = credproc_target(split_command(command), ctx.environ)
    if target is None:
        return ProcessSource(record.name, command, here)
    if target != record.name:
        return build_source(ctx, target, here)
    return None  # A credproc line for this very profile is how the AWS CLI reaches us: ignore it.


def config_file_keys_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    return _file_keys_source(record, record.config_keys, "config file")


def roles_anywhere_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    return rolesanywhere.detect(ctx, record)


def keyring_provider(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source | None:
    return keyring_keys.detect(ctx, record)


# The providers after which botocore makes an AWS client for the selected profile.
_CLIENT_PROVIDERS = (assume_role_provider, web_identity_provider, sso_provider)


# --- helpers ---------------------------------------------------------------------------------


def _loop_message(stack: tuple[str, ...], name: str) -> ConfigError:
    cycle = " → ".join([*stack[stack.index(name) :], name])
    return ConfigError(f"profile loop: {cycle}", "break the cycle of source_profile/credential_process")


def _sts_place(ctx: Context, record: ProfileRecord) -> tuple[str, str | None]:
    """The region and STS endpoint a role profile's calls go to."""
    region = pick_region(ctx.environ, record.region, ctx.region) or DEFAULT_REGION
    return region, endpoint_url(ctx.environ, ctx.config, record.name, "sts")


def _own_keyring_keys(ctx: Context, record: ProfileRecord, here: tuple[str, ...]) -> Source:
    """``source_profile`` naming itself with no key lines: botocore reports a loop; credproc first
    looks for the profile's keys in the keyring (its own addition)."""
    found = keyring_keys.detect(ctx, record)
    if found is not None:
        return found
    raise _loop_message(here, record.name)


def _file_keys_source(record: ProfileRecord, keys: StaticKeys | None, origin: str) -> Source | None:
    """One file's keys (botocore's SharedCredentialProvider / ConfigProvider): an access key id
    line without its secret is refused, not passed over."""
    if keys is None:
        return None
    if not keys.access_key_id:
        raise ConfigError(f"profile {record.name!r} has an empty aws_access_key_id in the {origin}")
    if not keys.secret_access_key:
        raise ConfigError(
            f"profile {record.name!r} has aws_access_key_id but no aws_secret_access_key in the {origin}",
            "put both keys of a pair in the same file",
        )
    return StaticSource(
        keys.access_key_id, keys.secret_access_key, keys.session_token, profile=record.name, origin=origin
    )


def _readable_int(raw: str | None) -> str | None:
    """botocore drops a duration_seconds it cannot read as an integer (and sends the rest)."""
    if raw is None:
        return None
    try:
        int(raw)
    except ValueError:
        return None
    return raw


def _check_token_provider(ctx: Context, name: str) -> None:
    problem = token_provider_problem(ctx.config, name)
    if problem is not None:
        raise ConfigError(
            f"profile {name!r} cannot call AWS: {problem}",
            "fix or remove the profile's sso_session line (the AWS CLI refuses it too)",
        )


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
