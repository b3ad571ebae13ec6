"""``credproc env``: the statements that set (or clear) the credentials in a shell."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import click

from credproc import envbuild, options, output, render
from credproc.profiles import selected_profile
from credproc.resolve import resolve_profile
from credproc.sources.base import Context


def changes(
    ctx: Context | None, profile: str, unset: bool, environ: Mapping[str, str] | None = None
) -> envbuild.EnvChanges:
    if unset or ctx is None:
        return envbuild.for_unset(environ)
    return envbuild.for_keys(resolve_profile(ctx, profile), profile)


def run(
    ctx: Context | None, profile: str, fmt: str, unset: bool, environ: Mapping[str, str] | None = None
) -> str:
    """``ctx`` may be None with ``unset``: clearing needs no profile and no config files."""
    return render.render(changes(ctx, profile, unset, environ), fmt)


@click.command("env")
@options.profile_option
@options.format_option
@click.option("--unset", is_flag=True, help="Print statements that clear the variables instead.")
@options.region_option
@options.refresh_window_option
@options.resolving_options
def command(profile: str | None, fmt: str | None, unset: bool, **resolving: Any) -> None:
    """Print statements that set the credentials in your shell: eval "$(credproc env)"."""
    # resolving: --region, --refresh-window, --no-cache, --mfa-token, --auto-login, as make_context takes them
    environ = dict(os.environ)
    chosen = options.output_format(fmt, environ)
    ctx = None if unset else options.make_context(environ, **resolving)
    output.payload(run(ctx, selected_profile(profile, environ), chosen, unset, environ))
