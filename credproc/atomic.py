"""The one atomic file writer: the cache, the SSO token cache, `configure` and `configure sso`.

The bytes go to a temporary file in the target's own folder (so the final rename never crosses a
file system), are flushed and fsynced, get their mode, and replace the target in one rename: a
reader sees the old file or the new one, never half of either. A symlinked target (a dotfiles
setup's ``~/.aws/config``) is written through: the link stays a link and the file it points at is
the one updated. Stdlib only.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

TYPE_CHECKING = False  # see credproc/flags.py
if TYPE_CHECKING:
    from credproc.cachedir import Folder

NEW_FILE_MODE = 0o600
FOLDER_MODE = 0o700
TEMP_PREFIX = ".tmp-"


def target_of(path: str) -> str:
    """The file a write to ``path`` updates: the end of its symlink chain, else ``path`` itself."""
    return os.path.realpath(path) if os.path.islink(path) else path


def write_bytes(
    path: str,
    data: bytes,
    *,
    mode: int | None = None,
    follow_symlinks: bool = True,
    prefix: str = TEMP_PREFIX,
    suffix: str = "",
) -> None:
    """Replace ``path`` with ``data`` atomically; raises OSError (and leaves no temporary file).

    ``mode`` None keeps the existing file's mode (0600 for a new file). ``follow_symlinks`` False
    replaces a symlink at ``path`` with a regular file (for credproc's own files, where a link is
    never credproc's doing). A missing folder is made 0700.
    """
    target = target_of(path) if follow_symlinks else path
    folder = os.path.dirname(target) or "."
    os.makedirs(folder, mode=FOLDER_MODE, exist_ok=True)
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)  # created 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode != NEW_FILE_MODE:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_in(folder: Folder, name: str, data: bytes, *, tag: str = "") -> None:
    """Replace ``name`` in an opened, checked folder (the cache's) with ``data``, atomically, as a
    new 0600 file; raises OSError (and leaves no temporary file). Every step is relative to the
    folder's handle, so a folder swapped by path meanwhile is never written. The temporary file is
    named ``TEMP_PREFIX + tag + random``, so whoever finds it left by a killed run knows whose it is."""
    temp = f"{TEMP_PREFIX}{tag}{os.urandom(6).hex()}"
    fd = folder.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, NEW_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        folder.replace(temp, name)
    except BaseException:
        with contextlib.suppress(OSError):
            folder.unlink(temp)
        raise


def write_text(path: str, text: str, *, mode: int | None = None) -> None:
    """``write_bytes`` of ``text`` as UTF-8 (line ends as given), through a symlinked ``path``."""
    write_bytes(path, text.encode("utf-8"), mode=mode)
