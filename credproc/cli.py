"""The ``credproc`` command group, and ``run``: the one boundary where errors become exit codes.

Each command lives in its own module of credproc.commands and is imported only when it runs (click's
documented lazy group): ``--help`` and completing a command's name read the names and one-line helps
from the table below, so they import no command at all. A test keeps the table's helps equal to the
commands' own.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click
from click.shell_completion import CompletionItem

from credproc import __version__

if TYPE_CHECKING:
    from credproc import flags

COMPLETE_VAR = "_CREDPROC_COMPLETE"
DEBUG_HELP = "Show tracebacks on errors (also CREDPROC_DEBUG=1)."

# name -> the command's first help line as --help shows it. The command is ``command`` of its module,
# credproc.commands.<the name with "_" for "-"> (module_of).
COMMANDS: dict[str, str] = {
    "cache": "Show or remove cached credentials (never printing secrets).",
    "completion": "Print the completion script for SHELL.",
    "configure": "Write profile blocks into ~/.aws/config (keeping comments and order).",
    "credential-process": "Print one credential_process JSON object (use in ~/.aws/config).",
    "doctor": "Explain how a profile resolves, what is cached, and what is wrong (exit 1 when anything is).",
    "env": 'Print statements that set the credentials in your shell: eval "$(credproc env)".',
    "exec": "Run CMD with credentials injected.",
    "keys": "Long-term IAM keys and key passphrases in the OS keyring.",
    "login": "Sign in to IAM Identity Center; writes the AWS CLI's token cache.",
    "logout": "End SSO sessions: Logout, remove their tokens and the credentials cached from them.",
    "serve": "Serve the container-credentials endpoint until interrupted; prints the variables to set.",
    "read-certificate-data": "Print a certificate's data as aws_signing_helper does (JSON, no newline).",
    "sign-string": "Sign aws_signing_helper's fixed test string; print the signature (no newline).",
    "update": "Keep a profile of ~/.aws/credentials fresh with Roles Anywhere keys (--once: just once).",
    "version": "Print credproc's version (aws_signing_helper-compatible command).",
    "shell-init": "Print the shell integration (credproc-use, credproc-clear, credproc-prompt).",
}


def module_of(name: str) -> str:
    """The module of credproc.commands that holds the command ``name``."""
    return name.replace("-", "_")


class LazyGroup(click.Group):
    """A group that imports ``credproc.commands.<module>`` (its ``command``) on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module = importlib.import_module(f"credproc.commands.{module_of(cmd_name)}")
            self.add_command(_with_debug(module.command), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, with the helps of the table (so --help imports no command)."""
        names = self.list_commands(ctx)  # never empty: the table's commands
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(name, _short_help(self, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names (with their helps) from the table, then the group's own options."""
        names = [n for n in self.list_commands(ctx) if n.startswith(incomplete)]
        found = [CompletionItem(n, help=_short_help(self, n, 45)) for n in names]
        return found + click.Command.shell_complete(self, ctx, incomplete)


def _short_help(group: click.Group, name: str, limit: int) -> str:
    if name in group.commands:
        return group.commands[name].get_short_help_str(limit)
    from click.utils import make_default_short_help

    return make_default_short_help(COMMANDS[name], limit)


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, "--version", prog_name="credproc")
@click.option("--debug", is_flag=True, help=DEBUG_HELP)
def cli(debug: bool) -> None:
    """A fast AWS credential helper: credential_process, exec wrapper, shell integration."""


def _with_debug(command: click.Command) -> click.Command:
    """``--debug`` after the command too (``credproc exec --debug -- ...``), as users of other tools
    type it. Its value is read from argv by ``run`` (debug_requested), not by the command."""
    if not any(p.name == "debug" for p in command.params):
        command.params.append(click.Option(["--debug"], is_flag=True, expose_value=False, help=DEBUG_HELP))
    return command


def debug_requested(argv: Sequence[str]) -> bool:
    """``--debug`` before the command, or among the command's own options (before ``--``, and for
    ``exec`` before the child's command line, which is the child's)."""
    if os.environ.get("CREDPROC_DEBUG") == "1":
        return True
    first = _first_command_index(argv)
    if "--debug" in argv[:first]:
        return True
    rest = argv[first + 1 :]
    if argv[first : first + 1] == ["exec"]:
        from credproc import flags

        return "--debug" in _options_before_command(flags.EXEC, rest)
    return "--debug" in rest[: rest.index("--")] if "--" in rest else "--debug" in rest


def _options_before_command(table: Sequence[flags.Flag], args: Sequence[str]) -> list[str]:
    """The words of ``args`` up to the first that is neither an option nor an option's value."""
    takes_value = {n for f in table if f.takes_value for n in (f.long, f.short) if n}
    words: list[str] = []
    expect_value = False
    for arg in args:
        if expect_value:
            expect_value = False
        elif arg == "--" or not arg.startswith("-"):
            break
        else:
            expect_value = arg in takes_value
        words.append(arg)
    return words


def _first_command_index(argv: Sequence[str]) -> int:
    for i, arg in enumerate(argv):
        if not arg.startswith("-"):
            return i
    return len(argv)


def _usage_lines(exc: click.ClickException) -> tuple[str, str | None]:
    """One line (the contract's rule), and where to read more: the help of the command at fault."""
    path = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else "credproc"
    hint = f"see `{path} --help`" if exc.exit_code == 2 else None
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        return "no command given", hint
    if isinstance(exc, click.MissingParameter) and isinstance(exc.param, click.Argument):
        choices = getattr(exc.param.type, "choices", None)
        name = exc.param.human_readable_name
        if choices:
            return f"missing argument {name}: one of {', '.join(map(str, choices))}", hint
        return f"missing argument {name}", hint
    return exc.format_message(), hint


def run(argv: Sequence[str]) -> int:
    """Run the CLI on ``argv``; every error becomes one clear line on stderr and an exit code."""
    import traceback

    from credproc import output
    from credproc.errors import CredprocError, InternalError, Interrupted

    if COMPLETE_VAR in os.environ:  # click answers completion requests before any command runs
        from credproc.commands import completion

        completion.register()
    debug = debug_requested(argv)
    try:
        # Not standalone: click returns the code of a click.exceptions.Exit (--help) instead of raising.
        result = cli.main(args=list(argv), prog_name="credproc", standalone_mode=False)
    except CredprocError as exc:
        if debug:
            traceback.print_exc()
        output.error(exc.message, exc.hint)
        return exc.exit_code
    except click.exceptions.Abort:  # click's main turns a KeyboardInterrupt (Ctrl+C) into Abort
        output.error("interrupted")
        return Interrupted.exit_code
    except click.ClickException as exc:
        # Usage errors: click's own message, our prefix, and where to read more.
        output.error(*_usage_lines(exc))
        return exc.exit_code
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the last net: no traceback for users unless --debug
        if debug:
            traceback.print_exc()
        output.error(f"unexpected {type(exc).__name__}", "run again with --debug and report the traceback")
        return InternalError.exit_code
    return result if isinstance(result, int) else 0
