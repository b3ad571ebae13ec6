"""``credproc configure PROFILE``: the written line runs in botocore, sh -c and the real AWS CLI."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.compat import _windows_shell_split

from credproc.commands import configure as configure_cmd
from credproc.errors import ConfigError
from tests.conftest import BASE_KEY_ID, BASE_SECRET, AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_in_process
from tests.support.shells import env_with, install_credproc
from tests.test_configure_edit import FIXTURES, assert_only_block_changed

# A folder name with everything that breaks naive quoting: spaces, $, a single quote, a glob.
AWKWARD_DIR = "tools dir $HOME 'q' *"


def _env(bin_dir: Path) -> dict[str, str]:
    return env_with(bin_dir)


@pytest.fixture
def awkward_credproc(tmp_path: Path) -> Path:
    return install_credproc(tmp_path / AWKWARD_DIR)


def test_dry_run_prints_a_diff_and_writes_nothing(aws_files: AwsFiles, tmp_path: Path) -> None:
    original = (FIXTURES / "windows-crlf.config").read_bytes()
    aws_files.config.write_bytes(original)
    done = run_credproc(
        "configure", "dev", "--region", "us-west-2", "--credproc-path", "/opt/credproc", "--dry-run"
    )
    assert done.returncode == 0, done.stderr
    assert aws_files.config.read_bytes() == original
    # (run_credproc reads text, so the diff's CRLF line ends arrive as \n here)
    assert "\n-region=eu-west-1\n" in done.stdout
    assert "\n+region=us-west-2\n" in done.stdout
    assert "\n+credential_process = /opt/credproc credential-process --profile dev\n" in done.stdout
    assert done.stdout.startswith(f"--- {aws_files.config}\n+++ {aws_files.config}\n")


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.config")))
def test_configure_rewrites_one_block_of_a_messy_file(aws_files: AwsFiles, fixture: str) -> None:
    before = (FIXTURES / fixture).read_bytes().decode("utf-8")
    aws_files.config.write_bytes(before.encode("utf-8"))
    header = {
        "comments-and-odd-spacing.config": "[profile   dev]",
        "duplicate-looking-sections.config": "[profile  dev]",
        "sso-sessions-and-services.config": "[profile ci]",
    }.get(fixture, "[profile dev]")
    profile = "ci" if fixture.startswith("sso") else "dev"
    done = run_in_process(
        "configure",
        profile,
        "--region",
        "eu-north-1",
        "--set",
        "output=json",
        "--credproc-path",
        "/opt/credproc/bin/credproc",
    )
    assert done.returncode == 0, done.stderr
    after = aws_files.config.read_bytes().decode("utf-8")
    middle = assert_only_block_changed(before, after, header)
    nl = "\r\n" if "\r\n" in before else "\n"
    line = f"credential_process = /opt/credproc/bin/credproc credential-process --profile {profile}{nl}"
    assert line in middle
    again = run_in_process(
        "configure",
        profile,
        "--region",
        "eu-north-1",
        "--set",
        "output=json",
        "--credproc-path",
        "/opt/credproc/bin/credproc",
    )
    assert again.returncode == 0
    assert "already up to date" in again.stderr
    assert aws_files.config.read_bytes().decode("utf-8") == after


def test_a_missing_config_file_is_created_private(aws_files: AwsFiles) -> None:
    aws_files.config.parent.rmdir()
    done = run_credproc("configure", "dev", "--region", "us-east-1", "--credproc-path", "/opt/credproc")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "added profile 'dev'" in done.stderr
    assert stat.S_IMODE(aws_files.config.stat().st_mode) == 0o600
    assert aws_files.config.read_text() == (
        "[profile dev]\nregion = us-east-1\n"
        "credential_process = /opt/credproc credential-process --profile dev\n"
    )


def test_the_file_keeps_its_mode_and_a_symlinked_config_stays_a_symlink(
    aws_files: AwsFiles, tmp_path: Path
) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "aws-config"
    real.write_text("[default]\nregion = us-east-1\n")
    real.chmod(0o640)
    aws_files.config.symlink_to(real)
    done = run_credproc("configure", "dev", "--no-credential-process", "--region", "eu-west-1")
    assert done.returncode == 0, done.stderr
    assert aws_files.config.is_symlink()
    assert real.read_text() == "[default]\nregion = us-east-1\n\n[profile dev]\nregion = eu-west-1\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_aws_config_file_is_honoured(aws_files: AwsFiles, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.config"
    env = dict(os.environ, AWS_CONFIG_FILE=str(other))
    done = run_in_process("configure", "dev", "--no-credential-process", "--region", "x", env=env)
    assert done.returncode == 0, done.stderr
    assert other.read_text() == "[profile dev]\nregion = x\n"
    assert not aws_files.config.exists()


def test_unset_removes_keys_and_their_nested_blocks(aws_files: AwsFiles) -> None:
    aws_files.write_config("""\
        [profile dev]
        region = us-east-1
        s3 =
            addressing_style = path
        output = json
    """)
    done = run_in_process("configure", "dev", "--no-credential-process", "--unset", "s3", "--unset", "output")
    assert done.returncode == 0, done.stderr
    assert aws_files.config.read_text() == "[profile dev]\nregion = us-east-1\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([""], "cannot be written"),
        (["dev", "--set", "novalue"], "--set takes KEY=VALUE"),
        (["dev", "--set", "bad key=1"], "not a valid name"),
        (["dev", "--set", "credential_process=x"], "written by configure itself"),
    ],
)
def test_bad_input_is_one_line_and_exit_code(aws_files: AwsFiles, args: list[str], message: str) -> None:
    aws_files.write_config("[default]\nregion = us-east-1\n")
    done = run_in_process("configure", *args, "--credproc-path", "/opt/credproc")
    assert done.returncode in (1, 2)
    assert done.stdout == ""
    assert done.stderr.startswith("credproc: error: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert aws_files.config.read_text() == "[default]\nregion = us-east-1\n"


def test_a_config_file_that_is_not_utf8_is_refused_untouched(aws_files: AwsFiles) -> None:
    original = "[profile caf\xe9]\nregion = x\n".encode("latin-1")
    aws_files.config.write_bytes(original)
    done = run_credproc("configure", "dev", "--region", "y", "--credproc-path", "/opt/credproc")
    assert done.returncode == 1
    assert done.stderr.startswith("credproc: error: ")
    assert "not UTF-8" in done.stderr
    assert aws_files.config.read_bytes() == original


def test_an_unreadable_config_location_is_one_error_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # a file where the config's folder should be: fails even for root
    env = dict(os.environ, AWS_CONFIG_FILE=str(blocker / "config"))
    done = run_in_process("configure", "dev", "--region", "y", "--credproc-path", "/opt/credproc", env=env)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"credproc: error: cannot read {blocker / 'config'}: Not a directory\n"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_an_unwritable_config_location_is_one_error_line() -> None:
    # /proc refuses new folders even to root, where CI runs.
    env = dict(os.environ, AWS_CONFIG_FILE="/proc/self/credproc-test/config")
    done = run_in_process("configure", "dev", "--region", "y", "--no-credential-process", env=env)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("credproc: error: cannot write /proc/self/credproc-test/config: ")
    assert len(done.stderr.splitlines()) == 1


def test_a_profile_named_like_a_subcommand_is_configured_through_configure_profile(
    aws_files: AwsFiles,
) -> None:
    done = run_in_process("configure", "profile", "sso", "--no-credential-process", "--region", "x")
    assert done.returncode == 0, done.stderr
    assert aws_files.config.read_text() == "[profile sso]\nregion = x\n"


def test_configure_warns_when_botocore_would_bypass_the_credential_process(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = b\n"
        f"[profile b]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = s\n"
    )
    done = run_in_process("configure", "dev", "--credproc-path", "/opt/credproc")
    assert done.returncode == 0
    assert (
        "credproc: warning: profile 'dev': the AWS CLI and SDKs resolve it with botocore's assume-role"
        in (done.stderr)
    )


def test_configure_warns_when_the_profile_has_no_source_but_the_keyring(aws_files: AwsFiles) -> None:
    done = run_in_process("configure", "lonely", "--region", "x", "--credproc-path", "/opt/credproc")
    assert done.returncode == 0
    assert "credproc: warning: profile 'lonely' has no source of credentials besides this line" in done.stderr
    ra = [
        "ra",
        "--set=rolesanywhere_certificate=/c.pem",
        "--set=rolesanywhere_private_key=/k.pem",
        "--set=rolesanywhere_trust_anchor_arn=arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/a1b2c3d4-0000-4000-8000-000000000001",
        "--set=rolesanywhere_profile_arn=arn:aws:rolesanywhere:us-east-1:123456789012:profile/a1b2c3d4-0000-4000-8000-000000000002",
        "--set=rolesanywhere_role_arn=arn:aws:iam::123456789012:role/r",
    ]
    done = run_in_process("configure", *ra[:2], "--credproc-path", "/opt/credproc")
    assert done.returncode == 0, done.stderr
    assert "warning: credproc, run by this line, will refuse profile 'ra': Roles Anywhere" in done.stderr
    done = run_in_process("configure", *ra, "--credproc-path", "/opt/credproc")
    assert "will refuse profile 'ra': certificate file /c.pem does not exist" in done.stderr
    for args in (["wrap", "--resolve", "lonely"],):
        done = run_in_process("configure", *args, "--credproc-path", "/opt/credproc")
        assert done.returncode == 0, done.stderr
        assert "warning" not in done.stderr, args


def test_keys_in_the_credentials_file_also_bypass_the_credential_process(aws_files: AwsFiles) -> None:
    aws_files.write_credentials(f"[keyed]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = s\n")
    done = run_in_process("configure", "keyed", "--credproc-path", "/opt/credproc")
    assert done.returncode == 0
    assert "botocore's shared-credentials-file provider, which comes before credential_process" in done.stderr


def test_the_installed_credproc_is_found_on_path_when_not_started_as_credproc(
    aws_files: AwsFiles, awkward_credproc: Path
) -> None:
    done = run_credproc("configure", "dev", "--region", "x", env=_env(awkward_credproc.parent))
    assert done.returncode == 0, done.stderr
    line = next(li for li in aws_files.config.read_text().splitlines() if li.startswith("credential_process"))
    command = line.split(" = ", 1)[1]
    assert shlex.split(command) == [str(awkward_credproc), "credential-process", "--profile", "dev"]


def test_find_credproc_prefers_the_script_it_was_started_as(tmp_path: Path) -> None:
    script = install_credproc(tmp_path / "bin")
    assert configure_cmd.find_credproc(str(script), {"PATH": ""}) == [str(script)]
    on_path = {"PATH": str(script.parent)}
    assert configure_cmd.find_credproc("/x/credproc/__main__.py", on_path) == [str(script)]
    assert configure_cmd.find_credproc(
        "/x/__main__.py", {"PATH": str(tmp_path / "none")}, executable="/py/bin/python3"
    ) == ["/py/bin/python3", "-m", "credproc"]


WRAPPED_CONFIG = """\
    [profile wrapped]
    region = us-east-1
"""


@pytest.fixture
def wrapped(aws_files: AwsFiles, sts: MotoSTS, awkward_credproc: Path) -> dict[str, str]:
    """Profile ``wrapped`` has only the configure-written line; credproc resolves ``base`` for it."""
    aws_files.write_config(WRAPPED_CONFIG)
    aws_files.write_credentials(
        f"[base]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = {BASE_SECRET}\n"
    )
    env = _env(awkward_credproc.parent)
    done = run_credproc("configure", "wrapped", "--resolve", "base", env=env)
    assert done.returncode == 0, done.stderr
    return env


def _line(aws_files: AwsFiles) -> str:
    text = aws_files.config.read_text()
    return next(li for li in text.splitlines() if li.startswith("credential_process")).split(" = ", 1)[1]


def test_the_written_line_runs_through_sh_c_as_go_and_node_sdks_run_it(
    wrapped: dict[str, str], aws_files: AwsFiles
) -> None:
    done = subprocess.run(
        ["/bin/sh", "-c", _line(aws_files)],
        env=wrapped,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"] == BASE_KEY_ID


def test_the_written_line_works_for_the_real_aws_cli(wrapped: dict[str, str], sts: MotoSTS) -> None:
    aws = shutil.which("aws") or os.path.join(os.path.dirname(sys.executable), "aws")
    assert os.path.exists(aws), "the awscli test dependency provides `aws`"
    done = subprocess.run(
        [aws, "sts", "get-caller-identity", "--profile", "wrapped", "--output", "json"],
        env=wrapped,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "Account" in json.loads(done.stdout)


def test_the_written_line_works_for_boto3(
    wrapped: dict[str, str], sts: MotoSTS, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in wrapped.items():
        monkeypatch.setenv(key, value)
    session = boto3.Session(profile_name="wrapped")
    frozen = session.get_credentials().get_frozen_credentials()
    assert frozen.access_key == BASE_KEY_ID


WINDOWS_EXE = r"C:\Program Files (x86)\Python 3.12\Scripts\credproc.exe"


def test_windows_lines_are_double_quoted_for_botocore_and_cmd_exe() -> None:
    line = configure_cmd.credential_process_line([WINDOWS_EXE], "dev&admin", windows=True)
    assert line == f'"{WINDOWS_EXE}" credential-process --profile "dev&admin"'
    # botocore's own Windows splitter (CommandLineToArgvW rules) gives the argv back...
    assert _windows_shell_split(line) == [WINDOWS_EXE, "credential-process", "--profile", "dev&admin"]
    # ...and cmd.exe /C sees no special character outside quotes and no %/! expansion anywhere.
    outside = "".join(part for i, part in enumerate(line.split('"')) if i % 2 == 0)
    assert not set(outside) & set("&|<>^()%!")


def test_windows_branch_is_chosen_by_the_injected_platform(
    aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credproc import platform

    monkeypatch.setattr(platform, "IS_WINDOWS", True)
    plan = configure_cmd.plan(dict(os.environ), "dev", {}, command=[WINDOWS_EXE])
    assert f'credential_process = "{WINDOWS_EXE}" credential-process --profile dev\n' in plan.edit.after
    monkeypatch.setattr(platform, "IS_WINDOWS", False)
    plan = configure_cmd.plan(dict(os.environ), "dev", {}, command=["/opt/my tools/credproc"])
    line = "credential_process = '/opt/my tools/credproc' credential-process --profile dev\n"
    assert line in plan.edit.after


def test_credproc_recognises_its_own_windows_line_and_skips_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from credproc import platform
    from credproc.sources.process import credproc_target, split_command

    monkeypatch.setattr(platform, "IS_WINDOWS", True)
    line = configure_cmd.credential_process_line([WINDOWS_EXE], "dev", windows=True)
    assert split_command(line) == [WINDOWS_EXE, "credential-process", "--profile", "dev"]
    assert credproc_target(split_command(line), {}) == "dev"


@pytest.mark.parametrize("exe", [r"C:\100%\credproc.exe", r'C:\a"b\credproc.exe', r"C:\bang!\credproc.exe"])
def test_windows_paths_cmd_exe_would_mangle_are_refused(exe: str) -> None:
    with pytest.raises(ConfigError, match=r"cmd\.exe"):
        configure_cmd.credential_process_line([exe], "dev", windows=True)


def test_posix_lines_survive_shlex_for_awkward_paths() -> None:
    exe = "/home/o'brien/my tools/$bin/credproc"
    line = configure_cmd.credential_process_line([exe], "dev", windows=False)
    assert shlex.split(line) == [exe, "credential-process", "--profile", "dev"]
    with pytest.raises(ConfigError):
        configure_cmd.credential_process_line(["/a\nb"], "dev", windows=False)


def test_a_windows_path_ending_in_a_backslash_is_refused() -> None:
    # Quoted, its last backslash would escape the closing quote for CommandLineToArgvW.
    with pytest.raises(ConfigError, match=r"^cannot quote 'C:\\\\odd dir\\\\': it ends with a backslash$"):
        configure_cmd.credential_process_line(["C:\\odd dir\\"], "dev", windows=True)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{account_name}", "gives an empty profile name"),
        ("{account}", "is not usable ('account')"),
    ],
)
def test_an_sso_name_template_that_gives_no_usable_name_is_refused(template: str, message: str) -> None:
    from credproc.sources.sso.portal import Assignment

    with pytest.raises(ConfigError, match=re.escape(message)):
        configure_cmd.sso_profile_name(template, Assignment("111111111111", "!!! ???", "Admin"), "corp")


def test_the_profile_argument_completes_profile_names_but_not_after_a_dash(aws_files: AwsFiles) -> None:
    import click

    aws_files.write_config("[profile dev]\nregion = x\n[profile prod]\nregion = y\n")
    group = configure_cmd.command
    ctx = click.Context(group)
    assert [c.value for c in group.shell_complete(ctx, "d")] == ["dev"]
    assert "dev" not in [c.value for c in group.shell_complete(ctx, "-")]


def test_a_broken_credentials_file_does_not_stop_configure(aws_files: AwsFiles) -> None:
    aws_files.credentials.write_text("[unclosed\naws_access_key_id = A\n")
    done = run_in_process("configure", "dev", "--region", "eu-west-1", "--credproc-path", "/opt/credproc")
    assert done.returncode == 0, done.stderr
    assert "[profile dev]\n" in aws_files.config.read_text()


def test_resolve_may_name_the_default_profile_of_the_edited_file(aws_files: AwsFiles) -> None:
    aws_files.write_config("[default]\nregion = us-east-1\n")
    done = run_credproc("configure", "dev", "--resolve", "default", "--credproc-path", "/opt/credproc")
    assert done.returncode == 0, done.stderr
