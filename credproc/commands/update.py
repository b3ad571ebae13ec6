"""``credproc update``: aws_signing_helper's ``update``: keep a profile of the credentials file fresh.

Fetches Roles Anywhere credentials (the helper's flags), writes ``aws_access_key_id``,
``aws_secret_access_key`` and ``aws_session_token`` into ``[PROFILE]`` of
``$AWS_SHARED_CREDENTIALS_FILE`` (else ``~/.aws/credentials``), and with ``--once`` stops; otherwise
it refreshes 5 minutes before expiry until interrupted. The file is written through the one
atomic writer and every other byte is kept: unlike the helper, the section's last line is never
dropped, line endings are kept, and missing keys go after the section's last non-blank line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

import click

from credproc import flags, options, output
from credproc.credentials import Credentials
from credproc.errors import ConfigError

KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
REFRESH_BEFORE = 300.0  # seconds before expiry, as the helper


def credentials_path(environ: Mapping[str, str]) -> str:
    from credproc.paths import expand_user

    given = environ.get("AWS_SHARED_CREDENTIALS_FILE")
    return (
        expand_user(given, environ)
        if given
        else os.path.join(expand_user("~", environ), ".aws", "credentials")
    )


def updated(text: str, profile: str, creds: Credentials) -> str:
    """``text`` with the profile's three keys replaced (or added); every other line byte-exact."""
    values = dict(zip(KEYS, (creds.access_key_id, creds.secret_access_key, creds.session_token), strict=True))
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    header = f"[{profile}]"
    start = next((i for i, line in enumerate(lines) if line.rstrip("\r\n") == header), None)
    if start is None:
        prefix = text if not text or text.endswith("\n") else text + newline
        body = "".join(f"{k} = {values[k]}{newline}" for k in KEYS)
        return f"{prefix}{header}{newline}{body}"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    seen: set[str] = set()
    for i in range(start + 1, end):
        for key in KEYS:
            if lines[i].startswith(key) and key not in seen:
                ending = lines[i][len(lines[i].rstrip("\r\n")) :] or newline
                lines[i] = f"{key} = {values[key]}{ending}"
                seen.add(key)
    last = end
    while last - 1 > start and not lines[last - 1].strip():
        last -= 1
    if last > 0 and not lines[last - 1].endswith("\n"):
        lines[last - 1] += newline
    missing = [f"{k} = {values[k]}{newline}" for k in KEYS if k not in seen]
    lines[last:last] = missing
    return "".join(lines)


def write(path: str, profile: str, creds: Credentials) -> None:
    from credproc import config

    config.replace_text(path, updated(config.read_text(path), profile, creds))


def fetch(opts: Mapping[str, object]) -> Credentials:
    from credproc import aws
    from credproc.sources.rolesanywhere.source import from_flags

    given = {k: ("1" if v is True else str(v)) for k, v in opts.items() if v not in (None, False)}
    given.pop("profile", None)
    ctx = options.make_context(
        dict(os.environ), no_cache=True, region=given.get("region"), verify_ssl=not opts["no_verify_ssl"]
    )
    source = from_flags(ctx, given)
    if source is None:
        raise ConfigError(
            "update needs aws_signing_helper's flags",
            "--certificate, --private-key, --trust-anchor-arn, --profile-arn and --role-arn",
        )
    with aws.budget():
        return source.fetch(ctx)


def keep_updated(
    opts: Mapping[str, object],
    profile: str,
    path: str,
    once: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Fetch and write; unless ``once``, again ``REFRESH_BEFORE`` seconds before each expiry, until
    interrupted."""
    while True:
        creds = fetch(opts)
        write(path, profile, creds)
        if once:
            return
        expires = creds.expiration.timestamp() if creds.expiration else time.time() + 3600
        wake = max(expires - REFRESH_BEFORE, time.time() + 1)
        output.info(f"updated [{profile}] in {path}; next refresh in {int(wake - time.time())} s")
        sleep(wake - time.time())


@click.command("update", context_settings={"allow_extra_args": True})
@options.from_table(flags.UPDATE)
def command(**opts: object) -> None:
    """Keep a profile of ~/.aws/credentials fresh with Roles Anywhere keys (--once: just once)."""
    profile = str(opts.pop("profile") or "default")
    once = bool(opts.pop("once"))
    keep_updated(opts, profile, credentials_path(os.environ), once)
