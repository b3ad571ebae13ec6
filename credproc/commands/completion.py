"""Shell completion scripts generated from the click CLI, and the names they complete.

bash, zsh and fish use click's own completion protocol: the script calls ``credproc`` back with
``_CREDPROC_COMPLETE=<shell>_complete`` and the words typed so far, and click answers. PowerShell
has no click support, so it gets a script and a protocol class of its own here.

Profile and sso-session names come from the user's config files at completion time: the shared
options (credproc.options) pass click's public ``shell_complete=`` a reader of them, so a profile
added a second ago completes at once.
"""

from __future__ import annotations

import os

import click
from click.shell_completion import (
    BashComplete,
    CompletionItem,
    FishComplete,
    ShellComplete,
    ZshComplete,
    add_completion_class,
    split_arg_string,
)

from credproc import output

SHELLS = ("bash", "zsh", "fish", "powershell")
PROG = "credproc"
COMPLETE_VAR = "_CREDPROC_COMPLETE"


class Bash(BashComplete):
    def source(self) -> str:
        # click's BashComplete.source() starts a bash to check its version; the script printed must not
        # depend on the machine that prints it (the committed file is compared with it in a test).
        return ShellComplete.source(self)


# click's fish script splits each answer on "\n" but click 8.4 answers one field per line, so fish
# errors out on every TAB. This script and its answer format (one ``type<TAB>value<TAB>help`` line per
# item, as for PowerShell) are credproc's own; the word parsing stays click's.
_SOURCE_FISH = r"""function %(complete_func)s
    set -l response (env %(complete_var)s=fish_complete COMP_WORDS=(commandline -cp) \
        COMP_CWORD=(commandline -ct) %(prog_name)s 2>/dev/null)
    for completion in $response
        set -l metadata (string split \t -- $completion)
        switch $metadata[1]
            case dir
                __fish_complete_directories $metadata[2]
            case file
                __fish_complete_path $metadata[2]
            case plain
                if test -n "$metadata[3]"
                    printf '%%s\t%%s\n' $metadata[2] $metadata[3]
                else
                    printf '%%s\n' $metadata[2]
                end
        end
    end
end

complete --no-files --command %(prog_name)s --arguments "(%(complete_func)s)"
"""


def _tab_line(item: CompletionItem) -> str:
    """Tabs and newlines never occur in names; help text is folded onto one line."""
    return f"{item.type}\t{item.value}\t{' '.join((item.help or '').split())}"


class Fish(FishComplete):
    source_template = _SOURCE_FISH

    def format_completion(self, item: CompletionItem) -> str:
        return _tab_line(item)


_SOURCE_POWERSHELL = """\
# PowerShell completion for %(prog_name)s. Load it from $PROFILE:
#   %(prog_name)s completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName %(prog_name)s -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    # The words before the cursor; the one being completed is the last when it is not empty.
    $words = @($commandAst.CommandElements |
        Where-Object { $_.Extent.StartOffset -lt $cursorPosition } |
        ForEach-Object { $_.Extent.Text })
    $cword = $words.Count
    if ($wordToComplete -ne '') { $cword = $words.Count - 1 }
    $saved = @($env:COMP_WORDS, $env:COMP_CWORD, $env:%(complete_var)s)
    try {
        $env:COMP_WORDS = ($words -join ' ')
        $env:COMP_CWORD = "$cword"
        $env:%(complete_var)s = 'powershell_complete'
        $response = @(& %(prog_name)s 2>$null)
    } finally {
        $env:COMP_WORDS, $env:COMP_CWORD, $env:%(complete_var)s = $saved
    }
    foreach ($item in $response) {
        $type, $value, $help = $item -split "`t", 3
        if ($type -eq 'plain') {
            if (-not $help) { $help = $value }
            [System.Management.Automation.CompletionResult]::new(
                $value, $value, 'ParameterValue', $help)
        } elseif ($type -eq 'file' -or $type -eq 'dir') {
            Get-ChildItem -Path "$wordToComplete*" -ErrorAction SilentlyContinue |
                Where-Object { $type -eq 'file' -or $_.PSIsContainer } |
                ForEach-Object {
                    [System.Management.Automation.CompletionResult]::new(
                        $_.Name, $_.Name, 'ProviderItem', $_.Name)
                }
        }
    }
}
"""


class PowerShell(ShellComplete):
    """``type<TAB>value<TAB>help`` lines, read by the script above (tabs never occur in names)."""

    name = "powershell"
    source_template = _SOURCE_POWERSHELL

    def get_completion_args(self) -> tuple[list[str], str]:
        words = split_arg_string(os.environ["COMP_WORDS"])
        cword = int(os.environ["COMP_CWORD"])
        args = words[1:cword]
        incomplete = words[cword] if cword < len(words) else ""
        return args, incomplete

    def format_completion(self, item: CompletionItem) -> str:
        return _tab_line(item)


CLASSES: dict[str, type[ShellComplete]] = {
    "bash": Bash,
    "zsh": ZshComplete,
    "fish": Fish,
    "powershell": PowerShell,
}


def register() -> None:
    """Make click's ``_CREDPROC_COMPLETE`` handling use the classes above (also for bash/zsh/fish)."""
    for shell, cls in CLASSES.items():
        add_completion_class(cls, shell)


def script(shell: str, cli: click.Command) -> str:
    """The completion script for ``shell``, exactly as ``credproc completion SHELL`` prints it."""
    comp = CLASSES[shell](cli, {}, PROG, COMPLETE_VAR)
    text = comp.source()
    return text if text.endswith("\n") else text + "\n"


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:        eval "$(credproc completion bash)"
    zsh:         eval "$(credproc completion zsh)"   (after compinit)
    fish:        credproc completion fish | source
    PowerShell:  credproc completion powershell | Out-String | Invoke-Expression
    """
    output.payload(script(shell, ctx.find_root().command))
