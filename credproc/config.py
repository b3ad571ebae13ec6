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
    except BotoCoreError as exc:
        raise ConfigError(f"cannot parse {path}: {_first_line(str(exc))}", "fix the file's syntax") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot parse {path}: it is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "syntax error"


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
