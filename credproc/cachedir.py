"""The cache folder: whether it may be used, and its one open handle (stdlib only: the hit paths).

The folder is trusted as OpenSSH trusts ``~/.ssh``: every folder above it, up to HOME or /, is
owned by root or by us and writable by nobody else unless sticky (group-writable is fine when the
group is our private one, as Debian's OpenSSH allows); a symlink to it must be ours; the folder
itself must be ours and writable by nobody else (one others can only read is made 0700). It is
then opened once (``O_DIRECTORY | O_NOFOLLOW``) and every entry, lock and temporary file is named
relative to that handle (``dir_fd``), so a folder renamed or swapped by path after the check is
never the one read or written. The check alone
would leave a window between check and use; the handle alone would still trust a folder another
user can replace before the check: together, and with the key in each entry's checksum
(credproc.cachefile), a folder swap cannot hand out another profile's answer.
"""

from __future__ import annotations

import errno
import os
import stat


class UnsafeFolder(PermissionError):
    """The cache folder may not be used: ``why`` it is refused and the ``fix``. An OSError, so
    that every "the cache is unusable: continue without it" path handles it too."""

    def __init__(self, why: str, fix: str) -> None:
        super().__init__(errno.EPERM, why)
        self.why = why
        self.fix = fix


class Folder:
    """The cache folder, opened once. ``fd`` is its handle (POSIX): every name is looked up relative
    to it, never through the path again, and never through a symlink. On Windows (no ``dir_fd``)
    ``fd`` is None and names are joined to ``path``. ``tightened`` is the mode it had when
    ``open_folder`` made it 0700."""

    __slots__ = ("fd", "path", "tightened")

    def __init__(self, path: str, fd: int | None, tightened: int | None = None) -> None:
        self.path = path
        self.fd = fd
        self.tightened = tightened

    def at(self, name: str) -> tuple[str, int | None]:
        """``name`` as the ``(path, dir_fd)`` pair the ``os`` functions take."""
        if self.fd is None:
            return os.path.join(self.path, name), None
        return name, self.fd

    def open(self, name: str, flags: int, mode: int = 0o600) -> int:
        where, fd = self.at(name)
        return os.open(where, flags | _NOFOLLOW | getattr(os, "O_BINARY", 0), mode, dir_fd=fd)

    def names(self) -> list[str]:
        return os.listdir(self.path if self.fd is None else self.fd)

    def lstat(self, name: str) -> os.stat_result:
        where, fd = self.at(name)
        return os.stat(where, dir_fd=fd, follow_symlinks=False)

    def unlink(self, name: str) -> None:
        where, fd = self.at(name)
        os.unlink(where, dir_fd=fd)

    def replace(self, source: str, target: str) -> None:
        """Rename ``source`` over ``target``, both in this folder (atomic; a symlink at ``target``
        is replaced, never followed)."""
        src, fd = self.at(source)
        dst, _ = self.at(target)
        os.replace(src, dst, src_dir_fd=fd, dst_dir_fd=fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:  # a Cache dropped in a long-lived process (serve, tests) frees its handle
        self.close()


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW
MAX_LINK_HOPS = 8
OWN_FOLDER = "set CREDPROC_CACHE_DIR to a folder only you can change"


def unsafe_ancestor(path: str, home: str, uid: int, hops: int = 0) -> tuple[str, str] | None:
    """The first folder from ``path`` up to HOME (included) or / that another user could change,
    and why, or None. OpenSSH's rule for ``~/.ssh``: each one owned by root or us, and writable by
    nobody else unless sticky (as /tmp is: others cannot rename what is ours there) or by our
    private group only (``only_ours``). A symlinked
    folder is judged by its target's folders too. A folder not made yet is skipped: its parent
    decides who may make it."""
    current = path
    while True:
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISLNK(st.st_mode):
            if hops >= MAX_LINK_HOPS:
                return current, "has too many symbolic links"
            found = unsafe_ancestor(os.path.realpath(current), os.path.realpath(home), uid, hops + 1)
            if found is not None:
                return found
        elif st is not None:
            why = _why_unsafe(st, uid)
            if why is not None:
                return current, why
        parent = os.path.dirname(current)
        if current == home or parent == current:
            return None
        current = parent


def _why_unsafe(st: os.stat_result, uid: int) -> str | None:
    if st.st_uid != uid and st.st_uid != 0:
        return "belongs to another user"
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX and not only_ours(st, uid):
        return "is writable by other users"
    return None


def only_ours(st: os.stat_result, uid: int) -> bool:
    """Group-writable is harmless when the group is the owner's private group (Debian's OpenSSH
    rule, for a umask of 002): ours, not writable by others, and no member but us, by primary
    group or listed. Looked up only for such a folder, so the hit path stays free of grp/pwd."""
    if st.st_uid != uid or st.st_mode & 0o002:
        return False
    import grp
    import pwd

    try:
        group = grp.getgrgid(st.st_gid)
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return False
    if any(member != name for member in group.gr_mem):
        return False
    return all(user.pw_uid == uid for user in pwd.getpwall() if user.pw_gid == st.st_gid)


def resolve_checked(directory: str, home: str, uid: int) -> str:
    """The folder ``directory`` names, once the way to it is safe: a symlink at its name must be
    ours (or root's), and no folder above it or above its target ``unsafe_ancestor``. Raises
    UnsafeFolder, or OSError (FileNotFoundError when it does not exist)."""
    path = os.path.abspath(directory)
    real = path
    link = os.lstat(path)
    if stat.S_ISLNK(link.st_mode):
        if link.st_uid not in (uid, 0):
            raise UnsafeFolder("it is a symlink made by another user", f"remove the link: rm {path}")
        real = os.path.realpath(path)
    for start in (path, real) if real != path else (path,):
        _check_above(start, home, uid)
    return real


def _check_above(path: str, home: str, uid: int) -> None:
    found = unsafe_ancestor(os.path.dirname(path), os.path.abspath(home), uid)
    if found is not None:
        raise UnsafeFolder(f"{found[0]} above it {found[1]}", OWN_FOLDER)


def open_folder(directory: str, home: str, tighten: bool = False) -> Folder:
    """Open the cache folder if it is safe to use; raise UnsafeFolder if not (FileNotFoundError
    when it does not exist yet). Its ancestors must pass ``unsafe_ancestor``; a symlink to it must
    be ours; the folder itself must be ours, writable by no one else, and 0700: with ``tighten`` an
    own folder others can only read is made 0700; without it (the fast paths) it is refused, for
    the full CLI to tighten."""
    if getattr(os, "geteuid", None) is None:  # Windows: per-user profile folders carry the protection
        if not os.path.isdir(directory):
            raise FileNotFoundError(directory)
        return Folder(directory, None)
    uid = os.geteuid()
    real = resolve_checked(directory, home, uid)
    fd = os.open(real, _DIRECTORY_FLAGS)
    try:
        st = os.fstat(fd)
        if st.st_uid != uid or not stat.S_ISDIR(st.st_mode):
            raise UnsafeFolder("it is not yours", OWN_FOLDER)
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o022 and not only_ours(st, uid):  # what others may have put there is not ours to sort out
            raise UnsafeFolder("it is writable by other users", f"remove it, or chmod 700 {real}")
        if mode & 0o077 and not tighten:
            raise UnsafeFolder("it is open to other users", f"chmod 700 {real}")
        if mode & 0o077:  # readable only (a umask of 022): nothing of theirs can be in it
            os.fchmod(fd, 0o700)
    except BaseException:
        os.close(fd)
        raise
    return Folder(real, fd, mode if mode & 0o077 else None)


def open_or_create(directory: str, home: str) -> Folder:
    """``open_folder`` for the full CLI: a missing folder is made 0700 (after checking the folders
    above it, so none is made where another user decides), an own folder open to others tightened."""
    try:
        return open_folder(directory, home, tighten=True)
    except FileNotFoundError:
        pass
    if hasattr(os, "geteuid"):
        _check_above(os.path.abspath(directory), home, os.geteuid())
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return open_folder(directory, home, tighten=True)
