"""The cache-hit path of ``credproc credential-process``: read argv, find the entry, print it.

This module runs before click, botocore, json or hashlib are imported and must stay that way:
only builtin modules (``os``, ``sys``, ``time``, ``_blake2``) and credproc's stdlib-only modules
(flags, cachekey, cachedir, cachefile, durations, paths). A test imports it in a fresh interpreter and checks
``sys.modules``. The flags, the key and the entry format are the full CLI's own (same modules), so
the two paths cannot disagree about where an answer lives.
"""

from __future__ import annotations

import sys
import time

from credproc import cachedir, cachefile, cachekey, flags, paths

TYPE_CHECKING = False  # see credproc/flags.py: no typing import on the hit path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def parse_args(argv: Sequence[str]) -> dict[str, str] | None:
    """credential-process's flags as click reads them, or None (the full CLI then decides)."""
    parsed = flags.parse(flags.CREDENTIAL_PROCESS, argv)
    return None if parsed is None else parsed[0]


def lookup(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[str, cachefile.Entry] | None:
    """The fresh entry (and its key) answering these credential-process flags, if any."""
    options = parse_args(argv)
    if options is None:
        return None
    window = cachefile.refresh_window(options.get("refresh_window"), environ)
    if window is None:
        return None
    try:  # any doubt about the folder is a miss: the full CLI explains it (or tightens it)
        folder = cachedir.open_folder(paths.cache_dir(environ, sys.platform), paths.home(environ))
    except OSError:
        return None
    key = cachekey.answer_key(options, environ)
    entry = cachefile.read_entry(folder, key)
    folder.close()
    if entry is None or not entry.is_fresh(time.time(), window) or not entry.deps_unchanged():
        return None
    return key, entry


def try_hit(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Print the cached answer and return True, or return False and let the slow path decide."""
    found = lookup(argv, environ)
    if found is None:
        return False
    entry = found[1]
    if entry.payload.startswith(cachefile.SEALED):  # encrypted at rest: credproc.cache_crypto serves it
        return False
    out = sys.stdout.buffer
    out.write(entry.payload)
    out.flush()
    return True
