"""Prompts on a real pseudo-terminal: visible and hidden input, closed terminals, no terminal."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import pytest

from credproc.errors import NeedsHumanError
from credproc.terminal import Terminal
from tests.support.terminals import ScriptedTerminal


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    name = os.ttyname(slave)
    yield master, name
    os.close(master)
    os.close(slave)


def _answer_after_prompt(master: int, answer: bytes, transcript: list[bytes]) -> threading.Thread:
    def run() -> None:
        seen = b""
        while b": " not in seen:
            seen += os.read(master, 1024)
        transcript.append(seen)
        os.write(master, answer)
        with contextlib.suppress(OSError):
            transcript.append(os.read(master, 1024))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_ask_reads_a_line_from_the_terminal(pty_pair: tuple[int, str]) -> None:
    master, device = pty_pair
    transcript: list[bytes] = []
    thread = _answer_after_prompt(master, b"123456\n", transcript)
    assert Terminal(device=device).ask("MFA code: ", "needed") == "123456"
    thread.join(5)
    assert transcript[0].endswith(b"MFA code: ")


def test_secret_input_is_not_echoed(pty_pair: tuple[int, str]) -> None:
    master, device = pty_pair
    transcript: list[bytes] = []
    thread = _answer_after_prompt(master, b"hunter2\n", transcript)
    assert Terminal(device=device).ask("Passphrase: ", "needed", secret=True) == "hunter2"
    thread.join(5)
    assert b"hunter2" not in b"".join(transcript)


def test_no_terminal_is_needs_human_with_the_hint() -> None:
    term = Terminal(device="/nonexistent/tty")
    assert not term.available()
    with pytest.raises(NeedsHumanError) as err:
        term.ask("code: ", "a code is needed", hint="pass --mfa-token")
    assert err.value.message == "a code is needed, but there is no terminal to ask on"
    assert err.value.hint == "pass --mfa-token"
    term.say("nobody hears this")  # no terminal: silently nothing


def test_say_writes_to_the_terminal(pty_pair: tuple[int, str]) -> None:
    master, device = pty_pair
    term = Terminal(device=device)
    assert term.available()
    term.say("open https://example.invalid/device")
    assert b"open https://example.invalid/device" in os.read(master, 1024)


def test_windows_uses_the_console_devices() -> None:
    assert Terminal(windows=True)._paths() == ("CONIN$", "CONOUT$")
    assert Terminal(windows=False)._paths() == ("/dev/tty", "/dev/tty")


def test_scripted_terminal_records_and_refuses() -> None:
    term = ScriptedTerminal(["a"])
    assert term.ask("q? ", "why") == "a"
    assert term.asked == ["q? "]
    with pytest.raises(NeedsHumanError):
        ScriptedTerminal(None).ask("q? ", "why")


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (False, "a code is needed, but the terminal closed"),
        (True, "the terminal closed before the answer was given"),
    ],
)
def test_end_of_input_at_the_prompt_needs_a_human(
    pty_pair: tuple[int, str], secret: bool, message: str
) -> None:
    master, device = pty_pair
    thread = _answer_after_prompt(master, b"\x04", [])  # Ctrl+D on an empty line: end of input
    with pytest.raises(NeedsHumanError, match=f"^{message}$"):
        Terminal(device=device).ask("code: ", "a code is needed", secret=secret)
    thread.join(5)


# Plays credproc at a prompt on its controlling terminal (SIGINT reaches only a terminal's own
# foreground group, so this runs in a child that pexpect gives a terminal).
AT_THE_PROMPT = """
from credproc.errors import Interrupted
from credproc.terminal import Terminal
try:
    Terminal().ask("code: ", "a code is needed")
except Interrupted as exc:
    print("raised", type(exc).__name__, exc.exit_code)
"""


def test_ctrl_c_at_a_visible_prompt_is_an_interruption() -> None:
    import sys

    import pexpect

    child = pexpect.spawn(
        sys.executable, ["-c", AT_THE_PROMPT], env=dict(os.environ), encoding="utf-8", timeout=30
    )
    try:
        child.expect_exact("code: ")
        child.sendintr()
        child.expect_exact("raised Interrupted 130")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
