"""The ``credproc`` command group. Each command group lives in its own module and registers here."""

from __future__ import annotations

import click

from credproc import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="credproc")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors (also CREDPROC_DEBUG=1).")
def cli(debug: bool) -> None:
    """A fast AWS credential helper: credential_process, exec wrapper, shell integration."""


def _register() -> None:
    # Imported for their side effect of adding commands to `cli`; one module per command group.
    from credproc.cli import cache as _cache  # noqa: F401
    from credproc.cli import configure as _configure  # noqa: F401
    from credproc.cli import credential_process as _cp  # noqa: F401
    from credproc.cli import exec_env as _exec_env  # noqa: F401
    from credproc.cli import keys as _keys  # noqa: F401
    from credproc.cli import shell as _shell  # noqa: F401
    from credproc.cli import sso as _sso  # noqa: F401


_register()
