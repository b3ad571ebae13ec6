"""A per-key inter-process lock that dies with its holder.

OS advisory locks (flock on POSIX, msvcrt.locking on Windows) are released by the kernel when the
holding process exits, even on SIGKILL, so a killed refresher never wedges the others. One small
function per platform, as in pre-commit's file_lock.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

from credproc.errors import UpstreamError
from credproc.platform import is_windows

POLL_SECONDS = 0.02


def _try_posix(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock_posix(fd: int) -> None:
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _try_windows(fd: int) -> bool:  # pragma: no cover - exercised on Windows only
    import msvcrt

    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    except OSError:
        return False
    return True


def _unlock_windows(fd: int) -> None:  # pragma: no cover - exercised on Windows only
    import msvcrt

    os.lseek(fd, 0, os.SEEK_SET)
    msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


@contextlib.contextmanager
def hold(
    path: str,
    timeout: float,
    on_wait: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    dir_fd: int | None = None,
) -> Iterator[None]:
    """Hold the lock at ``path`` (relative to the folder handle ``dir_fd`` when given); raise
    UpstreamError after ``timeout`` seconds of waiting."""
    try_lock, unlock = (_try_windows, _unlock_windows) if is_windows() else (_try_posix, _unlock_posix)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600, dir_fd=dir_fd)
    try:
        deadline = clock() + timeout
        waited = False
        while not try_lock(fd):
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            if clock() > deadline:
                raise UpstreamError(
                    f"timed out after {timeout:.0f}s waiting for another credproc to refresh",
                    "run again; if it keeps happening, `credproc doctor` shows what is stuck",
                )
            time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            unlock(fd)
    finally:
        os.close(fd)
