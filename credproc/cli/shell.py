"""``credproc shell-init``, ``credproc completion`` and ``credproc doctor``."""

from __future__ import annotations

import os
import sys

import click

from credproc import output
from credproc.cli.common import profile_name, profile_option
from credproc.cli.main import cli
from credproc.commands import completion, doctor, shell_init
from credproc.errors import ConfigError

# click answers `_CREDPROC_COMPLETE=...` requests before any command runs: register our classes now.
completion.register()


@cli.command("shell-init")
@click.argument("shell", type=click.Choice(shell_init.SHELLS))
def shell_init_cmd(shell: str) -> None:
    """Print the shell integration (credproc-use, credproc-clear, credproc-prompt).

    \b
    bash/zsh:    eval "$(credproc shell-init bash)"      (in ~/.bashrc or ~/.zshrc)
    fish:        credproc shell-init fish | source        (in config.fish)
    PowerShell:  credproc shell-init powershell | Out-String | Invoke-Expression
    cmd:         credproc shell-init cmd > %USERPROFILE%\\credproc.cmd, then run that file
    """
    output.payload(shell_init.script(shell))


@cli.command("completion")
@click.argument("shell", type=click.Choice(completion.SHELLS))
def completion_cmd(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:        eval "$(credproc completion bash)"
    zsh:         eval "$(credproc completion zsh)"   (after compinit)
    fish:        credproc completion fish | source
    PowerShell:  credproc completion powershell | Out-String | Invoke-Expression
    """
    output.payload(completion.script(shell, cli))


@cli.command("doctor")
@profile_option
@click.option("--offline", is_flag=True, help="Do not ask STS for the time (skips the clock check).")
def doctor_cmd(profile: str | None, offline: bool) -> None:
    """Explain how a profile resolves, what is cached, and what is wrong (exit 1 when anything is)."""
    environ = dict(os.environ)
    world = doctor.World(environ=environ, platform=sys.platform, offline=offline)
    report = doctor.run(world, profile_name(profile, environ))
    output.payload(doctor.render(report))
    if not report.healthy:
        n = len(report.problems)
        plural = "s" if n != 1 else ""
        raise ConfigError(f"doctor found {n} problem{plural}", "see the lines marked FAIL above")
