"""``credproc version``: the version, alone on one line (as ``aws_signing_helper version`` prints its own).

credproc prints its own version, not the helper's: a script that reads it learns what it runs.
"""

from __future__ import annotations

import click

from credproc import __version__, output


@click.command("version", context_settings={"allow_extra_args": True})
def command() -> None:
    """Print credproc's version (aws_signing_helper-compatible command)."""
    output.payload(__version__)
