"""A real cmd.exe (Wine's) runs `credproc env --format cmd` output: values round-trip or are refused.

Wine starts in about a second once its prefix exists (.ci/install.d/55-wine.sh makes it under
/var/cache), so every wine run here carries a batch of values. Wine's exit status reaches Linux cut to
8 bits: cmd's 9009 ("not a command") shows as 49.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.conftest import BASE_KEY_ID, BASE_SECRET, AwsFiles, require, run_credproc
from tests.support.wine import INSTALL_HINT, REPO, WINE, WINEPREFIX, source_key


# Read at import: the hermetic_env fixture removes every CREDPROC_* variable before a test runs. The
# default is the path .ci/install.d/70-go.sh uses; wine and its prefix: tests/support/wine.py.
def _default_showenv() -> str:
    sources = REPO / "tests/go/showenv"
    key = source_key(sources / "go.mod", *sorted(sources.glob("*.go")))[:12]
    cache = os.environ.get("CREDPROC_GO_CACHE", "/var/cache/credproc-go")
    return f"{cache}/showenv-{key}-windows-amd64/showenv.exe"


SHOWENV = Path(os.environ.get("CREDPROC_TEST_SHOWENV_WINDOWS") or _default_showenv())
CMD_FIT = re.compile(r"[\x20-\x7e]*")  # what credproc's cmd format can carry, less " % ! ^
CMD_REFUSED = set('"%!^')
CANARY_FRAGMENTS = (
    "&type nul>CANARY&",
    "|type nul>CANARY",
    ")&type nul>CANARY&(",
    '"&type nul>CANARY&"',
    "^&type nul>CANARY",
    ">CANARY",
    "<nul",
    "%COMSPEC%",
    "!PATH!",
    "%%",
    "^",
    "()",
    "&&",
    "||",
    "é",
    "😀",
    "\u2019",
    "\\",
    "'",
    " ",
)
BATCH = 6  # values per wine run


def _wine(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    require("wine", WINE is not None, INSTALL_HINT)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ["HOME"],
        "WINEPREFIX": WINEPREFIX,
        "WINEDEBUG": "-all",
        "LC_ALL": "C.UTF-8",
    }
    return subprocess.run(
        [str(WINE), *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env, check=False
    )


def _token() -> st.SearchStrategy[str]:
    hostile = st.sampled_from(CANARY_FRAGMENTS)
    printable = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=6)
    # The config file is INI: surrounding spaces are not part of a value, so a token has none.
    return st.lists(hostile | printable, min_size=1, max_size=5).map("".join).map(str.strip).filter(bool)


def _write_profiles(aws_files: AwsFiles, tokens: list[str]) -> None:
    aws_files.write_config(
        "".join(
            f"[profile p{i}]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = {BASE_SECRET}\n"
            f"aws_session_token = {token}\nregion = us-east-1\n"
            for i, token in enumerate(tokens)
        )
    )


def _dumped(path: Path, name: str) -> str | None:
    """The value `set NAME` printed for NAME exactly (it also lists the names NAME begins)."""
    for line in path.read_text(encoding="ascii").splitlines():
        if line.startswith(name + "="):
            return line[len(name) + 1 :]
    return None


@pytest.mark.slow
def test_hostile_session_tokens_round_trip_exactly_in_cmd_or_are_refused(
    aws_files: AwsFiles, tmp_path_factory: pytest.TempPathFactory
) -> None:
    require("wine", WINE is not None, INSTALL_HINT)

    # No shrinking: each step is a wine run, and a failing batch already names its token.
    @settings(
        max_examples=4,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    @given(tokens=st.lists(_token(), min_size=BATCH, max_size=BATCH))
    @example(
        tokens=["&type nul>CANARY&", ")&type nul>CANARY&(", "|type nul>CANARY", ">CANARY", "<nul", "a  b"]
    )
    def check(tokens: list[str]) -> None:
        work = tmp_path_factory.mktemp("cmd")
        _write_profiles(aws_files, tokens)
        batch = ["@echo off"]
        carried: dict[int, str] = {}
        for i, token in enumerate(tokens):
            done = run_credproc("env", "--format", "cmd", "--profile", f"p{i}")
            fits = CMD_FIT.fullmatch(token) is not None and not CMD_REFUSED.intersection(token)
            if not fits:
                assert done.returncode == 1, (token, done.stdout)
                assert done.stdout == ""
                error = done.stderr.splitlines()[0]  # then its hint
                assert error.startswith("credproc: error: the value of AWS_SESSION_TOKEN cannot be carried")
                assert BASE_SECRET not in done.stderr
                continue
            assert done.returncode == 0, (token, done.stderr)
            (work / f"env{i}.cmd").write_text(done.stdout, encoding="ascii", newline="")
            carried[i] = token
            # Each script runs in a fresh child cmd, so one value cannot hide another's failure; no
            # space before `&`: cmd keeps it as part of the statement before it.
            batch.append(f'cmd /c "call env{i}.cmd& set>dump{i}.txt"')
        if not carried:
            return
        (work / "all.cmd").write_text("\r\n".join(batch) + "\r\n", encoding="ascii", newline="")
        ran = _wine(["cmd", "/c", "all.cmd"], work)
        assert ran.returncode == 0, ran.stderr
        for i, token in carried.items():
            dump = work / f"dump{i}.txt"
            assert _dumped(dump, "AWS_SESSION_TOKEN") == token
            assert _dumped(dump, "AWS_SECRET_ACCESS_KEY") == BASE_SECRET
            assert _dumped(dump, "CREDPROC_PROFILE") == f"p{i}"
        assert not (work / "CANARY").exists(), "a value ran a command in cmd.exe"

    check()


def test_inline_assignment_is_no_command_in_cmd_but_the_env_script_reaches_the_program(
    aws_files: AwsFiles, tmp_path: Path
) -> None:
    """The seed's failure (Dapr's docs: on Windows `FOO=bar daprd` inline is not supported), and the
    credproc way: run the env script in the console, then start the program (here a child cmd.exe, a
    Windows program, that prints the variables it was given)."""
    _write_profiles(aws_files, ["tok&(x)|<y>"])
    inline = _wine(["cmd", "/c", "AWS_SESSION_TOKEN=inline cmd /c set AWS_"], tmp_path)
    assert inline.returncode == 9009 % 256, (inline.returncode, inline.stdout, inline.stderr)
    assert "AWS_SESSION_TOKEN=inline" not in inline.stdout
    assert "AWS_SESSION_TOKEN=inline cmd /c set AWS_" in inline.stderr  # "Can't recognize '...'"

    done = run_credproc("env", "--format", "cmd", "--profile", "p0")
    assert done.returncode == 0, done.stderr
    (tmp_path / "env.cmd").write_text(done.stdout, encoding="ascii", newline="")
    ran = _wine(["cmd", "/c", "call env.cmd& cmd /c set>seen.txt"], tmp_path)
    assert ran.returncode == 0, ran.stderr
    seen = tmp_path / "seen.txt"
    assert _dumped(seen, "AWS_ACCESS_KEY_ID") == BASE_KEY_ID
    assert _dumped(seen, "AWS_SECRET_ACCESS_KEY") == BASE_SECRET
    assert _dumped(seen, "AWS_SESSION_TOKEN") == "tok&(x)|<y>"


def test_unset_script_removes_the_variables_in_cmd(tmp_path: Path) -> None:
    done = run_credproc("env", "--unset", "--format", "cmd")
    assert done.returncode == 0, done.stderr
    (tmp_path / "unset.cmd").write_text(done.stdout, encoding="ascii", newline="")
    program = 'set "AWS_SESSION_TOKEN=x"& set "CREDPROC_PROFILE=p"& call unset.cmd& set>seen.txt'
    ran = _wine(["cmd", "/c", program], tmp_path)
    assert ran.returncode == 0, ran.stderr
    seen = tmp_path / "seen.txt"
    assert _dumped(seen, "AWS_SESSION_TOKEN") is None
    assert _dumped(seen, "CREDPROC_PROFILE") is None


def test_a_windows_program_started_by_cmd_sees_the_env_scripts_variables_not_an_inline_one(
    aws_files: AwsFiles, tmp_path: Path
) -> None:
    """The same with a real Windows program (tests/go/showenv, built with GOOS=windows; Go >= 1.22
    runs under Wine 8.0 only with the ProcessPrng shim 55-wine.sh builds into the prefix)."""
    require(
        "showenv.exe",
        SHOWENV.is_file(),
        ".ci/install.d/70-go.sh builds it (or set CREDPROC_TEST_SHOWENV_WINDOWS)",
    )
    shutil.copy(SHOWENV, tmp_path / "showenv.exe")  # cmd finds a program in its current folder first
    _write_profiles(aws_files, ["tok&(x)|<y>"])
    inline = _wine(["cmd", "/c", "AWS_SESSION_TOKEN=inline showenv.exe AWS_SESSION_TOKEN"], tmp_path)
    assert inline.returncode == 9009 % 256 and inline.stdout == "", (inline.stdout, inline.stderr)

    done = run_credproc("env", "--format", "cmd", "--profile", "p0")
    assert done.returncode == 0, done.stderr
    (tmp_path / "env.cmd").write_text(done.stdout, encoding="ascii", newline="")
    names = "AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_PROFILE"
    ran = _wine(["cmd", "/c", f"call env.cmd>nul& showenv.exe {names}"], tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        f'AWS_ACCESS_KEY_ID true "{BASE_KEY_ID}"',
        f'AWS_SECRET_ACCESS_KEY true "{BASE_SECRET}"',
        'AWS_SESSION_TOKEN true "tok&(x)|<y>"',
        'AWS_REGION true "us-east-1"',
        'AWS_PROFILE false ""',
    ]
