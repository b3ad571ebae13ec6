"""Reading a small regular file a person named: a config or credentials file, an SSO token, a web
identity token, a certificate or a key.

Any path can name a FIFO (opening it for reading waits for a writer for ever), a device
(``/dev/zero`` never ends) or a file of gigabytes. Each is refused before a byte is read: the path
is stat'ed before it is opened (opening some devices has effects of its own), opened with
``O_NONBLOCK`` (a FIFO swapped in after the stat cannot block the open), checked again on the open
descriptor, and read up to a cap. The refusal is an ``OSError`` whose ``strerror`` says what the
file is, so every caller that already reports ``cannot read PATH: <strerror>`` says it clearly.

Standard library only (builtin ``os``, ``stat`` and ``errno``): the cache-hit path reads the config
files through this module to compute its key.
"""

from __future__ import annotations

import errno
import os
import stat

CONFIG_LIMIT = 16 << 20  # ~/.aws/config and ~/.aws/credentials: a large organisation's are < 1 MiB
TOKEN_LIMIT = 1 << 20  # tokens, certificates, keys and cache entries: a few KiB each

# O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer. O_NOCTTY: a terminal
# named as a file does not become credproc's controlling terminal.
OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotASmallFile(OSError):
    """The path names something other than a regular file, or a file over the cap."""


def read(path: str, limit: int, *, follow: bool = True) -> bytes:
    """The whole file at ``path``; ``NotASmallFile`` (an OSError) when it is not a regular file
    of at most ``limit`` bytes, any other OSError as ``open`` raises it. ``follow=False`` refuses
    a symlink (for files in credproc's own folders; a person's files may well be links)."""
    refuse_odd(os.stat(path, follow_symlinks=follow), limit, path)
    fd = os.open(path, OPEN_FLAGS | (0 if follow else getattr(os, "O_NOFOLLOW", 0)))
    try:
        return read_fd(fd, limit, path)
    finally:
        os.close(fd)


def check(path: str, limit: int) -> None:
    """Raise as ``read`` would, without reading: for a file another reader (botocore) opens next.
    A stat suffices there: the file is the person's own, and the point is a clear refusal first."""
    refuse_odd(os.stat(path), limit, path)


def read_fd(fd: int, limit: int, path: str) -> bytes:
    """Read an open descriptor (opened with ``OPEN_FLAGS``) after checking what it is; never more
    than ``limit`` bytes, even when the file grows while it is read."""
    refuse_odd(os.fstat(fd), limit, path)
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise _too_big(limit, path)
    return b"".join(chunks)


def refuse_odd(st: os.stat_result, limit: int, path: str) -> None:
    for test, kind in _KINDS:
        if test(st.st_mode):
            raise NotASmallFile(errno.EINVAL, f"it is {kind}, not a regular file", path)
    if not stat.S_ISREG(st.st_mode):
        raise NotASmallFile(errno.EINVAL, "it is not a regular file", path)
    if st.st_size > limit:
        raise _too_big(limit, path)


def _too_big(limit: int, path: str) -> NotASmallFile:
    return NotASmallFile(errno.EFBIG, f"it is larger than {_size(limit)}", path)


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"
