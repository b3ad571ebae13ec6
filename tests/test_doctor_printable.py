"""doctor's report quotes files and servers: their control characters never reach the terminal."""

from __future__ import annotations

from credproc.commands.doctor import PROBLEM, Finding, Report, render


def test_control_characters_in_findings_are_escaped_and_forge_no_line() -> None:
    hostile = "bad\x1b]0;owned\x07\n  ok   forged line\u202e"
    report = Report("p\x1b[2J", (Finding(PROBLEM, "config", hostile, hint="fix\rit"),))
    text = render(report)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text and "\u202e" not in text
    assert "\\x1b]0;owned\\x07\\x0a  ok   forged line\\u202e" in text
    assert len(text.splitlines()) == 4  # title, finding, hint, summary
