"""Which SSO session a profile uses, read the way the AWS CLI reads it.

Two shapes: ``sso_session = NAME`` with an ``[sso-session NAME]`` section (token file named after
the session), and the legacy ``sso_start_url`` + ``sso_region`` in the profile itself (token file
named after the start URL). Endpoints follow botocore's rules through ``credproc.aws``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from credproc import aws
from credproc.config import AwsConfig, Section, get_str
from credproc.errors import ConfigError

DEFAULT_SCOPES = ("sso:account:access",)
MAX_CHAIN = 32


@dataclass(frozen=True)
class SsoSession:
    name: str | None  # None: the legacy form, keyed on the start URL
    start_url: str
    region: str
    scopes: tuple[str, ...]
    oidc_endpoint: str | None = None
    portal_endpoint: str | None = None

    @property
    def cache_id(self) -> str:
        """What the AWS CLI hashes to name the token file."""
        return self.name if self.name is not None else self.start_url

    @property
    def label(self) -> str:
        return f"sso-session {self.name}" if self.name is not None else self.start_url

    def login_command(self, profile: str | None = None) -> str:
        if self.name is not None:
            return f"credproc login --sso-session {self.name}"
        return f"credproc login --profile {profile}" if profile else "credproc login"


def _scopes(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return DEFAULT_SCOPES
    return tuple(s.strip() for s in raw.split(",") if s.strip()) or DEFAULT_SCOPES


def uses_sso(section: Section) -> bool:
    return "sso_session" in section or "sso_start_url" in section


def from_session(
    environ: Mapping[str, str], config: AwsConfig, name: str, profile: str | None = None
) -> SsoSession:
    section = config.sso_session(name)
    scopes = _scopes(get_str(section, "sso_registration_scopes"))
    missing = f"[sso-session {name}] needs both sso_start_url and sso_region"
    return _from_section(environ, config, profile, section, name, scopes, missing)


def from_profile(environ: Mapping[str, str], config: AwsConfig, profile: str) -> SsoSession:
    """The session of an SSO profile; checks the profile agrees with its [sso-session] as botocore does."""
    section = config.profile(profile)
    session_name = get_str(section, "sso_session")
    if session_name:
        session = from_session(environ, config, session_name, profile)
        for key, value in (("sso_start_url", session.start_url), ("sso_region", session.region)):
            mine = get_str(section, key)
            if mine and mine != value:
                raise ConfigError(
                    f"profile {profile!r} sets {key} = {mine}, but [sso-session {session_name}] says {value}",
                    "remove the key from the profile; the sso-session section is enough",
                )
        return session
    missing = f"profile {profile!r} has sso_start_url but not sso_region (both are needed)"
    return _from_section(environ, config, profile, section, None, DEFAULT_SCOPES, missing)


def _from_section(
    environ: Mapping[str, str],
    config: AwsConfig,
    profile: str | None,
    section: Section,
    name: str | None,
    scopes: tuple[str, ...],
    missing: str,
) -> SsoSession:
    """The session ``section`` (an [sso-session] or a legacy SSO profile) describes, with the OIDC
    and portal endpoints configured for ``profile``; ConfigError ``missing`` without both its
    sso_start_url and sso_region."""
    start_url, region = get_str(section, "sso_start_url"), get_str(section, "sso_region")
    if not start_url or not region:
        raise ConfigError(missing)
    return SsoSession(
        name=name,
        start_url=start_url,
        region=region,
        scopes=scopes,
        oidc_endpoint=aws.endpoint_url(environ, config, profile, "sso_oidc"),
        portal_endpoint=aws.endpoint_url(environ, config, profile, "sso"),
    )


# What botocore's SSOProvider needs once a profile has sso_account_id or sso_role_name.
REQUIRED = ("sso_role_name", "sso_account_id", "sso_start_url", "sso_region")


def for_credentials(
    environ: Mapping[str, str], config: AwsConfig, profile: str
) -> tuple[SsoSession, str, str]:
    """The session, account and role of a profile botocore's SSOProvider takes (one with an
    sso_account_id or sso_role_name line), checked as that provider checks them: the named
    [sso-session] exists, every key it shares with the profile has the same value, and the four
    REQUIRED keys are there, in the profile or its session."""
    section = config.profile(profile)
    resolved: dict[str, object] = dict(section)
    session: Section = {}
    session_name: str | None = None
    if "sso_session" in section:
        session_name = get_str(section, "sso_session") or ""
        if session_name not in config.sso_sessions:
            raise ConfigError(
                f"profile {profile!r} uses sso_session {session_name!r}, but [sso-session {session_name}] "
                f"is not in {config.config_file}"
            )
        session = config.sso_sessions[session_name]
        for key, value in session.items():
            if key in resolved and resolved[key] != value:
                raise ConfigError(
                    f"profile {profile!r} sets {key} = {resolved[key]}, but [sso-session {session_name}] "
                    f"says {value}",
                    "remove the key from the profile; the sso-session section is enough",
                )
            resolved[key] = value
    missing = [key for key in REQUIRED if key not in resolved]
    if missing:
        raise ConfigError(
            f"profile {profile!r} uses IAM Identity Center but lacks {', '.join(missing)}",
            "add them, or let `credproc configure sso` write the profiles",
        )
    start_url, region = get_str(resolved, "sso_start_url"), get_str(resolved, "sso_region")
    if not start_url or not region:
        raise ConfigError(f"profile {profile!r} has an empty sso_start_url or sso_region")
    account, role = account_and_role(resolved, profile)
    found = SsoSession(
        name=session_name,
        start_url=start_url,
        region=region,
        scopes=_scopes(get_str(session, "sso_registration_scopes")) if session_name else DEFAULT_SCOPES,
        oidc_endpoint=aws.endpoint_url(environ, config, profile, "sso_oidc"),
        portal_endpoint=aws.endpoint_url(environ, config, profile, "sso"),
    )
    return found, account, role


def token_provider_problem(config: AwsConfig, profile: str) -> str | None:
    """What stops botocore from making any AWS client for ``profile``: its SSOTokenProvider reads
    the profile's sso_session when a client is created, and refuses a session that is missing,
    empty or without sso_start_url / sso_region. None when there is nothing wrong."""
    section = config.profiles.get(profile, {})
    if "sso_session" not in section:
        return None
    name = get_str(section, "sso_session") or ""
    session = config.sso_sessions.get(name)
    if not session:
        return f"its sso_session {name!r} names no [sso-session {name}] with settings"
    missing = [key for key in ("sso_start_url", "sso_region") if key not in session]
    if missing:
        return f"its [sso-session {name}] lacks {', '.join(missing)}"
    return None


def account_and_role(section: Section, profile: str) -> tuple[str, str]:
    account, role = get_str(section, "sso_account_id"), get_str(section, "sso_role_name")
    if not account or not role:
        raise ConfigError(
            f"profile {profile!r} uses IAM Identity Center but lacks sso_account_id or sso_role_name",
            "add both, or let `credproc configure sso` write the profiles",
        )
    if not (len(account) == 12 and account.isdigit()):
        raise ConfigError(f"sso_account_id of profile {profile!r} is {account!r}, not a 12-digit account id")
    return account, role


def sso_root(config: AwsConfig, environ: Mapping[str, str], profile: str) -> str | None:
    """The token cache id of the SSO session ``profile`` ends in (through source_profile and
    credproc credential_process lines), or None. Reads the config only: no keyring, no network."""
    from credproc.errors import CredprocError
    from credproc.sources.process import credproc_target, split_command

    seen: set[str] = set()
    name: str | None = profile
    while name is not None and name not in seen and len(seen) < MAX_CHAIN:
        seen.add(name)
        section = config.profiles.get(name)
        if section is None:
            return None
        if get_str(section, "role_arn"):
            name = get_str(section, "source_profile")
            continue
        if uses_sso(section):
            session = get_str(section, "sso_session")
            return session if session else get_str(section, "sso_start_url")
        command = get_str(section, "credential_process")
        if not command:
            return None
        try:
            name = credproc_target(split_command(command), environ)
        except CredprocError:
            return None
    return None
