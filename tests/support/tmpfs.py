"""A small tmpfs mounted for one test (root only, as in CI), which never outlives it.

A mount left behind makes pytest warn at every later start that it cannot delete the test's
folder (EBUSY). So the teardown detaches a busy mount lazily (the kernel frees it when the last
file there closes), and before mounting, a tmpfs that a run killed mid-test left inside a garbage-*
folder is detached: SIGKILL skips every teardown, and pytest renames only the folders of finished
runs to garbage-*, so such a mount belongs to no live run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require


@contextlib.contextmanager
def mounted(target: Path, options: str, what: str) -> Iterator[Path]:
    """``target`` (an empty folder) with a tmpfs of ``options`` on it; skips without root."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    _unmount_abandoned(target)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True, check=False
    )
    require(what, done.returncode == 0, done.stderr.decode(errors="replace"))
    try:
        yield target
    finally:
        unmount(target)


def unmount(target: Path) -> None:
    if subprocess.run(["umount", str(target)], capture_output=True, check=False).returncode != 0:
        subprocess.run(["umount", "--lazy", str(target)], capture_output=True, check=True)


def _unmount_abandoned(target: Path) -> None:
    root = next((p for p in target.parents if p.name.startswith("pytest-of-")), None)
    if root is None:  # a --basetemp of the caller's own: no earlier runs to look at
        return
    with open("/proc/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[2] == "tmpfs"]
    for point in points:
        if point.startswith(f"{root}{os.sep}garbage-"):
            subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
