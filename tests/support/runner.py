"""Running credproc: in this process through the CLI boundary, or as a real process.

This is the only module of the tests that imports the CLI boundary (``cli_run`` below), so when the
boundary moves, one import changes.

``run_in_process`` is what the bad-input and fault tables use: the same argv, environment and
answers as a real run (exit code, stdout, stderr), in milliseconds instead of an interpreter start
and the CLI's imports. It injects the environment (``os.environ`` is swapped for the run and put
back), captures stdout and stderr, gives the run no terminal (as ``start_new_session`` does for a
real process: prompts must fail fast), and refuses to exec: a command that would replace the
process fails the test instead of replacing pytest. Every run is recorded for the leak guard
(tests/support/leaks.py), exactly as ``run_credproc`` records a real process.

With ``entry=True`` it runs what ``python -m credproc`` runs, the console-script entry point
(credproc/entry.py): the cache-hit fast paths first, then the full CLI, so a table about what the
cache does with a file (a corrupt entry, an odd folder) keeps the fast path's reading of it
without an interpreter start per row.

``run_credproc`` starts ``python -m credproc`` as the AWS CLI would; each command keeps at least one
test through it, since only a real process exercises the entry point and the fast paths.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn
from unittest import mock

from credproc import entry as cli_entry  # the console-script entry point: fast paths, then cli_run
from credproc.cli import run as cli_run  # the one import of the CLI boundary
from credproc.terminal import Terminal
from tests.support import leaks

CREDPROC = [sys.executable, "-m", "credproc"]
NO_TERMINAL = "/nonexistent/credproc-tests-no-terminal"  # opening it fails, as /dev/tty does without one


def run_credproc(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 90, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run credproc as a real process, as the AWS CLI would, with no terminal."""
    done: subprocess.CompletedProcess[str] = subprocess.run(
        [*CREDPROC, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ if env is None else env),
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal: prompts must fail fast
        check=False,
        **kwargs,
    )
    leaks.runs.append(leaks.Run(tuple(args), done.stdout or "", done.stderr or ""))
    return done


def start_credproc(*args: str, env: Mapping[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    """Start credproc as a real long-running process (``exec --server``...) with no terminal, its
    output piped as text: the caller reads it, signals it, and must end it."""
    return subprocess.Popen(
        [*CREDPROC, *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal, and a signal reaches credproc alone
        **kwargs,
    )


def run_in_process(
    *args: str, env: Mapping[str, str] | None = None, entry: bool = False
) -> subprocess.CompletedProcess[str]:
    """``credproc ARGS`` through the CLI boundary in this process (``entry``: through the entry
    point, fast paths first); the answer a real run gives."""
    environ = dict(os.environ if env is None else env)
    out, err = _stream(), _stream()
    with (
        _environment(environ),
        _no_terminal(),
        _no_exec(),
        mock.patch.object(sys, "argv", [sys.argv[0], *args]) if entry else contextlib.nullcontext(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            if entry:
                cli_entry.main()  # returns only when a fast path answered
                code = 0
            else:
                code = cli_run(list(args))
        except SystemExit as exc:  # what a real process would exit with
            code = exc.code if isinstance(exc.code, int) else 1
    done = subprocess.CompletedProcess([*CREDPROC, *args], code, _text(out), _text(err))
    leaks.runs.append(leaks.Run(tuple(args), done.stdout, done.stderr))
    return done


def boundary(argv: Sequence[str]) -> int:
    """The bare boundary, for tests of the boundary itself (they capture with capsys)."""
    return cli_run(list(argv))


def _stream() -> io.TextIOWrapper:
    # A text stream with a binary buffer underneath: the fast renderers write bytes to .buffer.
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8", "replace")


@contextlib.contextmanager
def _environment(environ: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _no_terminal() -> Iterator[None]:
    real = Terminal._paths

    def paths(self: Terminal) -> tuple[str, str]:
        return real(self) if self.device else (NO_TERMINAL, NO_TERMINAL)

    with mock.patch.object(Terminal, "_paths", paths):
        yield


class ExecRefused(BaseException):
    """A BaseException so that the boundary's last net (``except Exception``) cannot swallow it."""


def _refuse_exec(*args: object) -> NoReturn:
    raise ExecRefused(f"credproc tried to exec in-process {args[:2]!r}: use run_credproc for that test")


@contextlib.contextmanager
def _no_exec() -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for name in ("execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp", "execlpe"):
            stack.enter_context(mock.patch.object(os, name, _refuse_exec))
        yield
