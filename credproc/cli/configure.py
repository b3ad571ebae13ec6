"""``credproc configure``: a group; ``configure sso`` is added by credproc.cli.sso."""

from __future__ import annotations

from credproc.cli.main import cli


@cli.group("configure")
def configure_group() -> None:
    """Write profile blocks into ~/.aws/config (keeping comments and order)."""
