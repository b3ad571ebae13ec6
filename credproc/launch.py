"""The OS boundary of ``exec``: find the program, then replace credproc (POSIX) or spawn and wait.

Everything that decides (where a program is, how a batch file's command line is quoted, what exit
status to report) is a pure function taking the child's environment and the platform; the few
lines that touch the OS take their primitives as arguments so the Windows branch runs on Linux in
tests. No shell is ever involved, except cmd.exe for a batch file, which Windows itself requires.
"""

from __future__ import annotations

import contextlib
import errno
import ntpath
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from credproc.errors import LaunchError

if TYPE_CHECKING:  # subprocess costs milliseconds on the exec hit path, which never spawns
    import subprocess
    import threading

NOT_EXECUTABLE, NOT_FOUND, FAILED = 126, 127, 125
DEFAULT_PATHEXT = ".COM;.EXE;.BAT;.CMD"
BATCH_SUFFIXES = (".bat", ".cmd")
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP")
# Programs that read env credentials once and never again (exec warns; its fast path steps aside).
DAPR_PROGRAMS = frozenset({"daprd", "dapr"})
# Inside double quotes cmd.exe keeps & | < > ( ) ^ , ; = and spaces literal; it still expands %
# (and ! with delayed expansion), cannot escape a double quote, and ends the line at CR/LF.
BATCH_UNSAFE = re.compile(r'["%!\r\n\x00-\x1f]')
BATCH_NEEDS_QUOTES = re.compile(r"[\s&|<>()^,;=]")


def _get_windows(env: Mapping[str, str], name: str) -> str | None:
    for key, value in env.items():  # Windows variable names are case-insensitive ("Path")
        if key.upper() == name:
            return value
    return None


def find_posix(command: str, env: Mapping[str, str], access: Callable[[str, int], bool] = os.access) -> str:
    """The file ``execvpe`` would run, looked up in the child's PATH; 127/126 as a shell says."""
    if not command:
        raise LaunchError("no command given", NOT_FOUND)
    if "/" in command:
        candidates = [command]
    else:
        path = env.get("PATH", os.defpath)
        candidates = [os.path.join(d or ".", command) for d in path.split(os.pathsep)]
    found_not_executable = None
    for candidate in candidates:
        if os.path.isfile(candidate):
            if access(candidate, os.X_OK):
                return candidate
            found_not_executable = found_not_executable or candidate
        elif os.path.isdir(candidate) and "/" in command:
            raise LaunchError(f"{command}: is a directory", NOT_EXECUTABLE)
    if found_not_executable is not None:
        raise LaunchError(f"{found_not_executable}: permission denied (not executable)", NOT_EXECUTABLE)
    raise LaunchError(
        f"{command}: command not found", NOT_FOUND, None if "/" in command else "check the child's PATH"
    )


def find_windows(
    command: str, env: Mapping[str, str], is_file: Callable[[str], bool] = os.path.isfile
) -> str:
    """Resolve as a Windows shell does, from the child's PATH and PATHEXT, but never the current
    folder for a bare name (a planted ``git.bat`` in a checkout must not run)."""
    if not command:
        raise LaunchError("no command given", NOT_FOUND)
    pathext = _get_windows(env, "PATHEXT") or DEFAULT_PATHEXT
    exts = [e.strip() for e in pathext.split(";") if e.strip()]
    known = {e.lower() for e in exts}

    def variants(base: str) -> list[str]:
        has_ext = ntpath.splitext(base)[1].lower() in known
        return [base] if has_ext else [base + ext for ext in exts]

    if any(sep in command for sep in ("\\", "/", ":")):
        candidates = variants(command)
    else:
        dirs = [d.strip().strip('"') for d in (_get_windows(env, "PATH") or "").split(";")]
        candidates = [c for d in dirs if d for c in variants(_join(d, command))]
    for candidate in candidates:
        if is_file(candidate):
            return candidate
    raise LaunchError(
        f"{command}: command not found",
        NOT_FOUND,
        "check the child's PATH and PATHEXT (the current folder is not searched)",
    )


def _join(folder: str, name: str) -> str:
    """Windows takes both separators; keep the one the PATH entry uses (``C:/tools`` from MSYS)."""
    if "/" in folder and "\\" not in folder:
        return folder.rstrip("/") + "/" + name
    return ntpath.join(folder, name)


def is_batch(path: str) -> bool:
    return path.lower().endswith(BATCH_SUFFIXES)


def batch_command_line(path: str, args: Sequence[str], comspec: str) -> str:
    """``cmd.exe /d /v:off /s /c ""path" args"`` with every part safe for cmd's parser, or refuse.

    cmd.exe re-parses a batch file's command line with its own rules (the flaw behind
    CVE-2024-24576 in several languages' spawn functions); quoting for CreateProcess is not enough.
    """
    for i, part in enumerate([path, *args]):
        if BATCH_UNSAFE.search(part):
            what = "the batch file's path" if i == 0 else f"argument {i}"
            raise LaunchError(
                f"refusing to run a batch file: {what} contains a character cmd.exe cannot take "
                'safely (" % ! or a control character)',
                FAILED,
                "call the program the .bat/.cmd wraps directly, or pass the value in a variable",
            )
    quoted = [_batch_quote(a) for a in args]
    inner = " ".join([f'"{path}"', *quoted])
    return f'"{comspec}" /d /v:off /s /c "{inner}"'


def _batch_quote(arg: str) -> str:
    return f'"{arg}"' if not arg or BATCH_NEEDS_QUOTES.search(arg) else arg


def exit_status(returncode: int, windows: bool) -> int:
    """The status to exit with: a signal death as 128+N (as a shell reports it); a Windows
    NTSTATUS such as 0xC000013A as the signed value ExitProcess gives back."""
    if returncode < 0 and not windows:
        return 128 - returncode
    if windows and returncode >= 2**31:
        return returncode - 2**32
    return returncode


def exec_posix(
    path: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    execve: Callable[[str, list[str], dict[str, str]], Any] | None = None,
) -> NoReturn:
    """Replace credproc with the child: its pid, signals and exit status become the child's."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        (execve or os.execve)(path, list(argv), dict(env))
    except OSError as exc:
        code = NOT_FOUND if exc.errno == errno.ENOENT else NOT_EXECUTABLE
        raise LaunchError(f"cannot run {path}: {exc.strerror}", code) from None
    raise LaunchError(f"cannot run {path}", NOT_EXECUTABLE)  # only a stubbed execve returns


def _in_terminal_foreground() -> bool:
    """True when the terminal's Ctrl+C reaches our process group, and so the child already."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


class _Relay:
    """A signal handler for a child that may not exist yet.

    The handlers go in before the child starts: a signal sent as soon as the child is visible (a
    supervisor that stops a service right after its "ready" line) must not find credproc with the
    default disposition, which kills credproc and leaves the child running, orphaned, still holding
    the caller's pipes. A signal that arrives before the child exists is held and passed on as soon
    as it does. Handlers run in the main thread only, between bytecodes, so no lock is needed.
    """

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []

    def __call__(self, signum: int, frame: object) -> None:
        if self.child is None:
            self.pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            self.child.send_signal(signum)

    def attach(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        while self.pending:
            self(self.pending.pop(0), None)


def start_without_signals(thread: threading.Thread) -> None:
    """Start ``thread`` with the relayed signals blocked in it, and so in every thread it starts.

    The kernel hands a signal sent to the process to any one thread that does not block it, and
    Python runs its handlers in the main thread only, between bytecodes. A SIGTERM taken by the
    credentials server's thread while the main thread sat in waitpid() therefore waited there until
    the child exited on its own (CI saw ``exec --server`` ignore SIGTERM, and once SIGHUP, for 20 s
    under load). With the signals blocked in every other thread, the main thread takes them: its
    wait is interrupted and the relay runs at once. Windows has no signal masks (and needs none:
    the child shares credproc's console)."""
    if not hasattr(signal, "pthread_sigmask"):
        thread.start()
        return
    signums = {getattr(signal, name) for name in FORWARDED if hasattr(signal, name)}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    try:
        thread.start()  # a new thread starts with its creator's mask
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _drop(signum: int, frame: object) -> None:
    """SIGINT the terminal sent to the whole process group, the child included: nothing to do.
    A handler, not SIG_IGN, so the child does not inherit an ignored SIGINT across exec."""


@contextlib.contextmanager
def _signals_handled(plan: dict[str, Any]) -> Iterator[None]:
    previous: dict[int, Any] = {}
    try:
        for name, action in plan.items():
            signum = getattr(signal, name, None)
            if signum is not None:
                previous[signum] = signal.signal(signum, action)
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _posix_plan(relay: _Relay) -> dict[str, Any]:
    """POSIX: pass SIGINT/SIGTERM/SIGHUP on to the child (SIGINT only when it did not come from
    the terminal, which sent it to the child already)."""
    plan: dict[str, Any] = dict.fromkeys(FORWARDED, relay)
    if _in_terminal_foreground():
        plan["SIGINT"] = _drop
    return plan


# Windows: ignore Ctrl+C and Ctrl+Break in credproc while the child, on the same console, handles
# them. Set once the child runs, as before: an ignored Ctrl+C could be inherited by the child.
WINDOWS_PLAN = {"SIGINT": signal.SIG_IGN, "SIGBREAK": signal.SIG_IGN}


def spawn_and_wait(
    path: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    windows: bool,
    popen: Callable[..., subprocess.Popen[bytes]] | None = None,
) -> int:
    """Start the child, relay signals while it runs, return the status credproc should exit with."""
    if windows and is_batch(path):
        comspec = _get_windows(env, "COMSPEC") or r"C:\Windows\System32\cmd.exe"
        args: Any = batch_command_line(path, argv[1:], comspec)
        executable = comspec
    else:
        args, executable = list(argv), path
    sys.stdout.flush()
    sys.stderr.flush()
    if popen is None:
        import subprocess

        popen = subprocess.Popen
    if windows:
        child = _start(popen, args, executable, env, path)
        with _signals_handled(WINDOWS_PLAN):
            return exit_status(child.wait(), windows)
    relay = _Relay()
    with _signals_handled(_posix_plan(relay)):  # before the child exists: see _Relay
        child = _start(popen, args, executable, env, path)
        relay.attach(child)
        return exit_status(child.wait(), windows)


def _start(
    popen: Callable[..., subprocess.Popen[bytes]],
    args: Any,
    executable: str,
    env: Mapping[str, str],
    path: str,
) -> subprocess.Popen[bytes]:
    try:
        return popen(args, executable=executable, env=dict(env))
    except FileNotFoundError as exc:
        raise LaunchError(f"cannot run {path}: {exc.strerror}", NOT_FOUND) from None
    except OSError as exc:
        raise LaunchError(f"cannot run {path}: {exc.strerror}", NOT_EXECUTABLE) from None
