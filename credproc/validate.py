"""Shapes of values credproc writes into config files or puts into URLs: account ids, IAM role
names, regions, SSO session names and profile names. Text from a server or a file is checked
against these before it is written anywhere, so a hostile answer cannot add lines (or sections) to
``~/.aws/config``."""

from __future__ import annotations

import re

from credproc.errors import ConfigError

ACCOUNT_ID = re.compile(r"[0-9]{12}")
# IAM's own rule for role names (CreateRole's RoleName pattern), ASCII only.
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
# botocore's validate_region_name: one DNS label of letters, digits and hyphens.
REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
# An [sso-session NAME] credproc writes a reference to: no spaces, brackets or line breaks.
SESSION_NAME = re.compile(r"[\w+=,.@:-]{1,128}", re.ASCII)
# What a profile name credproc makes (configure sso's --name-template) may not hold; each run of it
# becomes a hyphen, so the name is one word in a [profile NAME] header and a credential_process line.
PROFILE_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.@+=,-]+")


def shown(value: object) -> str:
    """A refused value for a message: quoted, control characters escaped, cut to a sane length."""
    text = repr(str(value))
    return text if len(text) <= 80 else text[:77] + "..."


def is_region(value: str) -> bool:
    return REGION.fullmatch(value) is not None


def region(value: str, where: str) -> str:
    if not is_region(value):
        raise ConfigError(
            f"{where}: {shown(value)} is not a region name",
            "a region is letters, digits and hyphens, e.g. eu-west-1",
        )
    return value
