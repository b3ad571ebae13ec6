"""The AWS config and credentials files, read with botocore's own parser so every key means what
it means to the AWS CLI (``[profile x]`` prefixes, nested ``s3 =`` blocks, ``[sso-session]``).

``parse`` reads one file; ``load`` merges the two as botocore does; ``read_profile`` turns one
profile (and the ``[services]`` block it points at) into a typed, frozen ``ProfileRecord`` that the
resolution chain builds its sources from. ``read_text`` and ``replace_text`` are the two ends of
every edit of a file (configure, update): its whole text, and its atomic replacement.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from credproc import paths, smallfile
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

    def with_credential_process(self, name: str, command: str) -> AwsConfig:
        """A copy in which profile ``name``'s credential_process line (where it has one, in either
        file) is ``command``: how doctor and configure ask the chain what would answer instead."""

        def swapped(sections: Mapping[str, Section]) -> dict[str, Section]:
            out = dict(sections)
            if name in out and "credential_process" in out[name]:
                out[name] = {**out[name], "credential_process": command}
            return out

        return replace(
            self,
            profiles=swapped(self.profiles),
            config_profiles=swapped(self.config_profiles),
            credentials_profiles=swapped(self.credentials_profiles),
        )

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

    try:  # before botocore opens it: a FIFO would hang it, /dev/zero fill the memory
        smallfile.check(path, smallfile.CONFIG_LIMIT)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if as_profiles:
            return dict(configloader.load_config(path))
        return dict(configloader.raw_config_parse(path))
    except BotoCoreError:  # also a file that is not UTF-8 (botocore reads an unreadable one as empty)
        raise ConfigError(f"cannot parse {path}: {_why_unparsable(path)}", "fix the file's syntax") from None


def read_text(path: str, *, verb: str = "read") -> str:
    """The text of a config or credentials file about to be edited ("" when there is none yet); a
    ConfigError when it cannot be read, or is not UTF-8 text (``cannot {verb} PATH``)."""
    try:
        data = smallfile.read(path, smallfile.CONFIG_LIMIT)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"cannot {verb} {path}: it is not UTF-8 text") from None


def replace_text(path: str, text: str, shown: str | None = None) -> None:
    """Replace the file with ``text`` atomically, keeping its mode (0600 when new) and writing
    through a symlink; a ConfigError naming ``shown`` (else ``path``) when that fails."""
    from credproc import atomic

    try:
        atomic.write_text(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write {shown or path}: {exc.strerror}") from None


def _why_unparsable(path: str) -> str:
    """botocore only says "Unable to parse"; find the reason a person can act on."""
    import configparser

    try:
        text = smallfile.read(path, smallfile.CONFIG_LIMIT).decode("utf-8")
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


# botocore's SharedCredentialProvider and ConfigProvider look for the old name first.
TOKEN_KEYS = ("aws_security_token", "aws_session_token")


@dataclass(frozen=True)
class StaticKeys:
    """The ``aws_*`` key lines of one file's section of a profile. A section has keys when it has
    an ``aws_access_key_id`` line (botocore's test); a missing secret is an error the chain
    reports, not the reader."""

    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)


def file_keys(section: Section | None) -> StaticKeys | None:
    """The keys of one file's section as botocore reads them, or None when it has no
    ``aws_access_key_id`` line: the token is the first of ``TOKEN_KEYS`` present, from the same
    file only."""
    if section is None or "aws_access_key_id" not in section:
        return None
    token_key = next((key for key in TOKEN_KEYS if key in section), None)
    return StaticKeys(
        get_str(section, "aws_access_key_id"),
        get_str(section, "aws_secret_access_key"),
        get_str(section, token_key) if token_key else None,
    )


@dataclass(frozen=True)
class ProfileRecord:
    """One profile as the resolution chain reads it: every key a source uses, read once.

    Values are the files' text (stripped; None when unset or empty): durations and ARNs are
    checked by the source that uses them, with a message naming the profile. Where botocore asks
    whether a line is *there* (even empty), the record says so in a ``bool``. Keys are kept per
    file (``credentials_keys``, ``config_keys``), because botocore reads them per file and in
    two places of its chain; every other key follows ``load``'s merge (the credentials file's
    line wins key by key), as botocore's ``session.full_config`` does.
    """

    name: str
    credentials_keys: StaticKeys | None = None
    config_keys: StaticKeys | None = None
    # An aws_access_key_id or aws_secret_access_key line in either file (AssumeRoleProvider's
    # _has_static_credentials): such a source profile ends a chain, even with a role_arn.
    has_static_keys: bool = False
    role_arn: str | None = None
    has_role_arn: bool = False
    source_profile: str | None = None
    credential_source: str | None = None
    web_identity_token_file: str | None = None
    has_web_identity_line: bool = False
    role_session_name: str | None = None
    external_id: str | None = None
    duration_seconds: str | None = None
    mfa_serial: str | None = None
    mfa_session_duration: str | None = None
    source_identity: str | None = None
    credential_process: str | None = None
    # botocore's SSO trigger: an sso_account_id or sso_role_name line, even an empty one.
    uses_sso: bool = False
    has_login_session: bool = False
    # The ``rolesanywhere_*`` lines as (key, value), in file order; the source checks the key names.
    rolesanywhere: tuple[tuple[str, str | None], ...] = ()
    region: str | None = None
    section: Section = field(default_factory=dict, repr=False)  # the merged lines, for SSO settings

    @property
    def assumes_role(self) -> bool:
        """botocore's AssumeRoleProvider takes the profile: a role_arn line and no
        web_identity_token_file line (that one is the web-identity provider's)."""
        return self.has_role_arn and not self.has_web_identity_line


def read_profile(config: AwsConfig, name: str) -> ProfileRecord:
    """Profile ``name`` as a record (ConfigError when there is no such profile)."""
    section = config.profile(name)

    def text(key: str) -> str | None:
        return get_str(section, key)

    return ProfileRecord(
        name=name,
        credentials_keys=file_keys(config.credentials_profiles.get(name)),
        config_keys=file_keys(config.config_profiles.get(name)),
        has_static_keys="aws_access_key_id" in section or "aws_secret_access_key" in section,
        role_arn=text("role_arn"),
        has_role_arn="role_arn" in section,
        source_profile=text("source_profile"),
        credential_source=text("credential_source"),
        web_identity_token_file=text("web_identity_token_file"),
        has_web_identity_line="web_identity_token_file" in section,
        role_session_name=text("role_session_name"),
        external_id=text("external_id"),
        duration_seconds=text("duration_seconds"),
        mfa_serial=text("mfa_serial"),
        mfa_session_duration=text("mfa_session_duration"),
        source_identity=text("source_identity"),
        credential_process=text("credential_process"),
        uses_sso="sso_account_id" in section or "sso_role_name" in section,
        has_login_session="login_session" in section,
        rolesanywhere=tuple((str(k), text(str(k))) for k in section if str(k).startswith("rolesanywhere_")),
        region=text("region"),
        section=section,
    )
