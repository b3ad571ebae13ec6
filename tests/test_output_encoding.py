"""What credproc prints survives any output encoding: PowerShell statements are ASCII whatever the
value, and a value the output's encoding cannot carry is one clear error, never a traceback or an
"unexpected UnicodeEncodeError"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import BASE_KEY_ID, BASE_SECRET, run_credproc

PROFILE = "\u00e9quipe-\u65e5\u672c"


@pytest.fixture
def unicode_profile(hermetic_env: Path) -> str:
    (hermetic_env / ".aws" / "config").write_text(
        f"[profile {PROFILE}]\nregion = eu-west-3\n", encoding="utf-8"
    )
    (hermetic_env / ".aws" / "credentials").write_text(
        f"[{PROFILE}]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = {BASE_SECRET}\n",
        encoding="utf-8",
    )
    return PROFILE


@pytest.mark.parametrize("encoding", ["ascii", "cp1252", "utf-8"])
def test_powershell_output_is_ascii_whatever_the_encoding(unicode_profile: str, encoding: str) -> None:
    done = run_credproc(
        "env",
        "--profile",
        unicode_profile,
        "--format",
        "powershell",
        env={**os.environ, "PYTHONIOENCODING": encoding},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.isascii()
    assert (
        "$Env:CREDPROC_PROFILE = '' + [char]0x00E9 + 'quipe-' + [char]0x65E5 + [char]0x672C\n" in done.stdout
    )


@pytest.mark.parametrize("fmt", ["bash", "json"])
def test_an_encoding_that_cannot_carry_a_value_is_a_clear_error(unicode_profile: str, fmt: str) -> None:
    done = run_credproc(
        "env", "--profile", unicode_profile, "--format", fmt, env={**os.environ, "PYTHONIOENCODING": "ascii"}
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "credproc: error: the output's encoding (ascii) cannot carry what credproc must print",
        "credproc: hint: set PYTHONIOENCODING=utf-8 (or PYTHONUTF8=1) for credproc",
    ]


class _Stream:
    """A stdout whose encoding has a name Python has no codec for (a misconfigured wrapper)."""

    def __init__(self, encoding: str) -> None:
        self.encoding, self.errors, self.written = encoding, "strict", ""

    def write(self, text: str) -> int:
        self.written += text
        return len(text)

    def flush(self) -> None:
        pass


def test_an_encoding_name_python_does_not_know_leaves_the_choice_to_the_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from credproc import output

    stream = _Stream("x-no-such-codec")
    monkeypatch.setattr(sys, "stdout", stream)
    output.payload('{"Version": 1}')
    assert stream.written == '{"Version": 1}\n'
