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


def write_text(path: str, text: str, *, mode: int | None = None) -> None:
    """``write_bytes`` of ``text`` as UTF-8 (line ends as given), through a symlinked ``path``."""
    write_bytes(path, text.encode("utf-8"), mode=mode)
