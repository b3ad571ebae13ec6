"""Shell completion scripts generated from the click CLI, and the names they complete.

bash, zsh and fish use click's own completion protocol: the script calls ``credproc`` back with
``_CREDPROC_COMPLETE=<shell>_complete`` and the words typed so far, and click answers. PowerShell
has no click support, so it gets a script and a protocol class of its own here.

Profile and sso-session names come from the user's config files at completion time (through
``credproc.config.load``, the same reader every command uses), so a profile added a second ago
completes at once. Options are recognised by their parameter name, whichever module defines them,
so a ``--profile`` or ``--sso-session`` added by another command completes without extra wiring.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping

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

from credproc import config
from credproc.errors import CredprocError

SHELLS = ("bash", "zsh", "fish", "powershell")
PROG = "credproc"
COMPLETE_VAR = "_CREDPROC_COMPLETE"
# Parameter names whose values are profile names / sso-session names.
PROFILE_PARAMS = frozenset({"profile", "source_profile"})
SSO_SESSION_PARAMS = frozenset({"sso_session"})


def profile_names(environ: Mapping[str, str]) -> list[str]:
    """Profiles of the config and credentials files; none (never an error) when they are unreadable."""
    try:
        return sorted(config.load(environ).profiles)
    except CredprocError:
        return []


def sso_session_names(environ: Mapping[str, str]) -> list[str]:
    try:
        return sorted(config.load(environ).sso_sessions)
    except CredprocError:
        return []


def _names_completer(
    names: Callable[[Mapping[str, str]], list[str]],
) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        return [CompletionItem(n) for n in names(os.environ) if n.startswith(incomplete)]

    return complete


def _walk(command: click.Command) -> Iterator[click.Command]:
    yield command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _walk(sub)


def attach_dynamic(cli: click.Command) -> None:
    """Give every profile / sso-session parameter without a completer of its own the config reader.

    click keeps the ``shell_complete=`` callback of a parameter in ``_custom_shell_complete``; a test
    pins that attribute, so a click release that renames it fails loudly instead of completing nothing.
    """
    for command in _walk(cli):
        for param in command.params:
            if getattr(param, "_custom_shell_complete", None) is not None:
                continue
            if param.name in PROFILE_PARAMS:
                param._custom_shell_complete = _names_completer(profile_names)
            elif param.name in SSO_SESSION_PARAMS:
                param._custom_shell_complete = _names_completer(sso_session_names)


class _Dynamic(ShellComplete):
    """Attaches the config-file completers just before answering, when every command is registered."""

    def get_completions(self, args: list[str], incomplete: str) -> list[CompletionItem]:
        attach_dynamic(self.cli)
        return super().get_completions(args, incomplete)


class Bash(_Dynamic, BashComplete):
    def source(self) -> str:
        # click's BashComplete.source() starts a bash to check its version; the script printed must not
        # depend on the machine that prints it (the committed file is compared with it in a test).
        return ShellComplete.source(self)


class Zsh(_Dynamic, ZshComplete):
    pass


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


class Fish(_Dynamic, FishComplete):
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


class PowerShell(_Dynamic):
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
    "bash": Bash, "zsh": Zsh, "fish": Fish, "powershell": PowerShell,
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
