"""``credproc configure sso``: one profile per account and role a session can reach.

Each role gets two blocks. ``[profile NAME]`` holds only a ``credential_process`` line, so the
AWS CLI and every SDK go through credproc (and its cache); the AWS CLI would otherwise prefer its
own SSO provider over ``credential_process`` in the same profile. ``[profile NAME.sso]`` holds
the SSO coordinates that line resolves, and is usable by the AWS CLI directly too. Blocks are
appended; existing profiles, comments and order are left exactly as they were.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from credproc.errors import ConfigError
from credproc.sources.sso.portal import Assignment
from credproc.sources.sso.token_cache import write_text_atomic

DEFAULT_TEMPLATE = "{account_name}-{role_name}"
SSO_SUFFIX = ".sso"
UNSAFE = re.compile(r"[^A-Za-z0-9_.@+=,-]+")


@dataclass(frozen=True)
class Planned:
    name: str
    assignment: Assignment
    text: str


@dataclass(frozen=True)
class Plan:
    new: list[Planned]
    kept: list[str]  # profile names that exist already and are left alone

    def text(self) -> str:
        return "".join(p.text for p in self.new)


def profile_name(template: str, a: Assignment, session: str) -> str:
    try:
        raw = template.format(account_name=a.account_name, account_id=a.account_id, role_name=a.role_name,
                              session=session)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"--name-template {template!r} is not usable ({exc!s})",
            "use the fields {account_name}, {account_id}, {role_name} and {session}",
        ) from None
    name = UNSAFE.sub("-", raw).strip("-")
    if not name:
        raise ConfigError(f"--name-template {template!r} gives an empty profile name")
    return name


def block(name: str, a: Assignment, session: str, region: str, command: str) -> str:
    return (
        f"\n[profile {name}]\n"
        f"credential_process = {command} credential-process --profile {name}{SSO_SUFFIX}\n"
        f"region = {region}\n"
        f"\n[profile {name}{SSO_SUFFIX}]\n"
        f"sso_session = {session}\n"
        f"sso_account_id = {a.account_id}\n"
        f"sso_role_name = {a.role_name}\n"
        f"region = {region}\n"
    )


def plan(assignments: Iterable[Assignment], session: str, template: str, region: str,
         existing: Iterable[str], command: str = "credproc") -> Plan:
    have = set(existing)
    new: list[Planned] = []
    kept: list[str] = []
    for a in sorted(assignments, key=lambda x: (x.account_name, x.account_id, x.role_name)):
        name = profile_name(template, a, session)
        if name in have or name + SSO_SUFFIX in have:
            kept.append(name)
            continue
        have.update((name, name + SSO_SUFFIX))
        new.append(Planned(name, a, block(name, a, session, region, command)))
    return Plan(new, kept)


def append(config_file: str, text: str) -> None:
    """Append to the config file as one atomic replace (0600 when new; the old mode otherwise)."""
    try:
        with open(config_file, encoding="utf-8") as fh:
            current = fh.read()
        mode = os.stat(config_file).st_mode & 0o777
    except FileNotFoundError:
        current, mode = "", 0o600
    except OSError as exc:
        raise ConfigError(f"cannot read {config_file}: {exc.strerror}") from None
    if current and not current.endswith("\n"):
        current += "\n"
    try:
        write_text_atomic(config_file, current + text, mode)
    except OSError as exc:
        raise ConfigError(f"cannot write {config_file}: {exc.strerror}") from None
