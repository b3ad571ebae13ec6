"""The cache-hit path of ``credproc credential-process``, and the cache entry format it reads.

This module runs before click, botocore, json or hashlib are imported and must stay that way:
only builtin modules (``os``, ``sys``, ``time``, ``_blake2``) and ``credproc.paths``. A test
imports it in a fresh interpreter and checks ``sys.modules``.

The slow path imports the same key function and entry codec from here, so the two can never
disagree about where an answer lives.

Entry file layout (bytes)::

    credproc-cache/1 <expires> <issued> <payload_len> <deps_len> <checksum>\\n
    <payload: the credential_process JSON line, printed as is on a hit>
    <deps: "<mtime_ns> <size> <path>\\n" per file the answer depends on>
    <meta: one JSON object for `cache list`; never read on a hit>

``checksum`` is a BLAKE2b digest of everything after the header line, so a truncated, torn or
foreign file is a miss, never a wrong answer.
"""

from __future__ import annotations

import os
import sys
import time
from _blake2 import blake2b  # builtin; `import hashlib` costs ~2.5 ms on every hit

from credproc import __version__, paths

# Not `from typing import TYPE_CHECKING`: importing typing costs more than this whole module.
# mypy treats any name TYPE_CHECKING as true; at run time the annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

MAGIC = b"credproc-cache/1"
DEFAULT_REFRESH_WINDOW = 20 * 60
# For short sessions the window shrinks to this share of the lifetime, so a 15-minute role session
# is refreshed after ~4.5 minutes instead of on every call, and still hands botocore more than its
# 10-minute mandatory-refresh margin.
SHORT_SESSION_SHARE = 0.7
BOTOCORE_MANDATORY_MARGIN = 10 * 60
ENTRY_SUFFIX = ".entry"
# A payload sealed by credproc.cache_crypto (cache encryption on): never printed from here.
SEALED = b"\0credproc-sealed/1\0"

# The flags of `credential-process`. Value flags change the answer unless listed in NON_ANSWER.
# A test checks these sets against the click command, so a new flag cannot be forgotten here.
VALUE_FLAGS = frozenset(
    {
        "--profile",
        "--refresh-window",
        "--mfa-token",
        # aws_signing_helper-compatible Roles Anywhere flags
        "--certificate",
        "--private-key",
        "--intermediates",
        "--trust-anchor-arn",
        "--profile-arn",
        "--role-arn",
        "--session-duration",
        "--region",
        "--endpoint",
        "--role-session-name",
    }
)
BOOL_FLAGS = frozenset({"--auto-login", "--no-verify-ssl", "--with-proxy"})
ALIASES = {"-p": "--profile"}
NON_ANSWER = frozenset({"refresh_window", "mfa_token", "auto_login", "no_cache", "with_proxy"})


def option_name(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def parse_args(argv: Sequence[str]) -> dict[str, str] | None:
    """Parse credential-process flags the way click would, or give up (``None``) on anything else.

    Giving up is always safe: the slow path then runs with the full parser and its error messages.
    """
    options: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in BOOL_FLAGS:
            options[option_name(arg)] = "1"
            i += 1
            continue
        name, eq, value = arg.partition("=")
        name = ALIASES.get(name, name)
        if name not in VALUE_FLAGS:
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None
            value = argv[i + 1]
            i += 1
        options[option_name(name)] = value
        i += 1
    return options


def _relevant_env(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    # Every AWS_* variable may change an answer (endpoints, regions, credential_source =
    # Environment); over-including only costs a miss. CREDPROC_* variables never do: they set the
    # cache folder, the refresh window, the loop guard or the shell prompt's profile name.
    return sorted((k, v) for k, v in environ.items() if k.startswith("AWS_"))


def _read_or_marker(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b"\0missing"


def cache_key(options: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """The key of a credential-process answer: changes whenever the answer could.

    It covers credproc's version, the answer-changing flags, every AWS_* variable
    and the full contents of the config and credentials files. Hashed, so no secret is recoverable
    from a file name.
    """
    h = blake2b(digest_size=20, person=b"credproc-key")
    parts: list[bytes] = [__version__.encode()]
    for name in sorted(options):
        if name not in NON_ANSWER:
            parts.append(f"opt:{name}={options[name]}".encode())
    for name, value in _relevant_env(environ):
        parts.append(f"env:{name}={value}".encode("utf-8", "surrogateescape"))
    parts.append(_read_or_marker(paths.aws_config_file(environ)))
    parts.append(_read_or_marker(paths.aws_credentials_file(environ)))
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return "p-" + h.hexdigest()


def checksum(body: bytes) -> str:
    return blake2b(body, digest_size=16, person=b"credproc-entry").hexdigest()


def encode_entry(
    payload: bytes, expires: int, issued: int, deps: Iterable[str], meta: bytes
) -> bytes:
    dep_lines = []
    for path in deps:
        st = os.stat(path)
        dep_lines.append(f"{st.st_mtime_ns} {st.st_size} {path}\n".encode("utf-8", "surrogateescape"))
    dep_bytes = b"".join(dep_lines)
    body = payload + dep_bytes + meta
    header = b"%s %d %d %d %d %s\n" % (
        MAGIC,
        expires,
        issued,
        len(payload),
        len(dep_bytes),
        checksum(body).encode(),
    )
    return header + body


class Entry:
    __slots__ = ("deps", "expires", "issued", "meta", "payload")

    def __init__(self, payload: bytes, expires: int, issued: int, deps: bytes, meta: bytes) -> None:
        self.payload = payload
        self.expires = expires
        self.issued = issued
        self.deps = deps
        self.meta = meta

    def window(self, configured: float) -> float:
        lifetime = self.expires - self.issued
        if lifetime <= 0:
            return configured
        # Scaled down for short sessions, but never below botocore's 10-minute mandatory margin
        # (unless the user asked for a smaller window).
        return min(configured, max(lifetime * SHORT_SESSION_SHARE, BOTOCORE_MANDATORY_MARGIN))

    def is_fresh(self, now: float, configured_window: float) -> bool:
        return self.expires - now > self.window(configured_window)

    def deps_unchanged(self) -> bool:
        for line in self.deps.splitlines():
            mtime, size, path = line.split(b" ", 2)
            try:
                st = os.stat(path)
            except OSError:
                return False
            if st.st_mtime_ns != int(mtime) or st.st_size != int(size):
                return False
        return True


def decode_entry(data: bytes) -> Entry | None:
    """Parse an entry, or ``None`` for anything that is not a whole, intact entry."""
    head, nl, body = data.partition(b"\n")
    fields = head.split(b" ")
    if not nl or len(fields) != 6 or fields[0] != MAGIC:
        return None
    try:
        expires, issued, payload_len, deps_len = (int(f) for f in fields[1:5])
    except ValueError:
        return None
    if payload_len <= 0 or deps_len < 0 or payload_len + deps_len > len(body):
        return None
    if checksum(body).encode() != fields[5]:
        return None
    return Entry(
        body[:payload_len],
        expires,
        issued,
        body[payload_len : payload_len + deps_len],
        body[payload_len + deps_len :],
    )


def owner_ok(st: os.stat_result) -> bool:
    """A cache file or folder another local user could write is never trusted (POSIX)."""
    getuid = getattr(os, "geteuid", None)
    if getuid is None:  # Windows: per-user profile folders carry the protection
        return True
    return st.st_uid == getuid() and not st.st_mode & 0o022


def file_ok(st: os.stat_result) -> bool:
    """Entries are written 0600; one readable by others was not written by credproc."""
    if getattr(os, "geteuid", None) is None:
        return True
    return owner_ok(st) and not st.st_mode & 0o077


def read_entry(directory: str, key: str) -> Entry | None:
    path = os.path.join(directory, key + ENTRY_SUFFIX)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not file_ok(st):
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return decode_entry(b"".join(chunks))


def trusted_dir(directory: str) -> bool:
    try:
        st = os.stat(directory)
    except OSError:
        return False
    return owner_ok(st)


def refresh_window(options: Mapping[str, str], environ: Mapping[str, str]) -> float | None:
    raw = options.get("refresh_window") or environ.get("CREDPROC_REFRESH_WINDOW")
    if raw is None:
        return DEFAULT_REFRESH_WINDOW
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def lookup(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[str, Entry] | None:
    """The fresh entry (and its key) answering these credential-process flags, if any."""
    options = parse_args(argv)
    if options is None:
        return None
    window = refresh_window(options, environ)
    if window is None:
        return None
    directory = paths.cache_dir(environ, sys.platform)
    if not trusted_dir(directory):
        return None
    key = cache_key(options, environ)
    entry = read_entry(directory, key)
    if entry is None or not entry.is_fresh(time.time(), window) or not entry.deps_unchanged():
        return None
    return key, entry


def try_hit(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Print the cached answer and return True, or return False and let the slow path decide."""
    found = lookup(argv, environ)
    if found is None:
        return False
    entry = found[1]
    if entry.payload.startswith(SEALED):  # encrypted at rest: credproc.cache_crypto serves it
        return False
    out = sys.stdout.buffer
    out.write(entry.payload)
    out.flush()
    return True
