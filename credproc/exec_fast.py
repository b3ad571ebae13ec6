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

from credproc import fastpath, paths

KEY_PREFIX = "x-"
VALUE_FLAGS = {"--profile": "profile", "-p": "profile", "--region": "region",
               "--refresh-window": "refresh_window"}
WARNED_PROGRAMS = frozenset({"daprd", "dapr"})  # the slow path prints their warning


def parse(argv: Sequence[str]) -> tuple[dict[str, str], list[str]] | None:
    """``[--profile P] [--region R] [--refresh-window S] -- CMD [ARGS...]`` or give up."""
    options: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            command = list(argv[i + 1:])
            return (options, command) if command else None
        name, eq, value = arg.partition("=")
        if name not in VALUE_FLAGS or (eq and name == "-p"):
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None
            value = argv[i + 1]
            i += 1
        options[VALUE_FLAGS[name]] = value
        i += 1
    return None


def profile_name(given: str | None, environ: Mapping[str, str]) -> str:
    """The same rule as ``credproc.cli.common.profile_name`` (a test keeps them equal)."""
    return given or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"


def exec_key(profile: str, region: str | None, environ: Mapping[str, str]) -> str:
    options = {"profile": profile, **({"region": region} if region else {})}
    return KEY_PREFIX + fastpath.cache_key(options, environ)[2:]


def try_exec(argv: Sequence[str], environ: Mapping[str, str]) -> None:
    """Replace the process with the command on a fresh hit; return on anything else."""
    parsed = parse(argv)
    if parsed is None or sys.platform == "win32" or environ.get("CREDPROC_CACHE_ENCRYPTION"):
        return
    options, command = parsed
    if os.path.basename(command[0]) in WARNED_PROGRAMS:
        return
    window = fastpath.refresh_window(options, environ)
    directory = paths.cache_dir(environ, sys.platform)
    if window is None or not fastpath.trusted_dir(directory):
        return
    profile = profile_name(options.get("profile"), environ)
    entry = fastpath.read_entry(directory, exec_key(profile, options.get("region"), environ))
    if entry is None or not entry.is_fresh(time.time(), window) or not entry.deps_unchanged():
        return
    from credproc import envbuild, launch
    from credproc.credentials import from_process_dict

    region = json.loads(entry.meta).get("region")
    creds = from_process_dict(json.loads(entry.payload), "cache entry").with_region(region)
    env = envbuild.for_keys(creds, profile).apply(environ)
    path = launch.find_posix(command[0], env)  # not found: the slow path reports it (127)
    launch.exec_posix(path, command, env)
