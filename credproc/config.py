"""The AWS config and credentials files, read with botocore's own parser so every key means what
it means to the AWS CLI (``[profile x]`` prefixes, nested ``s3 =`` blocks, ``[sso-session]``).

``parse`` reads one file; ``load`` merges the two as botocore does; ``read_profile`` turns one
profile (and the ``[services]`` block it points at) into a typed, frozen ``ProfileRecord`` that the
resolution chain builds its sources from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from credproc import paths
from credproc.errors import ConfigError

Section = Mapping[str, object]


@dataclass(frozen=True)
class AwsConfig:
    profiles: Mapping[str, Section]
    sso_sessions: Mapping[str, Section] = field(default_factory=dict)
    services: Mapping[str, Section] = field(default_factory=dict)
    config_file: str = ""
    credentials_file: str = ""
    # Each file's own sections, before the merge: botocore treats keys differently by file.
    config_profiles: Mapping[str, Section] = field(default_factory=dict)
    credentials_profiles: Mapping[str, Section] = field(default_factory=dict)

    def profile(self, name: str) -> Section:
        try:
            return self.profiles[name]
        except KeyError:
            raise self.missing_profile(name) from None

    def missing_profile(self, name: str, referrer: str | None = None) -> ConfigError:
        """Profile ``name`` is not in the files: say which profiles are, and the near miss."""
        import difflib

        wanted = (
            f"profile {name!r}" if referrer is None else f"source_profile {name!r} of profile {referrer!r}"
        )
        files = [f for f in (self.config_file, self.credentials_file) if f]
        if not any(os.path.isfile(f) for f in files):
            return ConfigError(
                f"{wanted} not found: {' and '.join(files)} do not exist",
                f"create a profile with `credproc configure {name} ...` or set AWS_CONFIG_FILE",
            )
        names = sorted(self.profiles)
        where = " or ".join(f for f in files if os.path.isfile(f))
        if not names:
            return ConfigError(f"{wanted} is not in {where}, which define no profiles")
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return ConfigError(f"{wanted} is not in {where}", f"{hint}profiles: {', '.join(names)}")

    def sso_session(self, name: str) -> Section:
        try:
            return self.sso_sessions[name]
        except KeyError:
            raise ConfigError(f"[sso-session {name}] is not in {self.config_file}") from None


def parse(path: str, as_profiles: bool) -> dict[str, Any]:
    """One file through botocore's parser: ``as_profiles`` for the config file (``[profile x]``,
    ``[sso-session x]``, ``[services x]`` sorted out), else raw sections (the credentials file).
    A missing file is empty, and so, as botocore reads it, is one that cannot be opened; an
    unparsable one is a ConfigError naming the line."""
    from botocore import configloader
    from botocore.exceptions import BotoCoreError

    if not os.path.isfile(path):
        return {}
    try:
        if as_profiles:
            return dict(configloader.load_config(path))
        return dict(configloader.raw_config_parse(path))
    except BotoCoreError:  # also a file that is not UTF-8 (botocore reads an unreadable one as empty)
        raise ConfigError(f"cannot parse {path}: {_why_unparsable(path)}", "fix the file's syntax") from None


def _why_unparsable(path: str) -> str:
    """botocore only says "Unable to parse"; find the reason a person can act on."""
    import configparser

    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    except OSError as exc:
        return str(exc.strerror)
    # Line numbers only: the offending line's text could be a secret key line.
    try:
        configparser.RawConfigParser().read_string(text, source=path)
    except configparser.MissingSectionHeaderError as exc:
        return f"line {exc.lineno}: expected a [section] header"
    except configparser.DuplicateOptionError as exc:
        return f"line {exc.lineno}: {exc.option!r} is set twice in [{exc.section}]"
    except configparser.DuplicateSectionError as exc:
        return f"line {exc.lineno}: [{exc.section}] appears twice"
    except configparser.ParsingError as exc:
        return f"line {exc.errors[0][0]}: not a `key = value` line"
    return "syntax error"  # configparser reads it: botocore's nested values (s3 = ...) are at fault


def load(environ: Mapping[str, str]) -> AwsConfig:
    """Merge the two files as botocore does: a credentials-file profile's keys win."""
    config_file = paths.aws_config_file(environ)
    credentials_file = paths.aws_credentials_file(environ)
    parsed: dict[str, Any] = parse(config_file, as_profiles=True)
    in_config: dict[str, Section] = dict(parsed.get("profiles", {}))
    in_credentials: dict[str, Section] = parse(credentials_file, as_profiles=False)
    profiles: dict[str, dict[str, object]] = {name: dict(values) for name, values in in_config.items()}
    for name, values in in_credentials.items():
        profiles.setdefault(name, {}).update(values)
    return AwsConfig(
        profiles=profiles,
        sso_sessions=dict(parsed.get("sso_sessions", {})),
        services=dict(parsed.get("services", {})),
        config_file=config_file,
        credentials_file=credentials_file,
        config_profiles=in_config,
        credentials_profiles=in_credentials,
    )


def get_str(section: Section, key: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a single value, not a nested block")
    return value.strip() or None


@dataclass(frozen=True)
class StaticKeys:
    """The ``aws_*`` key lines of a profile (any may be missing: a partial pair is an error the
    chain reports, not the reader)."""

    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    @property
    def present(self) -> bool:
        return bool(self.access_key_id or self.secret_access_key)


@dataclass(frozen=True)
class ProfileRecord:
    """One profile as the resolution chain reads it: every key a source uses, read once.

    Values are the files' text (stripped; None when unset or empty): durations and ARNs are
    checked by the source that uses them, with a message naming the profile. ``keys`` follows
    ``load``'s merge (the credentials file's line wins key by key); ``in_credentials_file`` says
    whether the credentials file has a section of that name, and ``config.config_profiles`` /
    ``credentials_profiles`` keep each file's own lines for rules that tell the files apart.
    """

    name: str
    in_credentials_file: bool = False
    keys: StaticKeys = StaticKeys()
    role_arn: str | None = None
    source_profile: str | None = None
    credential_source: str | None = None
    web_identity_token_file: str | None = None
    role_session_name: str | None = None
    external_id: str | None = None
    duration_seconds: str | None = None
    mfa_serial: str | None = None
    mfa_session_duration: str | None = None
    source_identity: str | None = None
    credential_process: str | None = None
    uses_sso: bool = False  # an ``sso_session`` or ``sso_start_url`` line, even an empty one
    # The ``rolesanywhere_*`` lines as (key, value), in file order; the source checks the key names.
    rolesanywhere: tuple[tuple[str, str | None], ...] = ()
    region: str | None = None
    section: Section = field(default_factory=dict, repr=False)  # the merged lines, for SSO settings


def read_profile(config: AwsConfig, name: str) -> ProfileRecord:
    """Profile ``name`` as a record (ConfigError when there is no such profile)."""
    section = config.profile(name)

    def text(key: str) -> str | None:
        return get_str(section, key)

    return ProfileRecord(
        name=name,
        in_credentials_file=name in config.credentials_profiles,
        keys=StaticKeys(text("aws_access_key_id"), text("aws_secret_access_key"), text("aws_session_token")),
        role_arn=text("role_arn"),
        source_profile=text("source_profile"),
        credential_source=text("credential_source"),
        web_identity_token_file=text("web_identity_token_file"),
        role_session_name=text("role_session_name"),
        external_id=text("external_id"),
        duration_seconds=text("duration_seconds"),
        mfa_serial=text("mfa_serial"),
        mfa_session_duration=text("mfa_session_duration"),
        source_identity=text("source_identity"),
        credential_process=text("credential_process"),
        uses_sso="sso_session" in section or "sso_start_url" in section,
        rolesanywhere=tuple((str(k), text(str(k))) for k in section if str(k).startswith("rolesanywhere_")),
        region=text("region"),
        section=section,
    )
