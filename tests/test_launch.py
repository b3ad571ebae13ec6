"""The OS boundary: program lookup, batch-file quoting, exit statuses, spawn and exec."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from credproc import launch
from credproc.errors import LaunchError


def make_exe(path: Path, body: str = "#!/bin/sh\nexit 0\n", mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(mode)
    return path


def test_posix_lookup_uses_the_childs_path_in_order(tmp_path: Path) -> None:
    first = make_exe(tmp_path / "a" / "tool")
    make_exe(tmp_path / "b" / "tool")
    env = {"PATH": f"{tmp_path / 'missing'}:{tmp_path / 'a'}:{tmp_path / 'b'}"}
    assert launch.find_posix("tool", env) == str(first)


def test_posix_lookup_skips_a_non_executable_match_but_126_if_it_is_the_only_one(tmp_path: Path) -> None:
    make_exe(tmp_path / "a" / "tool", mode=0o644)
    good = make_exe(tmp_path / "b" / "tool")
    assert launch.find_posix("tool", {"PATH": f"{tmp_path / 'a'}:{tmp_path / 'b'}"}) == str(good)
    with pytest.raises(LaunchError) as info:
        launch.find_posix("tool", {"PATH": str(tmp_path / "a")})
    assert info.value.exit_code == 126


@pytest.mark.parametrize(("command", "code"), [("nope-not-here", 127), ("./missing", 127), ("", 127)])
def test_posix_lookup_reports_127_for_missing_programs(command: str, code: int, tmp_path: Path) -> None:
    with pytest.raises(LaunchError) as info:
        launch.find_posix(command, {"PATH": str(tmp_path)})
    assert info.value.exit_code == code


def test_posix_lookup_reports_126_for_a_directory(tmp_path: Path) -> None:
    with pytest.raises(LaunchError) as info:
        launch.find_posix(str(tmp_path), {})
    assert info.value.exit_code == 126


def same(found: str, expected: str) -> bool:
    return found.lower() == expected.lower()  # Windows file names are case-insensitive


def _files(*paths: str) -> Any:
    known = {p.lower() for p in paths}
    return lambda path: path.lower() in known


def test_windows_lookup_follows_path_and_pathext_of_the_childs_env() -> None:
    env = {"Path": r"C:\Tools;C:\Dapr\bin", "PATHEXT": ".COM;.EXE;.BAT;.CMD"}
    is_file = _files(r"C:\Dapr\bin\daprd.exe", r"C:\Tools\daprd.txt")
    assert same(launch.find_windows("daprd", env, is_file), r"C:\Dapr\bin\daprd.exe")
    assert same(launch.find_windows("daprd.exe", env, is_file), r"C:\Dapr\bin\daprd.exe")
    assert same(launch.find_windows(r"C:\Dapr\bin\daprd", env, is_file), r"C:\Dapr\bin\daprd.exe")


def test_windows_lookup_prefers_extension_order_and_finds_batch_files() -> None:
    env = {"PATH": r"C:\bin", "PATHEXT": ".EXE;.CMD"}
    npm_cmd, npm_exe = r"C:\bin\npm.cmd", r"C:\bin\npm.exe"
    assert same(launch.find_windows("npm", env, _files(npm_cmd, r"C:\bin\npm")), npm_cmd)
    assert same(launch.find_windows("npm", env, _files(npm_exe, npm_cmd)), npm_exe)


def test_windows_lookup_never_searches_the_current_folder_for_a_bare_name() -> None:
    with pytest.raises(LaunchError) as info:
        launch.find_windows("git", {"PATH": r"C:\bin"}, _files(r".\git.bat", r"git.bat"))
    assert info.value.exit_code == 127
    assert same(launch.find_windows(r".\git", {"PATH": ""}, _files(r".\git.bat")), r".\git.bat")


def test_windows_lookup_keeps_the_separator_of_a_forward_slash_path_entry() -> None:
    found = launch.find_windows("node", {"PATH": "C:/tools/"}, _files("C:/tools/node.EXE"))
    assert found == "C:/tools/node.EXE"


def test_windows_lookup_defaults_pathext_and_reports_127() -> None:
    assert same(launch.find_windows("x", {"PATH": r"C:\b"}, _files(r"C:\b\x.COM")), r"c:\b\x.com")
    with pytest.raises(LaunchError) as info:
        launch.find_windows("", {}, _files())
    assert info.value.exit_code == 127


def test_batch_command_line_quotes_metacharacters_for_cmd() -> None:
    line = launch.batch_command_line(
        r"C:\dapr\run.cmd", ["start", "a b", "x&calc", "", "(y)"], r"C:\Windows\system32\cmd.exe"
    )
    assert line == (
        r'"C:\Windows\system32\cmd.exe" /d /v:off /s /c ""C:\dapr\run.cmd" start "a b" '
        r'"x&calc" "" "(y)""'
    )


@pytest.mark.parametrize("arg", ['"&calc"', "%PATH%", "!x!", "a\nb", "a\rb", "a\x00b"])
def test_batch_arguments_cmd_cannot_take_safely_are_refused(arg: str) -> None:
    with pytest.raises(LaunchError) as info:
        launch.batch_command_line(r"C:\x.bat", ["ok", arg], "cmd.exe")
    assert info.value.exit_code == 125
    assert "argument 2" in info.value.message
    assert arg not in info.value.message


@pytest.mark.parametrize(
    ("returncode", "windows", "status"),
    [
        (0, False, 0),
        (3, False, 3),
        (-15, False, 143),
        (-9, False, 137),
        (-2, False, 130),
        (0xC000013A, True, 0xC000013A - 2**32),
        (1, True, 1),
    ],
)
def test_exit_status_reports_signals_as_a_shell_and_ntstatus_signed(
    returncode: int, windows: bool, status: int
) -> None:
    assert launch.exit_status(returncode, windows) == status


class RecordingPopen:
    """Stands in for CreateProcess on Linux: records what Windows would be asked to run."""

    def __init__(self, returncode: int) -> None:
        self.returncode, self.calls = returncode, []  # type: ignore[var-annotated]

    def __call__(self, args: Any, **kwargs: Any) -> RecordingPopen:
        self.calls.append((args, kwargs))
        self.sigint_during_wait = signal.getsignal(signal.SIGINT)
        return self

    def wait(self) -> int:
        self.sigint_during_wait = signal.getsignal(signal.SIGINT)
        return self.returncode

    def send_signal(self, signum: int) -> None:  # pragma: no cover - never called on Windows
        raise AssertionError


def test_windows_spawn_runs_batch_files_through_cmd_with_safe_quoting_and_ignores_ctrl_c() -> None:
    popen = RecordingPopen(0xC000013A)
    before = signal.getsignal(signal.SIGINT)
    env = {"ComSpec": r"C:\Windows\system32\cmd.exe", "AWS_REGION": "x"}
    status = launch.spawn_and_wait(
        r"C:\dapr\dapr.cmd",
        ["dapr", "run", "a b"],
        env,
        windows=True,
        popen=popen,  # type: ignore[arg-type]
    )
    args, kwargs = popen.calls[0]
    assert args == r'"C:\Windows\system32\cmd.exe" /d /v:off /s /c ""C:\dapr\dapr.cmd" run "a b""'
    assert kwargs["executable"] == r"C:\Windows\system32\cmd.exe"
    assert kwargs["env"] == env
    assert popen.sigint_during_wait is signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is before
    assert status == 0xC000013A - 2**32


def test_windows_spawn_passes_an_argument_list_for_programs() -> None:
    popen = RecordingPopen(7)
    status = launch.spawn_and_wait(
        r"C:\d\daprd.exe",
        ["daprd", "--app-id", "a"],
        {},
        windows=True,
        popen=popen,  # type: ignore[arg-type]
    )
    assert popen.calls[0][0] == ["daprd", "--app-id", "a"]
    assert popen.calls[0][1]["executable"] == r"C:\d\daprd.exe"
    assert status == 7


def test_spawn_reports_a_program_that_cannot_start(tmp_path: Path) -> None:
    script = make_exe(tmp_path / "noexec", "#!/nonexistent/interpreter\n")
    with pytest.raises(LaunchError) as info:
        launch.spawn_and_wait(str(script), ["noexec"], dict(os.environ), windows=False)
    assert info.value.exit_code == 127
    binary = make_exe(tmp_path / "garbage", "\x7fELF garbage")
    with pytest.raises(LaunchError) as info:
        launch.spawn_and_wait(str(binary), ["garbage"], dict(os.environ), windows=False)
    assert info.value.exit_code == 126


def test_posix_spawn_forwards_sigterm_to_the_child_and_reports_its_status(tmp_path: Path) -> None:
    marker = tmp_path / "got-term"
    child = (
        f"import signal, sys, os, time\n"
        f"def bye(*a):\n    open({str(marker)!r}, 'w').close(); sys.exit(42)\n"
        f"signal.signal(signal.SIGTERM, bye)\n"
        f"os.kill(os.getppid(), signal.SIGTERM)\n"
        f"time.sleep(20)\nsys.exit(1)\n"
    )
    status = launch.spawn_and_wait(
        sys.executable, [sys.executable, "-c", child], dict(os.environ), windows=False
    )
    assert status == 42
    assert marker.exists()


def test_exec_posix_hands_the_exact_argv_and_env_to_execve() -> None:
    seen: list[Any] = []
    with pytest.raises(LaunchError):
        launch.exec_posix("/bin/true", ["true", "a b"], {"A": "1"}, execve=lambda *args: seen.append(args))
    assert seen == [("/bin/true", ["true", "a b"], {"A": "1"})]


@pytest.mark.parametrize(
    ("error", "code"),
    [(FileNotFoundError(2, "No such file"), 127), (PermissionError(13, "Permission denied"), 126)],
)
def test_exec_posix_maps_execve_errors(error: OSError, code: int) -> None:
    def fail(*args: Any) -> None:
        raise error

    with pytest.raises(LaunchError) as info:
        launch.exec_posix("/x", ["x"], {}, execve=fail)
    assert info.value.exit_code == code


def test_in_terminal_foreground_is_false_without_a_terminal() -> None:
    code = "from credproc import launch; print(launch._in_terminal_foreground())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, start_new_session=True, check=True
    )
    assert done.stdout.strip() == "False"


SIGINT_FROM_CHILD = """
import signal, sys
from credproc import launch
child = "import os, signal, time; os.kill(os.getppid(), signal.SIGINT); time.sleep(0.5)"
print("foreground", launch._in_terminal_foreground())
print("status", launch.spawn_and_wait(sys.executable, [sys.executable, "-c", child], {}, windows=False))
"""


def test_sigint_is_not_sent_twice_when_the_terminal_already_delivered_it() -> None:
    import pexpect

    term = pexpect.spawn(sys.executable, ["-c", SIGINT_FROM_CHILD], env=dict(os.environ), timeout=20)
    term.expect(pexpect.EOF)
    out = term.before.decode().replace("\r", "")
    assert "foreground True\nstatus 0\n" in out  # ignored by credproc; the child carried on


def test_sigint_is_forwarded_when_it_did_not_come_from_a_terminal() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SIGINT_FROM_CHILD],
        capture_output=True,
        text=True,
        start_new_session=True,
        timeout=20,
        check=True,
    )
    assert done.stdout == "foreground False\nstatus 130\n"  # the child died of the forwarded SIGINT


SIGNAL_AT_SPAWN = """
import os, signal, subprocess, sys
from credproc import launch
def popen(*args, **kwargs):
    child = subprocess.Popen(*args, **kwargs)
    os.kill(os.getpid(), signal.{sig})  # the child exists; credproc is not back from starting it
    return child
sleeper = [sys.executable, "-c", "import time; time.sleep(20)"]
print("status", launch.spawn_and_wait(sys.executable, sleeper, {{}}, windows=False, popen=popen))
"""


@pytest.mark.parametrize("sig", ["SIGHUP", "SIGTERM"])
def test_a_signal_sent_as_the_child_starts_is_forwarded_not_fatal_to_credproc(sig: str) -> None:
    """The race behind a test that once hung: a signal between the child's start and the handlers
    must reach the child (which dies of it), not kill credproc and orphan the child."""
    done = subprocess.run(
        [sys.executable, "-c", SIGNAL_AT_SPAWN.format(sig=sig)],
        capture_output=True,
        text=True,
        start_new_session=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"status {128 + getattr(signal, sig)}\n"
