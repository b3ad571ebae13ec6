"""Real shells evaluate `credproc env` output: hostile values round-trip exactly and run nothing."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credproc import render
from credproc.envbuild import EnvChanges
from tests.conftest import BASE_KEY_ID, BASE_SECRET, CREDPROC, AwsFiles, require

SHELLS = {"bash": "bash", "zsh": "zsh", "dash": "sh", "fish": "fish"}
NAMES = ("CREDPROC_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN")
CANARY_FRAGMENTS = (
    "$(touch {c})",
    "`touch {c}`",
    "; touch {c}",
    "'; touch {c}; '",
    '"; touch {c}; "',
    "\ntouch {c}\n",
    "(touch {c})",
    "' (touch {c}) '",
    "\\'; touch {c}; #",
    "$HOME",
    "${{IFS}}",
    "%PATH%",
    "!!",
    "*",
    "~",
    "\\",
    "\\\\'",
    "'\\''",
    "\r\n",
    "\t",
    "é",
    "\u2019",
    "😀",
    "\u00a0",
    "#",
)


def _fragments(canary: Path) -> st.SearchStrategy[str]:
    hostile = st.sampled_from([f.format(c=canary) for f in CANARY_FRAGMENTS])
    anything = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=8)
    return st.lists(hostile | anything, max_size=6).map("".join)


def _read_back(shell: str, fmt: str, text: str, tmp: Path) -> list[str]:
    script = tmp / f"env.{fmt}"
    script.write_text(text, encoding="utf-8")
    quoted = " ".join(f'"${name}"' for name in NAMES)
    if shell == "fish":
        program = f"source {script}; and printf '%s\\0' {quoted}"
    else:
        program = f"eval \"$(cat '{script}')\" && printf '%s\\0' {quoted}"
    done = subprocess.run(
        [shell, "-c", program],
        capture_output=True,
        timeout=20,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "LC_ALL": "C.UTF-8"},
        cwd=tmp,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode("utf-8").split("\0")[:-1]


@pytest.mark.slow
@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_hostile_values_round_trip_exactly_and_run_nothing(
    shell: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    require(shell, shutil.which(shell) is not None, f"apt-get install {shell} (see .ci/install.d/30-sdks.sh)")
    tmp = tmp_path_factory.mktemp(shell)
    canary = tmp / "CANARY"
    fmt = SHELLS[shell]

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(values=st.tuples(*[_fragments(canary)] * len(NAMES)))
    def check(values: tuple[str, ...]) -> None:
        changes = EnvChanges(tuple(zip(NAMES, values, strict=True)), ("AWS_PROFILE",))
        assert _read_back(shell, fmt, render.render(changes, fmt), tmp) == list(values)
        assert not canary.exists(), "a value ran code in the shell"

    check()


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_unset_statements_clear_the_variables(shell: str, tmp_path: Path) -> None:
    require(shell, shutil.which(shell) is not None, f"apt-get install {shell}")
    changes = EnvChanges((), NAMES)
    script = tmp_path / "unset"
    script.write_text(render.render(changes, SHELLS[shell]))
    probe = (
        "set -q AWS_REGION; or echo cleared"
        if shell == "fish"
        else '[ -z "${AWS_REGION+x}" ] && echo cleared'
    )
    load = f"source {script}" if shell == "fish" else f". {script}"
    done = subprocess.run(
        [shell, "-c", f"{load}; {probe}"],
        capture_output=True,
        text=True,
        timeout=20,
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "x", "CREDPROC_PROFILE": "p"},
        check=False,
    )
    assert done.stdout.strip() == "cleared", done.stderr


EVIL_PROFILE = "evil`touch${IFS}CANARY`$(touch${IFS}CANARY);touch${IFS}CANARY"
EVIL_REGION = "us-east-1';touch CANARY;'\"$(touch CANARY)\"`touch CANARY` %PATH% (touch CANARY)"


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_credproc_env_from_a_hostile_config_is_safe_in_each_shell_with_the_guessed_format(
    shell: str, aws_files: AwsFiles, tmp_path: Path
) -> None:
    require(shell, shutil.which(shell) is not None, f"apt-get install {shell}")
    aws_files.write_config(f"""
        [profile {EVIL_PROFILE}]
        aws_access_key_id = {BASE_KEY_ID}
        aws_secret_access_key = {BASE_SECRET}
        region = {EVIL_REGION}
    """)
    credproc = " ".join(shlex.quote(a) for a in CREDPROC)  # no --format: guessed from this shell
    quoted = " ".join(f'"${name}"' for name in ("CREDPROC_PROFILE", "AWS_REGION", "AWS_SECRET_ACCESS_KEY"))
    if shell == "fish":
        program = f"{credproc} env --profile {shlex.quote(EVIL_PROFILE)} | source; printf '%s\\0' {quoted}"
    else:
        program = f"eval \"$({credproc} env --profile {shlex.quote(EVIL_PROFILE)})\"; printf '%s\\0' {quoted}"
    env = {**os.environ, "AWS_PROFILE": "someone-else", "SHELL": "/bin/false"}
    done = subprocess.run(
        [shell, "-c", program], capture_output=True, timeout=60, cwd=tmp_path, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().split("\0")[:-1] == [EVIL_PROFILE, EVIL_REGION, BASE_SECRET]
    assert not (tmp_path / "CANARY").exists()
