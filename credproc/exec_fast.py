"""The cache-hit path of ``credproc exec`` (POSIX, keys in env vars): no click, no botocore.

``exec`` stores its answer (the credentials and the region it gives the child) under a key built
exactly like ``credential-process``'s answer key (credproc's version, the flags that change the
answer, every AWS_* variable, the full config and credentials files), with its own prefix. On a
fresh hit this module builds the child's env with the same pure builder and replaces the process;
anything unusual (another flag, ``--server``, Windows, encryption, a dapr command that deserves
its warning, a command that is not found) returns and lets the full CLI decide and explain.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence

from credproc import cachedir, cachefile, cachekey, flags, paths
from credproc.launch import DAPR_PROGRAMS
from credproc.profiles import selected_profile


def try_exec(argv: Sequence[str], environ: Mapping[str, str]) -> None:
    """Replace the process with the command on a fresh hit; return on anything else."""
    parsed = flags.parse(flags.EXEC, argv, command=True)
    if parsed is None or sys.platform == "win32" or environ.get("CREDPROC_CACHE_ENCRYPTION"):
        return
    options, command = parsed
    if os.path.basename(command[0]) in DAPR_PROGRAMS:  # the full CLI prints their warning
        return
    window = cachefile.refresh_window(options.get("refresh_window"), environ)
    if window is None:
        return
    try:  # any doubt about the folder is a miss: the full CLI explains it (or tightens it)
        folder = cachedir.open_folder(paths.cache_dir(environ, sys.platform), paths.home(environ))
    except OSError:
        return
    profile = selected_profile(options.get("profile"), environ)
    key = cachekey.exec_key(profile, options.get("region"), environ)
    entry = cachefile.read_entry(folder, key)
    folder.close()  # not handed to the child
    if entry is None or not entry.is_fresh(time.time(), window) or not entry.deps_unchanged():
        return
    from credproc import envbuild, launch  # only a hit pays for them
    from credproc.credentials import from_process_dict

    region = json.loads(entry.meta).get("region")  # credproc.cache.EntryMeta, without dataclasses
    creds = from_process_dict(json.loads(entry.payload), "cache entry").with_region(region)
    env = envbuild.for_keys(creds, profile).apply(environ)
    path = launch.find_posix(command[0], env)  # not found: the slow path reports it (127)
    launch.exec_posix(path, command, env)
