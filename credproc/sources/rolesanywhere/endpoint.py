"""Where CreateSession goes. Its own light module: building a source (every slow-path run) needs
it, and must not pay for importing ``cryptography``."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from credproc.errors import ConfigError


def endpoint_for(flag: str | None, environ: Mapping[str, str], region: str) -> str:
    """CONTRACT.md: --endpoint, else AWS_ENDPOINT_URL_ROLESANYWHERE, else AWS_ENDPOINT_URL, else
    the regional endpoint. A bare host name gets https:// (aws_signing_helper accepts both)."""
    configured = None
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        configured = environ.get("AWS_ENDPOINT_URL_ROLESANYWHERE") or environ.get("AWS_ENDPOINT_URL")
    url = flag or configured or f"https://rolesanywhere.{region}.amazonaws.com"
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"Roles Anywhere endpoint {url!r} is not an http(s) URL")
    return url.rstrip("/")
