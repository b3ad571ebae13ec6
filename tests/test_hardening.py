"""No core dumps with secrets: a credproc process that started under `ulimit -c unlimited` shows a
core limit of 0 in /proc/PID/limits and is not dumpable once it has hardened itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CREDPROC, AwsFiles
from tests.support.moto_sts import MotoSTS

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl are Linux's")

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import sys
from credproc import hardening
print(open("/proc/self/limits").read().count("Max core file size"), hardening.dumpable(), flush=True)
sys.stdin.readline()  # the parent has looked
hardening.no_core_dumps()
print("hardened", hardening.dumpable(), flush=True)
sys.stdin.read()  # stay alive while the parent reads /proc/PID/limits
"""


def _core_limits(pid: int) -> list[str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return line.split()[4:6]
    raise AssertionError("no core limit line")


def test_a_process_started_with_unlimited_cores_ends_up_with_none() -> None:
    import resource

    if resource.getrlimit(resource.RLIMIT_CORE)[1] != resource.RLIM_INFINITY:
        pytest.skip("the hard core limit here does not allow `ulimit -c unlimited`")
    bash = shutil.which("bash")
    assert bash is not None
    proc = subprocess.Popen(
        [bash, "-c", 'ulimit -c unlimited && exec "$0" -c "$1"', sys.executable, CHILD],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().split() == ["1", "True"]  # dumpable, cores allowed to start with
        assert _core_limits(proc.pid)[0] == "unlimited"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().split() == ["hardened", "False"]
        assert _core_limits(proc.pid)[0] == "0"
    finally:
        proc.stdin.close()
        proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()
        proc.stdout.close()
    assert proc.returncode == 0


def test_hardening_twice_is_harmless_and_keeps_the_hard_limit() -> None:
    import resource

    code = (
        "import resource; from credproc import hardening; hardening.no_core_dumps(); "
        "hardening.no_core_dumps(); print(*resource.getrlimit(resource.RLIMIT_CORE))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.split() == ["0", str(resource.getrlimit(resource.RLIMIT_CORE)[1])]


# A credential_process helper and an exec --server child that look at their parent, credproc,
# while it runs: its core limit as /proc shows it, then a good answer (the helper) or exit 0.
LOOK_AT_PARENT = (
    "import os, sys; line = [l for l in open(f'/proc/{os.getppid()}/limits') if l.startswith('Max core')][0]; "
    "open(sys.argv[1], 'w').write(line.split()[4])"
)


def _unlimited_cores() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _needs_unlimited_cores() -> None:
    import resource

    if resource.getrlimit(resource.RLIMIT_CORE)[1] != resource.RLIM_INFINITY:
        pytest.skip("the hard core limit here does not allow `ulimit -c unlimited`")


def test_the_slow_path_and_exec_server_keep_no_core_limit(chain: AwsFiles, tmp_path: Path) -> None:
    """credproc itself, started with unlimited cores, as its own children see it."""
    import os

    _needs_unlimited_cores()
    seen = tmp_path / "seen"
    helper = tmp_path / "helper.py"
    helper.write_text(
        LOOK_AT_PARENT + '\nprint(\'{"Version": 1, "AccessKeyId": "AKIAX", "SecretAccessKey": "s"}\')\n'
    )
    chain.write_config(f"[profile helper]\ncredential_process = {sys.executable} {helper} {seen}\n")
    for argv in (
        ["credential-process", "--profile", "helper", "--no-cache"],
        ["exec", "--server", "--profile", "helper", "--", sys.executable, "-c", LOOK_AT_PARENT, str(seen)],
    ):
        seen.unlink(missing_ok=True)
        done = subprocess.run(
            [*CREDPROC, *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            preexec_fn=_unlimited_cores,  # a limit set before exec: no threads in the child yet
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert seen.read_text() == "0", argv


def test_serve_keeps_no_core_limit(chain: AwsFiles, sts: MotoSTS) -> None:
    import os
    import signal

    _needs_unlimited_cores()
    proc = subprocess.Popen(
        [*CREDPROC, "serve", "--profile", "top"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ),
        preexec_fn=_unlimited_cores,  # a limit set before exec: no threads in the child yet
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline()  # serving: the variables to set come once it listens
        assert _core_limits(proc.pid)[0] == "0"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)


def _run(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.split()


def test_elsewhere_than_linux_only_the_core_limit_is_lowered() -> None:
    """macOS and the BSDs have RLIMIT_CORE but not prctl: the platform is passed in, as on Linux
    no other way shows that prctl is skipped (the process stays dumpable)."""
    code = (
        "import resource; from credproc import hardening; hardening.no_core_dumps(platform='darwin'); "
        "print(resource.getrlimit(resource.RLIMIT_CORE)[0], hardening.dumpable(), "
        "hardening.dumpable(platform='darwin'))"
    )
    assert _run(code) == ["0", "True", "None"]


def test_without_the_resource_module_hardening_still_marks_the_process() -> None:
    """Windows has no resource module (and no core files to limit); nothing fails."""
    code = (
        "import sys; sys.modules['resource'] = None; from credproc import hardening; "
        "hardening.no_core_dumps(); print(hardening.dumpable())"
    )
    assert _run(code) == ["False"]
