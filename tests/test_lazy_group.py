"""credproc.cli: a lazy group whose --help imports no command, and whose table agrees with the commands."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.utils import make_default_short_help

from credproc import cli
from tests.conftest import REPO


def test_every_command_module_has_a_command_of_its_name() -> None:
    for name in cli.COMMANDS:
        command = cli.cli.get_command(click.Context(cli.cli), name)
        assert isinstance(command, click.Command)
        assert command.name == name


@pytest.mark.parametrize("limit", [20, 45, 72, 200])
def test_the_tables_helps_are_the_commands_own(limit: int) -> None:
    ctx = click.Context(cli.cli)
    for name, help_line in cli.COMMANDS.items():
        command = cli.cli.get_command(ctx, name)
        assert command is not None
        assert make_default_short_help(help_line, limit) == command.get_short_help_str(limit), name


def test_the_table_names_every_module_of_credproc_commands() -> None:
    modules = {p.stem for p in (REPO / "credproc" / "commands").glob("*.py")} - {"__init__"}
    assert modules == {cli.module_of(name) for name in cli.COMMANDS}


def test_help_imports_no_command_module() -> None:
    probe = (
        "import sys\n"
        "from credproc.cli import run\n"
        "code = run(['--help'])\n"
        "sys.stderr.write(repr((code, sorted(m for m in sys.modules if m.startswith('credproc.commands.')))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False, cwd=REPO
    )
    assert done.stderr == "(0, [])"
    assert "credential-process     Print one credential_process JSON object (use in..." in done.stdout


def test_a_command_module_is_imported_when_its_command_runs() -> None:
    probe = (
        "import sys\n"
        "from credproc.cli import run\n"
        "code = run(['shell-init', 'bash'])\n"
        "sys.stderr.write(repr((code, sorted(m for m in sys.modules if m.startswith('credproc.commands.')))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False, cwd=REPO
    )
    assert done.stderr == "(0, ['credproc.commands.shell_init'])"


def test_an_unexpected_crash_has_its_own_exit_code() -> None:
    from credproc.errors import ConfigError, InternalError

    assert InternalError.exit_code not in (0, 1, 2, 3, 4, 125, 126, 127, 130)
    assert InternalError.exit_code != ConfigError.exit_code
    readme = (REPO / "README.md").read_text()
    assert f"| {InternalError.exit_code} | an unexpected internal error" in readme
