"""Talking to a person from inside a credential_process.

The AWS CLI and boto3 hold the helper's stderr until it exits, so a prompt printed there is
invisible and the run looks hung. Prompts therefore go to the controlling terminal itself
(``/dev/tty``; ``CONIN$``/``CONOUT$`` on Windows). With no terminal, asking fails at once with
exit 4 (NeedsHumanError) instead of waiting on a stdin nobody will write to.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import IO

from credproc.errors import CredprocError, Interrupted, NeedsHumanError
from credproc.platform import is_windows
from credproc.safetext import printable


class Terminal:
    """The real controlling terminal. Tests of prompts drive it through a pseudo-terminal."""

    def __init__(self, windows: bool | None = None, device: str | None = None) -> None:
        self.windows = is_windows() if windows is None else windows
        self.device = device  # tests pass a pseudo-terminal's path

    def _paths(self) -> tuple[str, str]:
        if self.device:
            return (self.device, self.device)
        return ("CONIN$", "CONOUT$") if self.windows else ("/dev/tty", "/dev/tty")

    @contextlib.contextmanager
    def _open(self, why: str, hint: str | None = None) -> Iterator[tuple[IO[str], IO[str]]]:
        in_path, out_path = self._paths()
        with contextlib.ExitStack() as opened:
            try:
                reader = opened.enter_context(open(in_path, encoding="utf-8"))
                writer = opened.enter_context(open(out_path, "w", encoding="utf-8"))
            except OSError:
                raise NeedsHumanError(f"{why}, but there is no terminal to ask on", hint) from None
            yield reader, writer

    def available(self) -> bool:
        try:
            with self._open("probe"):
                return True
        except NeedsHumanError:
            return False

    def ask(self, prompt: str, why: str, secret: bool = False, hint: str | None = None) -> str:
        """Ask on the terminal; ``why`` completes "…, but there is no terminal to ask on"."""
        from credproc import aws

        with aws.paused(), self._open(why, hint) as (reader, writer):  # typing is not AWS's time
            try:
                if secret and not self.windows:
                    return _read_hidden(prompt, reader, writer)
                writer.write(prompt)
                writer.flush()
                line = reader.readline()
            except KeyboardInterrupt:
                raise Interrupted("interrupted") from None
            if not line:
                raise NeedsHumanError(f"{why}, but the terminal closed")
            return line.rstrip("\r\n")

    def say(self, text: str) -> None:
        """Show a line on the terminal if there is one (login URLs and codes); else stay quiet."""
        try:
            with self._open("show a message") as (_reader, writer):
                writer.write(printable(text) + "\n")
                writer.flush()
        except NeedsHumanError:
            pass


def _read_hidden(prompt: str, reader: IO[str], writer: IO[str]) -> str:
    import termios

    fd = reader.fileno()
    old = termios.tcgetattr(fd)
    new = list(old)
    new[3] &= ~termios.ECHO
    try:
        # Echo off before the prompt shows, as getpass does: the flush must not eat an answer
        # typed after the prompt appeared.
        termios.tcsetattr(fd, termios.TCSAFLUSH, new)
        writer.write(prompt)
        writer.flush()
        line = reader.readline()
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, old)
        writer.write("\n")
        writer.flush()
    if not line:
        raise NeedsHumanError("the terminal closed before the answer was given")
    return line.rstrip("\r\n")


def ask_secret(
    terminal: Terminal,
    what: str,
    attempt: int,
    *,
    label: str,
    noun: str,
    hint: str,
    instead: CredprocError | None = None,
) -> str:
    """``what``'s secret (its ``noun``: "user PIN", "password"), asked hidden as "``label`` for
    ``what``: ", with "(wrong, try again)" after a first ``attempt``. With no terminal: ``instead``
    when given, else NeedsHumanError (exit 4) with ``hint``."""
    if not terminal.available():
        raise instead or NeedsHumanError(f"{what} needs its {noun} and there is no terminal to ask on", hint)
    again = " (wrong, try again)" if attempt > 0 else ""
    return str(terminal.ask(f"{label} for {what}{again}: ", f"{what} needs its {noun}", secret=True))


def is_stdin_terminal() -> bool:
    return os.isatty(0)  # False for a closed descriptor too: it never raises


SPINNER = "|/-\\"


class Spinner:
    """A one-line spinner on stderr, only when stderr is a terminal (never in logs or pipes)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.frame = 0
        self.last = 0.0

    def tick(self, text: str) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        self.frame += 1
        sys.stderr.write(f"\r{SPINNER[self.frame % len(SPINNER)]} {text}… ")
        sys.stderr.flush()

    def say(self, text: str) -> None:
        if self.enabled and self.frame:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
