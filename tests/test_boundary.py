"""The one error boundary: exit codes, one line, no traceback unless asked."""

from __future__ import annotations

import click
import pytest

from credproc import cli as boundary
from credproc.errors import LaunchError, UpstreamError


@click.group()
@click.option("--debug", is_flag=True)
def stand_in_cli(debug: bool) -> None:
    """A stand-in group, so the real CLI gains no test-only command."""


@pytest.fixture(autouse=True)
def _use_test_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boundary, "cli", stand_in_cli)


@stand_in_cli.command("_boom")
@click.argument("kind")
def _boom(kind: str) -> None:
    if kind == "upstream":
        raise UpstreamError("AWS said no", "try later")
    if kind == "launch":
        raise LaunchError("not found: x", 127)
    if kind == "abort":
        raise click.Abort()
    if kind == "interrupt":
        raise KeyboardInterrupt
    if kind == "pipe":
        raise BrokenPipeError
    raise RuntimeError("secret-looking detail")


@pytest.mark.parametrize(
    ("kind", "code", "says"),
    [
        ("upstream", 3, "credproc: error: AWS said no\ncredproc: hint: try later\n"),
        ("launch", 127, "credproc: error: not found: x\n"),
        ("abort", 130, "credproc: error: interrupted\n"),
        ("interrupt", 130, "\ncredproc: error: interrupted\n"),  # click ends the ^C line first
        ("pipe", 1, ""),
        (
            "other",
            70,
            "credproc: error: unexpected RuntimeError\n"
            "credproc: hint: run again with --debug and report the traceback\n",
        ),
    ],
)
def test_errors_become_exit_codes_in_one_place(
    kind: str, code: int, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert boundary.run(["_boom", kind]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == says
    assert "secret-looking detail" not in captured.err


def test_debug_adds_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert boundary.run(["--debug", "_boom", "upstream"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_usage_errors_are_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert boundary.run(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("credproc: error: No such command")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert boundary.run(["--help"]) == 0
    assert "_boom" in capsys.readouterr().out
