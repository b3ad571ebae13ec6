"""Wine for the tests that run Windows programs (tests/test_wine_cmd.py, tests/test_wine_daprd.py):
where wine and the test prefix are, a private copy of the prefix for a test that must stop every
wine process it started, and a Linux path as a Windows program names it.

.ci/install.d/55-wine.sh makes the prefix under /var/cache/credproc-wine, keyed by wine's version
and the ProcessPrng shim it builds into it, and exports its path as CREDPROC_WINEPREFIX; without it
the tests compute the same path. Read at import: the hermetic_env fixture removes every CREDPROC_*
variable before a test runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
WINE = shutil.which("wine")
WINESERVER = shutil.which("wineserver")
INSTALL_HINT = "apt-get install wine wine64 (see .ci/install.d/55-wine.sh)"


def source_key(*paths: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()


def _default_prefix() -> str:
    version = subprocess.run([WINE or "wine", "--version"], capture_output=True, text=True).stdout
    shim = source_key(REPO / "tests/go/winshim/bcryptprimitives.c")[:8]
    return f"/var/cache/credproc-wine/{re.sub(r'[^A-Za-z0-9.~+-]', '', version)}-{shim}"


WINEPREFIX = os.environ.get("CREDPROC_WINEPREFIX") or (_default_prefix() if WINE else "")


def prefix_ready() -> bool:
    """The machine's test prefix is whole (55-wine.sh marks it when it is)."""
    return bool(WINEPREFIX) and (Path(WINEPREFIX) / ".complete").is_file()


def windows_path(path: Path) -> str:
    """How a Windows program under wine names a Linux path: wine maps drive Z: to /."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


def _is_image(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"MZ"


def private_prefix(dest: Path) -> Path:
    """A copy of the machine's prefix at dest, with its own wineserver once a program starts in it,
    so that a test can stop every wine process it started (``stop``) without touching another
    test's. Windows images (DLLs, EXEs: 690 MB, only ever read) are hard links into the cached
    prefix where the file system allows; the registry and every other file are copies (wineserver
    rewrites the registry files when it exits)."""

    def copy(src: str, dst: str) -> str:
        if _is_image(Path(src)):
            with contextlib.suppress(OSError):
                os.link(src, dst)
                return dst
        return str(shutil.copy2(src, dst))

    shutil.copytree(WINEPREFIX, dest, symlinks=True, copy_function=copy)
    return dest


def env(prefix: Path, debug: str = "-all") -> dict[str, str]:
    """The variables wine needs for prefix; winemenubuilder (desktop menu entries) is off."""
    return {"WINEPREFIX": str(prefix), "WINEDEBUG": debug, "WINEDLLOVERRIDES": "winemenubuilder.exe=d"}


def processes(prefix: Path) -> list[int]:
    """The processes running in prefix: wine's own (wineserver, services.exe...) and the programs,
    all of which carry WINEPREFIX in their environment."""
    mark = f"WINEPREFIX={prefix}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if mark in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
    return sorted(found)


def stop(prefix: Path, within: float = 30.0) -> list[int]:
    """``wineserver -k`` for prefix, then wait for its processes to be gone; SIGKILL whatever is left
    after ``within`` seconds and return those pids (empty: everything stopped when asked)."""
    if WINESERVER is not None and processes(prefix):
        subprocess.run(
            [WINESERVER, "-k"],
            env={"PATH": "/usr/bin:/bin", **env(prefix)},
            capture_output=True,
            timeout=within,
            check=False,
        )
    deadline = time.monotonic() + within
    while (left := processes(prefix)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return left
