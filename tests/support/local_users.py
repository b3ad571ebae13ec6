"""Real second (and third) local users for the attacks that need one, and a credproc they can run.

Needs root (CI runs as root; on a laptop the tests skip, through ``require``). Each user is made
with ``useradd`` for one test and removed after it, also when the test fails; users a killed run
left behind (their name carries the pid of the run that made them) are removed by the next run.
Commands run as a user through ``setpriv`` (no PAM session, no login shell: just the uid, gid and
no supplementary groups).

The pyenv interpreters live under /root, which no other user can enter, so a user runs credproc
with Debian's ``/usr/bin/python3``: a venv made from it, with credproc's dependencies installed from
this checkout's pyproject.toml, is kept under /var/cache/credproc-venvs keyed by a hash of that
file (made once per dependency change, as .ci/install.d/60-pythons.sh keeps its venvs), and the code
itself is copied fresh for each session into a folder every user can read, first on PYTHONPATH,
so what runs is this checkout's code, not the copy the venv was made with.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import hashlib
import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.world import require

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
VENV_CACHE = Path(os.environ.get("CREDPROC_VENV_CACHE", "/var/cache/credproc-venvs"))
NAME_PREFIX = "credproc-t"
NAME = re.compile(rf"^{NAME_PREFIX}(\d+)-\d+$")
USER_TIMEOUT = 60
_serial = itertools.count()


def require_users() -> None:
    """Skip (laptop) or fail (CI) unless this run can make users and run commands as them."""
    missing = [tool for tool in ("useradd", "userdel", "setpriv") if shutil.which(tool) is None]
    require("root", hasattr(os, "geteuid") and os.geteuid() == 0, "making a second local user needs root")
    require("useradd, userdel and setpriv", not missing, f"{', '.join(missing)} not found")
    require(SYSTEM_PYTHON, os.access(SYSTEM_PYTHON, os.X_OK), "a Python another user can run")


@dataclass(frozen=True)
class LocalUser:
    name: str
    uid: int
    gid: int

    def argv(self, command: Sequence[str]) -> list[str]:
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--", *command]

    def run(
        self, command: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = USER_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(command),
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def start(
        self, command: Sequence[str], env: Mapping[str, str], cwd: Path, **kwargs: Any
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(command), env=dict(env), cwd=cwd, text=True, **kwargs)

    def own(self, path: Path, mode: int) -> Path:
        os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)
        return path

    def folder(self, path: Path, mode: int) -> Path:
        """A new folder at ``path``, this user's, with ``mode``."""
        path.mkdir()
        return self.own(path, mode)


def _remove(name: str) -> None:
    """The user and its own group (userdel keeps a group another user was added to)."""
    for command in (["userdel", name], ["groupdel", name]):
        subprocess.run(command, capture_output=True, check=False, timeout=USER_TIMEOUT)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_leftovers() -> None:
    names = {entry.pw_name for entry in pwd.getpwall()} | {entry.gr_name for entry in grp.getgrall()}
    for name in sorted(names):
        found = NAME.match(name)
        if found and not _alive(int(found.group(1))):
            _remove(name)


@contextlib.contextmanager
def local_users(count: int) -> Iterator[list[LocalUser]]:
    """``count`` new unprivileged users, removed on the way out whatever happened."""
    require_users()
    _sweep_leftovers()
    made: list[str] = []
    try:
        users = []
        for _ in range(count):
            name = f"{NAME_PREFIX}{os.getpid()}-{next(_serial)}"
            _remove(name)  # a leftover of a reused pid
            subprocess.run(
                ["useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
                capture_output=True,
                text=True,
                check=True,
                timeout=USER_TIMEOUT,
            )
            made.append(name)
            entry = pwd.getpwnam(name)
            users.append(LocalUser(name, entry.pw_uid, entry.pw_gid))
        yield users
    finally:
        for name in made:
            _remove(name)


@contextlib.contextmanager
def shared_folder() -> Iterator[Path]:
    """A folder every user can enter (root's, 0755, in /tmp), removed with all it holds after."""
    base = Path(tempfile.mkdtemp(prefix="credproc-users-", dir="/tmp"))
    try:
        base.chmod(0o755)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _deps_key() -> str:
    version = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return f"py{version}-" + hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:12]


def user_venv() -> Path:
    """The python of a venv every user can run, with credproc's dependencies (made once per
    pyproject.toml; later runs find it complete)."""
    folder = VENV_CACHE / f"users-{_deps_key()}"
    python = folder / "bin" / "python"
    if (folder / ".complete").exists():
        return python
    VENV_CACHE.mkdir(parents=True, exist_ok=True)
    with open(VENV_CACHE / f"{folder.name}.lock", "w") as lock:  # xdist workers: one builds, one waits
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(folder)], check=True, capture_output=True)
            # The package from this checkout, for its dependencies (the code itself comes from
            # user_code(), fresh each session).
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", str(REPO)],
                check=True,
                capture_output=True,
                timeout=900,
            )
            _readable_by_all(folder)
            (folder / ".complete").touch()
    return python


def user_code(base: Path, python: Path) -> Path:
    """A copy of this checkout's credproc package under ``base``, compiled by ``python`` (a user
    could not write its __pycache__) and readable by every user: the folder for PYTHONPATH."""
    target = base / "code"
    shutil.copytree(REPO / "credproc", target / "credproc", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([str(python), "-m", "compileall", "-q", str(target)], check=True, capture_output=True)
    _readable_by_all(target)
    return target


def _readable_by_all(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
    os.chmod(folder, 0o755)
