"""The AWS config and credentials files, read with botocore's own parser so every key means what
it means to the AWS CLI (``[profile x]`` prefixes, nested ``s3 =`` blocks, ``[sso-session]``).
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

    def profile(self, name: str) -> Section:
        try:
            return self.profiles[name]
        except KeyError:
            raise ConfigError(
                f"profile {name!r} is not in {self.config_file} or {self.credentials_file}",
                "check the name with `aws configure list-profiles`",
            ) from None

    def sso_session(self, name: str) -> Section:
        try:
            return self.sso_sessions[name]
        except KeyError:
            raise ConfigError(f"[sso-session {name}] is not in {self.config_file}") from None


def _parse(path: str, as_profiles: bool) -> dict[str, Any]:
    from botocore import configloader
    from botocore.exceptions import BotoCoreError

    if not os.path.isfile(path):
        return {}
    try:
        if as_profiles:
            return dict(configloader.load_config(path))
        return dict(configloader.raw_config_parse(path))
    except BotoCoreError:
        raise ConfigError(f"cannot parse {path}: {_why_unparsable(path)}", "fix the file's syntax") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot parse {path}: it is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


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
    except configparser.Error:
        pass
    return "syntax error"


def load(environ: Mapping[str, str]) -> AwsConfig:
    """Merge the two files as botocore does: a credentials-file profile's keys win."""
    config_file = paths.aws_config_file(environ)
    credentials_file = paths.aws_credentials_file(environ)
    parsed: dict[str, Any] = _parse(config_file, as_profiles=True)
    profiles: dict[str, dict[str, object]] = {
        name: dict(values) for name, values in parsed.get("profiles", {}).items()
    }
    for name, values in _parse(credentials_file, as_profiles=False).items():
        profiles.setdefault(name, {}).update(values)
    return AwsConfig(
        profiles=profiles,
        sso_sessions=dict(parsed.get("sso_sessions", {})),
        services=dict(parsed.get("services", {})),
        config_file=config_file,
        credentials_file=credentials_file,
    )


def get_str(section: Section, key: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a single value, not a nested block")
    return value.strip() or None
