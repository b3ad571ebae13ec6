"""Completion scripts: committed files are current, and real shells complete commands and profiles."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from credproc.commands import completion
from tests.conftest import REPO, AwsFiles, run_credproc
from tests.support.shells import env_with, install_credproc, shell

COMMITTED = {
    "bash": REPO / "completions" / "credproc.bash",
    "zsh": REPO / "completions" / "_credproc",
    "fish": REPO / "completions" / "credproc.fish",
    "powershell": REPO / "completions" / "credproc.ps1",
}
CONFIG = """
    # a comment
    [default]
    region = us-east-1

    [profile dev]
    region = eu-west-1

    [profile prod-admin]
    role_arn = arn:aws:iam::123456789012:role/admin
    source_profile = dev

    [sso-session corp]
    sso_start_url = https://corp.awsapps.com/start
    sso_region = us-east-1

    [sso-session lab]
    sso_start_url = https://lab.awsapps.com/start
    sso_region = eu-west-1
"""
CREDENTIALS = """
    [from-credentials-file]
    aws_access_key_id = AKIAIOSFODNN7EXAMPLE
    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""
ALL_PROFILES = ["default", "dev", "from-credentials-file", "prod-admin"]


@pytest.fixture
def world(aws_files: AwsFiles, tmp_path: Path) -> dict[str, str]:
    aws_files.write_config(CONFIG)
    aws_files.write_credentials(CREDENTIALS)
    bin_dir = tmp_path / "bin"
    install_credproc(bin_dir)
    return env_with(bin_dir)


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_committed_completion_file_is_what_credproc_completion_prints(name: str) -> None:
    done = run_credproc("completion", name)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert COMMITTED[name].read_text() == done.stdout, (
        f"{COMMITTED[name].relative_to(REPO)} is stale: regenerate it with "
        f"`credproc completion {name} > {COMMITTED[name].relative_to(REPO)}`"
    )


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    done = run_credproc("completion", "tcsh")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("credproc: error: ")


def _bash_complete(env: dict[str, str], *words: str) -> list[str]:
    """Drive the completion function as bash's programmable completion does: COMP_WORDS/COMP_CWORD."""
    quoted = " ".join(f"'{w}'" for w in words)
    script = (
        f"source {COMMITTED['bash']}\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=()\n"
        # bash calls the function with the command name, the current word and the previous one.
        f"_credproc_completion credproc '{words[-1]}' '{words[-2]}'\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        [shell("bash"), "--norc", "--noprofile", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_profile_names_from_the_config_and_credentials_files(world: dict[str, str]) -> None:
    assert _bash_complete(world, "credproc", "credential-process", "--profile", "") == ALL_PROFILES
    assert _bash_complete(world, "credproc", "doctor", "--profile", "pr") == ["prod-admin"]


def test_bash_completes_commands_and_options(world: dict[str, str]) -> None:
    commands = _bash_complete(world, "credproc", "")
    assert {"cache", "completion", "configure", "credential-process", "doctor", "shell-init"} <= set(commands)
    assert _bash_complete(world, "credproc", "shell-init", "f") == ["fish"]
    assert "--offline" in _bash_complete(world, "credproc", "doctor", "--")


def test_bash_completes_a_profile_name_as_the_first_word_of_configure(world: dict[str, str]) -> None:
    assert _bash_complete(world, "credproc", "configure", "d") == ["default", "dev"]
    assert "--dry-run" in _bash_complete(world, "credproc", "configure", "dev", "--d")


def test_bash_completion_sees_a_profile_added_after_the_script_was_loaded(
    world: dict[str, str], aws_files: AwsFiles
) -> None:
    with aws_files.config.open("a") as fh:
        fh.write("\n[profile brand-new]\nregion = us-west-2\n")
    assert _bash_complete(world, "credproc", "doctor", "--profile", "brand") == ["brand-new"]


def test_completion_with_an_unparsable_config_offers_nothing_and_prints_no_error(
    world: dict[str, str], aws_files: AwsFiles
) -> None:
    aws_files.config.write_text("[profile dev]\nregion = x\nregion = y\n")  # duplicate key
    env = dict(
        world, COMP_WORDS="credproc doctor --profile ", COMP_CWORD="3", _CREDPROC_COMPLETE="bash_complete"
    )
    done = subprocess.run(["credproc"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert done.stdout.strip() == ""
    assert done.stderr == ""


def test_zsh_completes_a_profile_name_in_its_line_editor(world: dict[str, str], tmp_path: Path) -> None:
    env = dict(world, PS1="%% ", TERM="dumb", ZDOTDIR=str(tmp_path))
    child = pexpect.spawn(
        shell("zsh"), ["-f", "-i"], env=env, encoding="utf-8", timeout=30, dimensions=(24, 200)
    )
    try:
        child.sendline(f"autoload -Uz compinit && compinit -u -D && source {COMMITTED['zsh']} && echo LOADED")
        child.expect("LOADED")
        child.send("credproc credential-process --profile prod-a\t")
        # Only a completion can turn the typed "prod-a" into the whole name.
        child.expect("prod-admin")
        child.send("\x03")
    finally:
        child.close(force=True)


def test_zsh_lists_every_profile_on_an_empty_word(world: dict[str, str], tmp_path: Path) -> None:
    env = dict(world, PS1="%% ", TERM="dumb", ZDOTDIR=str(tmp_path))
    child = pexpect.spawn(
        shell("zsh"), ["-f", "-i"], env=env, encoding="utf-8", timeout=30, dimensions=(24, 200)
    )
    try:
        child.sendline(f"autoload -Uz compinit && compinit -u -D && source {COMMITTED['zsh']} && echo LOADED")
        child.expect("LOADED")
        child.send("credproc doctor --profile \t")
        child.expect("from-credentials-file")
        child.send("\x03")
    finally:
        child.close(force=True)


def _fish_complete(env: dict[str, str], line: str) -> list[str]:
    script = f"source {COMMITTED['fish']}; complete --do-complete '{line}'"
    done = subprocess.run(
        [shell("fish"), "--no-config", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [entry.split("\t")[0] for entry in done.stdout.splitlines()]


def test_fish_completes_profile_names(world: dict[str, str]) -> None:
    assert _fish_complete(world, "credproc credential-process --profile ") == ALL_PROFILES
    assert _fish_complete(world, "credproc doctor --profile de") == ["default", "dev"]


def test_fish_completes_commands_with_their_help(world: dict[str, str]) -> None:
    script = f"source {COMMITTED['fish']}; complete --do-complete 'credproc doct'"
    done = subprocess.run(
        [shell("fish"), "--no-config", "-c", script],
        env=world,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.startswith("doctor\tExplain how a profile resolves")


def test_powershell_protocol_answers_type_value_and_help_per_line(world: dict[str, str]) -> None:
    # pwsh is not packaged for Debian; its script's half of the protocol is the committed file,
    # credproc's half is checked here with the variables the script sets.
    env = dict(
        world,
        COMP_WORDS="credproc doctor --profile",
        COMP_CWORD="3",
        _CREDPROC_COMPLETE="powershell_complete",
    )
    done = subprocess.run(["credproc"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"plain\t{name}\t" for name in ALL_PROFILES]
    env.update(COMP_WORDS="credproc sh", COMP_CWORD="1")
    done = subprocess.run(["credproc"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.startswith("plain\tshell-init\tPrint the shell integration")
    script = COMMITTED["powershell"].read_text()
    assert "Register-ArgumentCompleter -Native -CommandName credproc" in script
    assert "$env:_CREDPROC_COMPLETE = 'powershell_complete'" in script


def test_sso_session_options_complete_session_names(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every command's --sso-session is the shared option, whose public shell_complete= reads the config.
    for key, value in world.items():
        monkeypatch.setenv(key, value)
    from credproc.cli import cli

    comp = completion.Bash(cli, {}, "credproc", completion.COMPLETE_VAR)
    for command in (["login"], ["logout"], ["configure", "sso"]):
        assert [i.value for i in comp.get_completions([*command, "--sso-session"], "")] == ["corp", "lab"]
        assert [i.value for i in comp.get_completions([*command, "--sso-session"], "l")] == ["lab"]


def test_completion_uses_no_private_click_attribute() -> None:
    source = (REPO / "credproc" / "commands" / "completion.py").read_text()
    source += (REPO / "credproc" / "options.py").read_text()
    assert "_custom_shell_complete" not in source


def test_completing_a_command_name_imports_no_command() -> None:
    probe = (
        "import os, sys\n"
        "os.environ.update(_CREDPROC_COMPLETE='bash_complete', COMP_WORDS='credproc cre', COMP_CWORD='1')\n"
        "from credproc.cli import run\n"
        "try:\n"
        "    code = run([])\n"
        "except SystemExit as stop:\n"
        "    code = stop.code\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('credproc.commands.') and m != "
        "'credproc.commands.completion')\n"
        "sys.stderr.write(repr((code, loaded)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False, cwd=REPO
    )
    assert done.stdout == "plain,credential-process\n"
    assert done.stderr == "(0, [])"


def test_completion_answers_quickly_enough_for_a_tab_press(world: dict[str, str]) -> None:
    env = dict(
        world, COMP_WORDS="credproc doctor --profile ", COMP_CWORD="3", _CREDPROC_COMPLETE="bash_complete"
    )
    start = time.monotonic()
    done = subprocess.run(["credproc"], env=env, capture_output=True, text=True, timeout=60, check=False)
    elapsed = time.monotonic() - start
    assert done.returncode == 0
    assert elapsed < 5, f"a TAB press took {elapsed:.1f}s"
