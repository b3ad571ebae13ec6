"""Another ``credential_process`` as a source, run without a shell, with a loop guard.

A command that runs credproc itself for a profile is recognised and resolved in this process
instead (no fork, and loops are seen directly). Any other command gets ``CREDPROC_RESOLVING`` in
its environment, so a credproc it starts further down can still see the loop.

The helper is not trusted: it runs in its own process group (handed the terminal when credproc
has it, so a prompt of its own still works), its output is capped at ``OUTPUT_LIMIT``, and at the
time limit the whole group is killed, so a grandchild holding stdout or stderr cannot keep the
caller waiting. credproc's secret variables are not passed on, and no error repeats what the
helper printed or its command line beyond the program's name (either may hold a secret).
"""

from __future__ import annotations

import contextlib
import json
import ntpath
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from credproc.credentials import Credentials, from_process_dict
from credproc.envbuild import SECRET_VARS
from credproc.errors import ConfigError, Interrupted, NeedsHumanError, UpstreamError
from credproc.platform import is_windows
from credproc.sources.base import Context, SourceDefaults

GUARD_VAR = "CREDPROC_RESOLVING"
GUARD_SEP = "\x1f"
TIMEOUT_SECONDS = 55  # under the Go SDK's 60 s limit for the whole credential_process
OUTPUT_LIMIT = 1 << 20  # a credential_process answer is a few KiB; more is refused, not buffered


def split_command(command: str, windows: bool | None = None) -> list[str]:
    windows = is_windows() if windows is None else windows
    try:
        parts = shlex.split(command, posix=not windows)
    except ValueError as exc:
        raise ConfigError(f"cannot parse credential_process: {exc}") from None
    # posix=False keeps a token's double quotes; Windows (and botocore there) drops them.
    return [p[1:-1] if windows and len(p) > 1 and p[0] == p[-1] == '"' else p for p in parts]


def credproc_target(argv: list[str], environ: Mapping[str, str]) -> str | None:
    """The profile a command asks credproc for, or None when it is not ``credproc credential-process``
    with nothing but a profile (and flags that do not change the answer)."""
    rest = credproc_arguments(argv)
    if not rest or rest[0] != "credential-process":
        return None
    from credproc import cachekey, flags
    from credproc.profiles import selected_profile

    # Every flag click reads, --no-cache included: it changes where the answer comes from, not which.
    parsed = flags.parse(flags.CREDENTIAL_PROCESS, rest[1:], hit_only=False)
    if parsed is None or set(parsed[0]) - {"profile"} - cachekey.NON_ANSWER:
        return None
    return selected_profile(parsed[0].get("profile"), environ)


def credproc_arguments(argv: list[str]) -> list[str] | None:
    """The arguments after the program when ``argv`` runs credproc (``credproc ...`` or
    ``python -m credproc ...``), else None."""
    if not argv:
        return None
    prog = (ntpath if is_windows() else os.path).basename(argv[0]).lower()
    if prog in ("credproc", "credproc.exe"):
        return argv[1:]
    if prog.startswith("python") and argv[1:3] == ["-m", "credproc"]:
        return argv[3:]
    return None


def guard_stack(environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = environ.get(GUARD_VAR, "")
    return tuple(p for p in raw.split(GUARD_SEP) if p)


@dataclass(frozen=True)
class ProcessSource(SourceDefaults):
    profile: str
    command: str
    path: tuple[str, ...] = ()  # the profiles resolved above and including this one
    kind = "credential-process"

    @property
    def identity(self) -> str:
        return f"process\0{self.profile}\0{self.command}"

    def fetch(self, ctx: Context) -> Credentials:
        argv = split_command(self.command)
        env = {name: value for name, value in ctx.environ.items() if name not in SECRET_VARS}
        # Everything being resolved, so a credproc started below sees the loop before it locks.
        env[GUARD_VAR] = GUARD_SEP.join((*ctx.stack, *(self.path or (self.profile,))))
        what = f"credential_process of profile {self.profile!r}"
        try:
            returncode, stdout = run_helper(argv, env, what)
        except FileNotFoundError:
            raise ConfigError(f"{what}: command not found: {argv[0]}") from None
        except PermissionError:
            raise ConfigError(f"{what}: not executable: {argv[0]}") from None
        if not is_windows() and returncode == -signal.SIGINT:  # Ctrl+C reached only its group
            raise Interrupted("interrupted")
        if returncode == NeedsHumanError.exit_code:
            raise NeedsHumanError(f"{what} needs a person to act (exit 4)")
        if returncode == ConfigError.exit_code:
            raise ConfigError(f"{what} failed with exit code 1 (bad input, see above)")
        if returncode != 0:
            raise UpstreamError(f"{what} failed with exit code {returncode}")
        try:
            data = json.loads(stdout)
        except (ValueError, RecursionError):
            raise UpstreamError(f"{what} printed something that is not JSON") from None
        return from_process_dict(data, what)

    def describe(self) -> list[str]:
        return [f"run credential_process: {program_label(self.command)}"]

    def details(self) -> dict[str, str]:
        return {"program": program_name(self.command)}

    def botocore_method(self) -> str | None:
        return "custom-process"


def program_label(command: str) -> str:
    """The command line as shown in listings and errors: the program's name only, since the
    arguments may carry a password."""
    name, has_arguments = _program(command)
    return name + (" …" if has_arguments else "")


def program_name(command: str) -> str:
    """The base name of the program a command line runs, without any of its arguments."""
    return _program(command)[0]


def _program(command: str) -> tuple[str, bool]:
    """The program's base name (a placeholder in parentheses for a line that cannot be parsed or
    is empty), and whether arguments follow it."""
    try:
        argv = split_command(command)
    except ConfigError:
        return "(a command line that cannot be parsed)", False
    if not argv:
        return "(an empty command line)", False
    return (ntpath if is_windows() else os.path).basename(argv[0]) or argv[0], len(argv) > 1


def run_helper(argv: list[str], env: Mapping[str, str], what: str) -> tuple[int, bytes]:
    """Run ``argv`` in its own process group; its exit code and (at most OUTPUT_LIMIT bytes of)
    stdout. At the time limit, or past the limit of output, the whole group is killed."""
    proc = subprocess.Popen(
        argv, env=dict(env), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, **_own_group()
    )
    assert proc.stdout is not None  # noqa: S101 - stdout=PIPE
    chunks: list[bytes] = []
    too_much = threading.Event()
    reader = threading.Thread(target=_read_capped, args=(proc.stdout, chunks, too_much), daemon=True)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with _terminal_for(proc):
        reader.start()
        reader.join(max(0.0, deadline - time.monotonic()))  # until EOF, too much, or the deadline
        try:
            if too_much.is_set():
                _kill_group(proc)
                raise UpstreamError(f"{what} printed more than {OUTPUT_LIMIT // (1 << 20)} MiB")
            if reader.is_alive():
                _kill_group(proc)
                raise UpstreamError(f"{what} did not answer within {TIMEOUT_SECONDS}s")
            try:
                returncode = proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                raise UpstreamError(f"{what} did not answer within {TIMEOUT_SECONDS}s") from None
        finally:
            proc.stdout.close()
    return returncode, b"".join(chunks)


def _read_capped(stream: Any, chunks: list[bytes], too_much: threading.Event) -> None:
    size = 0
    with contextlib.suppress(OSError, ValueError):  # closed under us after a kill
        while True:
            chunk = stream.read1(65536)
            if not chunk:
                return
            size += len(chunk)
            if size > OUTPUT_LIMIT:
                too_much.set()
                return
            chunks.append(chunk)


def _own_group() -> dict[str, Any]:
    if is_windows():
        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    if sys.version_info >= (3, 11):
        return {"process_group": 0}
    return {"preexec_fn": os.setpgrp}  # pragma: no cover - Python 3.10


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if is_windows():
        with contextlib.suppress(OSError):
            proc.kill()
    else:
        with contextlib.suppress(OSError):  # already gone
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


@contextlib.contextmanager
def _terminal_for(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """While the helper runs, its group is the terminal's foreground group if credproc's was, so
    the helper can prompt (a background group reading the terminal would be stopped)."""
    fd = _foreground_terminal()
    if fd is None:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(fd, proc.pid)
            os.killpg(proc.pid, signal.SIGCONT)  # in case it was stopped reading before the handover
        yield
    finally:
        # credproc is a background group now: taking the terminal back must not stop it (SIGTTOU).
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
        try:
            with contextlib.suppress(OSError):
                os.tcsetpgrp(fd, os.getpgrp())
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            os.close(fd)


def _foreground_terminal() -> int | None:
    if is_windows():
        return None
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    with contextlib.suppress(OSError):  # the terminal hung up meanwhile: there is none to hand over
        if os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    os.close(fd)
    return None
