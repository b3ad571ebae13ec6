"""Every filesystem location credproc uses, in one place, each overridable by an env variable.

Standard library only: the cache-hit path imports this module. The cache folder is the one
``platformdirs.user_cache_dir("credproc")`` names (a test pins the equality), computed here
without importing platformdirs, which costs several milliseconds on every hit.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # see credproc/flags.py: no typing import on the hit path
if TYPE_CHECKING:
    from collections.abc import Mapping

APP = "credproc"


def home(environ: Mapping[str, str], windows: bool = False) -> str:
    found = environ.get("USERPROFILE") or environ.get("HOME") if windows else environ.get("HOME")
    return found or os.path.expanduser("~")


def cache_dir(environ: Mapping[str, str], platform: str) -> str:
    """``platform`` is ``sys.platform``: passed in so tests can ask for another OS's answer."""
    override = environ.get("CREDPROC_CACHE_DIR")
    if override:
        return override
    if platform == "win32":
        base = environ.get("LOCALAPPDATA") or os.path.join(home(environ, True), "AppData", "Local")
        return os.path.join(base, APP, APP, "Cache")
    xdg = environ.get("XDG_CACHE_HOME", "").strip()
    if xdg:  # platformdirs honours it on macOS too (since 4.x)
        return os.path.join(xdg, APP)
    if platform == "darwin":
        return os.path.join(home(environ), "Library", "Caches", APP)
    return os.path.join(home(environ), ".cache", APP)


def _expand(path: str, environ: Mapping[str, str]) -> str:
    if path == "~" or path.startswith(("~/", "~\\")):
        return home(environ) + path[1:]
    return path


def aws_config_file(environ: Mapping[str, str]) -> str:
    return _expand(environ.get("AWS_CONFIG_FILE") or "~/.aws/config", environ)


def aws_credentials_file(environ: Mapping[str, str]) -> str:
    return _expand(environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials", environ)


def sso_cache_dir(environ: Mapping[str, str]) -> str:
    """The AWS CLI's SSO token cache (it has no override variable; neither do we)."""
    return os.path.join(home(environ), ".aws", "sso", "cache")


def expand_user(path: str, environ: Mapping[str, str]) -> str:
    """Expand ``~`` against the injected environment (certificate, key and token file paths)."""
    return _expand(path, environ)
