"""``env``: the statements that set (or clear) the credentials in a shell."""

from __future__ import annotations

from credproc import envbuild, render
from credproc.resolve import resolve_profile
from credproc.sources.base import Context


def changes(ctx: Context | None, profile: str, unset: bool) -> envbuild.EnvChanges:
    if unset or ctx is None:
        return envbuild.for_unset()
    return envbuild.for_keys(resolve_profile(ctx, profile), profile)


def run(ctx: Context | None, profile: str, fmt: str, unset: bool) -> str:
    """``ctx`` may be None with ``unset``: clearing needs no profile and no config files."""
    return render.render(changes(ctx, profile, unset), fmt)
