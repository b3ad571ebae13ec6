"""The console-script entry point: the cache-hit fast paths first, the full CLI otherwise.

Nothing heavy is imported before the fast path has had its chance: on a hit the process costs
little more than starting Python (see bench/bench.py and the README's numbers).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["credential-process"]:
        from credproc import fastpath

        try:
            if fastpath.try_hit(argv[1:], os.environ):
                return
            if os.environ.get("CREDPROC_CACHE_ENCRYPTION"):  # opt-in: costs keyring + cryptography
                from credproc import cache_crypto

                if cache_crypto.enabled(os.environ) and cache_crypto.try_hit(argv[1:], os.environ):
                    return
        except Exception:  # any surprise on the fast path falls back to the slow path
            fast_path_failed()
    elif argv[:1] == ["exec"]:
        from credproc import exec_fast

        try:
            exec_fast.try_exec(argv[1:], os.environ)  # returns only when it did not exec
        except Exception:  # any surprise on the fast path falls back to the slow path
            fast_path_failed()
    from credproc.cli import run

    sys.exit(run(argv))


def fast_path_failed() -> None:
    """Silent, unless CREDPROC_DEBUG=1: then the traceback, before the full CLI answers instead."""
    if os.environ.get("CREDPROC_DEBUG") == "1":
        import traceback

        sys.stderr.write("credproc: debug: the fast path failed; the full CLI answers instead\n")
        traceback.print_exc()
