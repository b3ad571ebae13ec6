"""What a newcomer sees first (issue 15): errors that say what to do next, one set of flags on every
resolving command, --debug after the command, usage errors in one line pointing at the right help."""

from __future__ import annotations

import pytest

from tests.support.runner import run_credproc, run_in_process
from tests.support.world import AwsFiles

ROLE = "arn:aws:iam::111111111111:role/r"


def _err(done: object) -> list[str]:
    return done.stderr.splitlines()  # type: ignore[attr-defined,no-any-return]


def test_an_unknown_profile_lists_the_profiles_and_the_near_miss(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile dev]\nregion = eu-west-1\n[profile prod]\nregion = eu-west-1\n")
    done = run_in_process("credential-process", "--profile", "dve")
    assert done.returncode == 1
    assert _err(done) == [
        f"credproc: error: profile 'dve' is not in {aws_files.config}",
        "credproc: hint: did you mean 'dev'? profiles: dev, prod",
    ]
    assert "list-profiles" not in done.stderr


def test_an_unknown_profile_with_no_near_miss_lists_the_profiles(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile dev]\nregion = eu-west-1\n")
    done = run_in_process("env", "--profile", "zzzzzz")
    assert _err(done)[1] == "credproc: hint: profiles: dev"


def test_a_missing_config_file_is_said_to_be_missing(aws_files: AwsFiles) -> None:
    done = run_in_process("credential-process", "--profile", "dev")
    assert done.returncode == 1
    assert _err(done) == [
        f"credproc: error: profile 'dev' not found: {aws_files.config} and {aws_files.credentials} do not exist",
        "credproc: hint: create a profile with `credproc configure dev ...` or set AWS_CONFIG_FILE",
    ]


def test_a_missing_source_profile_names_the_profile_that_refers_to_it(aws_files: AwsFiles) -> None:
    aws_files.write_config(f"[profile p]\nrole_arn = {ROLE}\nsource_profile = nowhere\n")
    done = run_in_process("credential-process", "--profile", "p")
    assert (
        _err(done)[0]
        == f"credproc: error: source_profile 'nowhere' of profile 'p' is not in {aws_files.config}"
    )


def test_an_unnamed_default_with_only_a_region_says_no_profile_was_named(aws_files: AwsFiles) -> None:
    aws_files.write_config("[default]\nregion = eu-west-1\n[profile dev]\nregion = eu-west-1\n")
    done = run_in_process("credential-process")
    assert done.returncode == 1
    assert _err(done) == [
        "credproc: error: no profile was named, and profile 'default' has no credentials",
        "credproc: hint: name one with --profile P or AWS_PROFILE=P, or add credentials to 'default'",
    ]


@pytest.mark.parametrize("command", ["credential-process", "exec", "env", "serve"])
def test_every_resolving_command_takes_the_same_flags(command: str) -> None:
    done = run_in_process(command, "--help")
    for flag in ("--mfa-token", "--no-cache", "--refresh-window", "--auto-login", "--region", "--debug"):
        assert flag in done.stdout, (command, flag)


def test_mfa_token_reaches_exec_env_and_serve(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile p]\nregion = eu-west-1\n")
    for command in (["env"], ["serve"], ["exec"]):
        tail = ["--", "true"] if command == ["exec"] else []
        done = run_in_process(
            *command, "-p", "p", "--mfa-token", "123456", "--no-cache", "--auto-login", *tail
        )
        assert "No such option" not in done.stderr, command


def test_debug_after_the_command_shows_the_traceback(aws_files: AwsFiles) -> None:
    done = run_credproc("credential-process", "--debug", "--profile", "nope")
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().splitlines()[-2].startswith("credproc: error: profile 'nope'")


def test_debug_in_the_childs_command_line_is_the_childs() -> None:
    from credproc.cli import debug_requested

    assert debug_requested(["exec", "-p", "x", "--debug", "--", "true"])
    assert not debug_requested(["exec", "-p", "x", "--", "tool", "--debug"])
    assert not debug_requested(["exec", "-p", "x", "tool", "--debug"])
    assert debug_requested(["env", "--debug"])
    assert not debug_requested(["env"])


def test_a_usage_error_points_at_the_commands_help() -> None:
    done = run_in_process("env", "--bogus")
    assert _err(done) == [
        "credproc: error: No such option '--bogus'.",
        "credproc: hint: see `credproc env --help`",
    ]


def test_bare_credproc_says_one_line() -> None:
    done = run_in_process()
    assert done.returncode == 2
    assert _err(done) == ["credproc: error: no command given", "credproc: hint: see `credproc --help`"]


def test_shell_init_without_a_shell_says_one_line() -> None:
    done = run_in_process("shell-init")
    assert done.returncode == 2
    assert _err(done) == [
        "credproc: error: missing argument SHELL: one of bash, zsh, fish, powershell, cmd",
        "credproc: hint: see `credproc shell-init --help`",
    ]


def test_env_unset_clears_what_serve_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    env = dict(os.environ, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = run_in_process("env", "--unset", "--format", "bash", env=env)
    for name in (
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    ):
        assert f"unset {name}" in done.stdout, name
    kept = run_in_process("env", "--unset", "--format", "bash", env=dict(env, AWS_CONFIG_FILE="/mine"))
    assert "AWS_CONFIG_FILE" not in kept.stdout.replace("AWS_SHARED_CREDENTIALS_FILE", "")


def test_doctor_and_the_prompt_round_minutes_alike() -> None:
    from credproc.credentials import minutes_left

    # 3599.7 s left at a fractional now: the prompt (whole seconds from `date +%s`) counts 3600: 60m.
    assert minutes_left(3599.7) == 60
    assert minutes_left(3600.0) == 60
    assert minutes_left(3540.2) == 59
    assert minutes_left(-0.5) == 0


def test_shell_init_help_tells_zsh_users_to_run_shell_init_zsh() -> None:
    done = run_in_process("shell-init", "--help")
    assert 'eval "$(credproc shell-init zsh)"       (in ~/.zshrc)' in done.stdout


def test_a_lone_roles_anywhere_flag_applies_only_to_roles_anywhere(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile p]\nregion = eu-west-1\n")
    done = run_in_process("credential-process", "-p", "p", "--role-arn", ROLE)
    assert _err(done)[0] == "credproc: error: --role-arn applies only to Roles Anywhere"


def test_doctor_prints_no_sso_line_for_a_profile_that_does_not_exist(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile dev]\nregion = eu-west-1\n")
    done = run_in_process("doctor", "--profile", "nope")
    assert "profile 'nope' is not in" in done.stdout
    assert "IAM Identity Center" not in done.stdout


def test_configure_profile_help_shows_what_the_user_typed() -> None:
    done = run_in_process("configure", "dev", "--help")
    assert done.stdout.startswith("Usage: credproc configure PROFILE [OPTIONS]\n")
    assert '"/abs/path/credproc"' not in done.stdout


def test_configure_resolve_of_a_missing_profile_warns_and_writes(aws_files: AwsFiles) -> None:
    done = run_in_process("configure", "dev", "--resolve", "nosuch", "--region", "eu-west-1")
    assert done.returncode == 0
    assert (
        "credproc: warning: --resolve 'nosuch' names no profile in the config or credentials file; "
        "the credential_process line fails until that profile exists"
    ) in done.stderr
    quiet = run_in_process("configure", "other", "--resolve", "dev", "--region", "eu-west-1")
    assert "names no profile" not in quiet.stderr


@pytest.mark.slow
def test_the_demo_prints_the_config_it_used_then_the_result() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "tests.demo"], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "the config used" in out and "[profile top]" in out
    assert out.index("[profile top]") < out.index("credproc credential-process --profile top (cold")
