"""Renderers against each format's documented quoting rules, and the default format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credproc import render
from credproc.envbuild import EnvChanges
from credproc.errors import ConfigError, UsageError


def one(value: str, name: str = "CREDPROC_PROFILE") -> EnvChanges:
    return EnvChanges(((name, value),), ())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "$Env:X = 'plain'\n"),
        ("it's", "$Env:X = 'it''s'\n"),
        # about_Quoting_Rules: the typographic single quotes also close a verbatim string; like every
        # non-ASCII character they are written by code point, so no console encoding can garble them.
        (
            "a\u2019b\u2018c\u201ad\u201be",
            "$Env:X = 'a' + [char]0x2019 + 'b' + [char]0x2018 + 'c' + [char]0x201A + 'd' + [char]0x201B + 'e'\n",
        ),
        (
            "\u00e9t\u00e9 \U0001f600",
            "$Env:X = '' + [char]0x00E9 + 't' + [char]0x00E9 + ' ' + [char]::ConvertFromUtf32(0x1F600)\n",
        ),
        ("$(Remove-Item C:\\) `n $env:HOME", "$Env:X = '$(Remove-Item C:\\) `n $env:HOME'\n"),
        ("line1\nline2", "$Env:X = 'line1\nline2'\n"),
    ],
)
def test_powershell_uses_verbatim_strings_with_every_single_quote_doubled(value: str, expected: str) -> None:
    assert render.render(one(value, "X"), "powershell") == expected


def test_powershell_unset_removes_the_env_item_quietly() -> None:
    text = render.render(EnvChanges((), ("AWS_PROFILE",)), "powershell")
    assert text == "Remove-Item -LiteralPath Env:AWS_PROFILE -ErrorAction SilentlyContinue\n"


def test_cmd_quotes_the_whole_assignment_and_ends_lines_with_crlf() -> None:
    text = render.render(EnvChanges((("A", "x & y | z <w> (v)"),), ("B",)), "cmd")
    assert text == 'set "B="\r\nset "A=x & y | z <w> (v)"\r\n'


@pytest.mark.parametrize(
    "value",
    ['a"b', "50%", "%PATH%", "hi!", "a^b", "a\nb", "a\rb", "caf\u00e9", "\x1b[2J", "\n", "eu-west-1\n"],
)
def test_cmd_refuses_values_it_cannot_carry_and_names_the_variable_not_the_value(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        render.render(one(value, "AWS_REGION"), "cmd")
    assert "AWS_REGION" in info.value.message
    assert value not in info.value.message
    assert info.value.hint and "--format" in info.value.hint


def test_dotenv_single_quotes_values_and_refuses_ambiguous_ones() -> None:
    assert render.render(one("a b$c"), "dotenv") == "CREDPROC_PROFILE='a b$c'\n"
    for bad in ("it's", "a\\b", "a\nb"):
        with pytest.raises(ConfigError):
            render.render(one(bad), "dotenv")
    with pytest.raises(UsageError):
        render.render(EnvChanges((), ("A",)), "dotenv")


def test_json_maps_removals_to_null_and_keeps_unicode() -> None:
    text = render.render(EnvChanges((("A", 'caf\u00e9\n"x"'),), ("B",)), "json")
    assert json.loads(text) == {"B": None, "A": 'caf\u00e9\n"x"'}


def test_every_format_refuses_nul_and_lone_surrogates() -> None:
    for fmt in render.FORMATS:
        for bad in ("a\0b", "a\udc80"):
            with pytest.raises(ConfigError):
                render.render(one(bad), fmt)


def test_unknown_format_and_bad_variable_names_are_refused() -> None:
    with pytest.raises(UsageError):
        render.render(one("x"), "tcsh")
    with pytest.raises(ConfigError):
        render.render(EnvChanges((("A;rm", "x"),), ()), "bash")
    with pytest.raises(ConfigError):
        render.render(EnvChanges((("A\n", "x"),), ()), "bash")


def test_posix_and_fish_quoting_of_a_quote() -> None:
    assert render.posix_quote("it's") == "'it'\\''s'"
    assert render.fish_quote("it's \\") == "'it\\'s \\\\'"


@pytest.mark.parametrize(
    ("parent", "environ", "windows", "expected"),
    [
        ("bash", {}, False, "bash"),
        ("-zsh", {"SHELL": "/bin/bash"}, False, "zsh"),
        ("fish", {}, False, "fish"),
        ("dash", {}, False, "sh"),
        ("pwsh", {}, False, "powershell"),
        ("python3", {"SHELL": "/usr/bin/zsh"}, False, "zsh"),
        ("make", {}, False, "sh"),
        (None, {"SHELL": "/usr/bin/fish"}, False, "fish"),
        ("C:\\Windows\\System32\\cmd.exe", {}, True, "cmd"),
        ("pwsh.exe", {}, True, "powershell"),
        ("explorer.exe", {"SHELL": "/usr/bin/bash"}, True, "powershell"),
    ],
)
def test_default_format_follows_the_parent_shell(
    parent: str | None, environ: dict[str, str], windows: bool, expected: str
) -> None:
    assert render.guess_format(parent, environ, windows) == expected


def test_parent_program_reads_proc_and_tolerates_its_absence(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "comm").write_text("zsh\n")
    assert render.parent_program(42, str(tmp_path)) == "zsh"
    assert render.parent_program(43, str(tmp_path)) is None
    assert render.parent_program() is not None  # this test's own parent, on Linux


PS_CHAR = re.compile(r"\[char\]0x([0-9A-F]{4})|\[char\]::ConvertFromUtf32\(0x([0-9A-F]{5,6})\)")


def _read_verbatim(rest: str, i: int) -> tuple[str, int]:
    """Per about_Quoting_Rules: inside a single-quoted string nothing is special except a single
    quote (ASCII or U+2018..U+201B), written twice to stand for itself; one alone ends it."""
    assert rest[i] in render.PS_SINGLE_QUOTES
    out, i = [], i + 1
    while True:
        c = rest[i]
        if c in render.PS_SINGLE_QUOTES:
            if i + 1 < len(rest) and rest[i + 1] in render.PS_SINGLE_QUOTES:
                out.append(c)
                i += 2
                continue
            return "".join(out), i + 1
        out.append(c)
        i += 1


def parse_powershell_assignment(line: str) -> tuple[str, str]:
    """A reference reader for `$Env:NAME = <expr>`, where <expr> is a verbatim string followed by
    ` + ` and more verbatim strings or characters by code point; anything else would run as code."""
    assert line.isascii(), "PowerShell output must be ASCII"
    prefix, _, rest = line.partition(" = ")
    assert prefix.startswith("$Env:")
    out, i = _read_verbatim(rest, 0)
    while i < len(rest):
        assert rest.startswith(" + ", i), "text after the closing quote would run as code"
        i += 3
        char = PS_CHAR.match(rest, i)
        if char is not None:
            out += chr(int(char.group(1) or char.group(2), 16))
            i = char.end()
        else:
            text, i = _read_verbatim(rest, i)
            out += text
    return prefix[len("$Env:") :], out


def parse_cmd_assignment(line: str) -> tuple[str, str]:
    """`set "NAME=value"`: cmd keeps everything between the quotes literal as long as it holds no
    quote (which would end the quoting), no % or ! (expanded even in quotes) and no line break."""
    assert line.startswith('set "') and line.endswith('"')
    body = line[len('set "') : -1]
    assert not set(body) & set('"%!\r\n')
    name, _, value = body.partition("=")
    return name, value


values = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=40)


@given(value=values | st.sampled_from(["'", "\u2019'", "''\u201b", "$(calc)", "`$x", "a\nb'"]))
def test_powershell_rendering_reads_back_exactly_by_the_quoting_rules(value: str) -> None:
    text = render.render(one(value, "AWS_REGION"), "powershell")
    assert text.endswith("\n")
    assert parse_powershell_assignment(text[:-1]) == ("AWS_REGION", value)


@given(value=values)
def test_cmd_rendering_is_exact_or_refused(value: str) -> None:
    try:
        text = render.render(one(value, "AWS_REGION"), "cmd")
    except ConfigError:
        assert set(value) & set('"%!^\r\n') or not value.isascii() or not value.isprintable()
        return
    assert text.endswith("\r\n") and text.count("\r\n") == 1
    assert parse_cmd_assignment(text[:-2]) == ("AWS_REGION", value)
