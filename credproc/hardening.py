"""No core dump of a process that holds secrets.

``serve``, ``exec --server``, ``login`` and the slow path of ``credential-process`` hold secret
keys, session tokens, SSO tokens and the server's bearer token in memory; a core file written on a
crash (or by ``gcore``/``kill -ABRT`` from a debugging session) would put them on disk. Call
:func:`no_core_dumps` once, before any secret is read: it lowers the soft ``RLIMIT_CORE`` to 0
(the hard limit stays, so a child that wants cores may raise its own) and, on Linux, marks the
process non-dumpable with ``prctl(PR_SET_DUMPABLE, 0)``, which also keeps other processes of the
same user from attaching with ptrace. Elsewhere the parts that do not exist are skipped; nothing
here ever fails a run.
"""

from __future__ import annotations

import sys

PR_SET_DUMPABLE = 4  # <linux/prctl.h>
PR_GET_DUMPABLE = 3


def no_core_dumps(platform: str = sys.platform) -> None:
    _zero_core_limit()
    if platform.startswith("linux"):
        _not_dumpable()


def _zero_core_limit() -> None:
    try:
        import resource
    except ImportError:  # Windows: no core files to limit
        return
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    except (OSError, ValueError):  # pragma: no cover - lowering a soft limit is always allowed
        pass


def _not_dumpable() -> None:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(
            PR_SET_DUMPABLE, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)
        )
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl (musl has it)
        pass


def dumpable(platform: str = sys.platform) -> bool | None:
    """Whether this process may dump core (Linux), else None. For tests and ``doctor``."""
    if not platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return bool(
        libc.prctl(
            PR_GET_DUMPABLE, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)
        )
    )
