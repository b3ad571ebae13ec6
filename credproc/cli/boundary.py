"""The one boundary where errors become exit codes and one clear line on stderr."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

import click

from credproc import output
from credproc.errors import CredprocError, Interrupted


def debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv[: _first_command_index(argv)] or os.environ.get("CREDPROC_DEBUG") == "1"


def _first_command_index(argv: Sequence[str]) -> int:
    for i, arg in enumerate(argv):
        if not arg.startswith("-"):
            return i
    return len(argv)


def run(argv: Sequence[str]) -> int:
    from credproc.cli.main import cli

    debug = debug_requested(argv)
    try:
        result = cli.main(args=list(argv), prog_name="credproc", standalone_mode=False)
    except CredprocError as exc:
        if debug:
            traceback.print_exc()
        output.error(exc.message, exc.hint)
        return exc.exit_code
    except click.exceptions.Abort:
        output.error("interrupted")
        return Interrupted.exit_code
    except KeyboardInterrupt:
        output.error("interrupted")
        return Interrupted.exit_code
    except click.ClickException as exc:
        # Usage errors: click's own message, our prefix, and where to read more.
        output.error(exc.format_message(), "see `credproc --help`" if exc.exit_code == 2 else None)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the last net: no traceback for users unless --debug
        if debug:
            traceback.print_exc()
        output.error(f"unexpected {type(exc).__name__}", "run again with --debug and report the traceback")
        return 1
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))
