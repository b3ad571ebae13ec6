"""The AWS CLI v2's cache of SSO role credentials: ``~/.aws/cli/cache/<sha1>.json``.

The CLI v2 keeps what GetRoleCredentials returned in a JSON file per (session, account, role),
named as botocore's ``SSOCredentialFetcher._create_cache_key`` names it: the SHA-1 of the compact,
key-sorted JSON of ``accountId``, ``roleName`` and ``sessionName`` (the sso-session form) or
``startUrl`` (the legacy form). Its content says ``"ProviderType": "sso"``. ``aws sso logout``
removes every such file; ``credproc logout`` removes them too, the ones of the sessions it ends,
so that neither tool keeps a signed-out session alive.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping

from credproc import paths
from credproc.errors import ConfigError
from credproc.sources.sso.settings import SsoSession


def cache_dir(environ: Mapping[str, str]) -> str:
    """The AWS CLI's credential cache (awscli's ``AWS_CREDS_CACHE_DIR``; no override variable)."""
    return os.path.join(paths.home(environ), ".aws", "cli", "cache")


def file_name(session: SsoSession, account_id: str, role_name: str) -> str:
    args = {"roleName": role_name, "accountId": account_id}
    if session.name is not None:
        args["sessionName"] = session.name
    else:
        args["startUrl"] = session.start_url
    compact = json.dumps(args, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(compact.encode("utf-8"), usedforsecurity=False).hexdigest() + ".json"


def _is_sso_entry(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("ProviderType") == "sso"


def remove_roles(environ: Mapping[str, str], session: SsoSession, roles: Iterable[tuple[str, str]]) -> int:
    """Remove the CLI's cached credentials of these (account, role) pairs of ``session``."""
    removed = 0
    for account_id, role_name in set(roles):
        path = os.path.join(cache_dir(environ), file_name(session, account_id, role_name))
        removed += _remove_if_sso(path)
    return removed


def remove_all(environ: Mapping[str, str]) -> int:
    """Every SSO entry of the CLI's cache, as ``aws sso logout`` sweeps it."""
    directory = cache_dir(environ)
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    return sum(_remove_if_sso(os.path.join(directory, name)) for name in names)


def _remove_if_sso(path: str) -> int:
    """1 when ``path`` was an SSO entry and is gone now, 0 when it was none; a file that stays is
    an error: the session would stay signed in for the AWS CLI."""
    if not _is_sso_entry(path):
        return 0
    try:
        os.remove(path)
    except FileNotFoundError:  # removed meanwhile (another logout)
        return 0
    except OSError as exc:
        raise ConfigError(f"cannot remove the AWS CLI's cached credentials {path}: {exc.strerror}") from None
    return 1
