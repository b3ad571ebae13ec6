"""``credproc shell-init SHELL``: the shell integration files of ``shell/``, shipped in the package.

The files live in ``credproc/data/shell/`` so a pip-installed credproc can print them
(``eval "$(credproc shell-init bash)"``); the repository's ``shell/`` folder holds the same bytes for
people who source a file directly, and a test keeps the two identical.
"""

from __future__ import annotations

from importlib import resources

import click

from credproc import output

# shell name as typed → file name in credproc/data/shell/
FILES = {
    "bash": "credproc.bash",
    "zsh": "credproc.zsh",
    "fish": "credproc.fish",
    "powershell": "credproc.ps1",
    "cmd": "credproc.cmd",
}
SHELLS = tuple(FILES)


def script(shell: str) -> str:
    data = resources.files("credproc") / "data" / "shell" / FILES[shell]
    return data.read_bytes().decode("utf-8")


@click.command("shell-init")
@click.argument("shell", type=click.Choice(SHELLS))
def command(shell: str) -> None:
    """Print the shell integration (credproc-use, credproc-clear, credproc-prompt).

    \b
    bash:        eval "$(credproc shell-init bash)"      (in ~/.bashrc)
    zsh:         eval "$(credproc shell-init zsh)"       (in ~/.zshrc)
    fish:        credproc shell-init fish | source        (in config.fish)
    PowerShell:  credproc shell-init powershell | Out-String | Invoke-Expression
    cmd:         credproc shell-init cmd > %USERPROFILE%\\credproc.cmd, then run that file
    """
    output.payload(script(shell))
