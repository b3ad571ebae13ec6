"""``credproc configure [PROFILE] ...``; ``configure sso`` is added to the same group by credproc.cli.sso."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from click.shell_completion import CompletionItem

from credproc import output
from credproc.cli.main import cli
from credproc.commands import configure as configure_cmd
from credproc.errors import UsageError

# The hidden subcommand `configure PROFILE` runs; `configure profile NAME` also works, which is the
# way to configure a profile whose name is also a subcommand's (`configure profile sso`).
PROFILE_COMMAND = "profile"


class _ProfileOrSubcommand(click.Group):
    """A group whose first word is a subcommand when it names one, else the profile to write."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [PROFILE_COMMAND, *args]
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from credproc.commands.completion import profile_names

        found = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            return found
        return found + [CompletionItem(n) for n in profile_names(os.environ) if n.startswith(incomplete)]


@cli.group("configure", cls=_ProfileOrSubcommand)
def configure_group() -> None:
    """Write profile blocks into ~/.aws/config (keeping comments and order).

    \b
    credproc configure PROFILE [OPTIONS]   write or update one profile (see --help of it:
                                           credproc configure PROFILE --help)
    """


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


@configure_group.command(PROFILE_COMMAND, hidden=True)
@click.argument("profile")
@click.option("--region", metavar="R", default=None, help="Set the profile's region.")
@click.option("--set", "set_", metavar="KEY=VALUE", multiple=True,
              help="Set any key of the profile (repeatable), e.g. --set source_profile=base, "
                   "--set rolesanywhere_certificate=~/certs/me.pem.")
@click.option("--unset", metavar="KEY", multiple=True, help="Remove a key from the profile (repeatable).")
@click.option("--resolve", metavar="OTHER", default=None,
              help="Make credential_process resolve profile OTHER (default: PROFILE itself; credproc "
                   "skips the line that calls it, and uses the profile's other keys).")
@click.option("--no-credential-process", is_flag=True, help="Do not write a credential_process line.")
@click.option("--credproc-path", metavar="PATH", default=None,
              help="The credproc the line runs (default: this one, by absolute path).")
@click.option("--dry-run", is_flag=True, help="Print the change as a diff and write nothing.")
def configure_profile_cmd(profile: str, region: str | None, set_: tuple[str, ...], unset: tuple[str, ...],
                          **opts: Any) -> None:
    """Write or update PROFILE's block in ~/.aws/config ($AWS_CONFIG_FILE).

    The block gets `credential_process = "/abs/path/credproc" credential-process --profile PROFILE`
    plus the keys given. Every other line, comment and section of the file stays byte-for-byte.
    """
    environ = dict(os.environ)
    settings = _pairs(set_)
    if region is not None:
        settings["region"] = region
    command: list[str] | None = None
    if not opts["no_credential_process"]:
        path = opts["credproc_path"]
        command = [os.path.abspath(path)] if path else configure_cmd.find_credproc(sys.argv[0], environ)
    plan = configure_cmd.plan(environ, profile, settings, unset, command=command, resolve=opts["resolve"])
    for warning in plan.warnings:
        output.warn(warning)
    if not plan.edit.changed:
        output.info(f"profile {profile!r} in {plan.display_path} is already up to date")
        return
    if opts["dry_run"]:
        output.payload(configure_cmd.diff(plan))
        return
    configure_cmd.write(plan)
    verb = "added" if plan.edit.created else "updated"
    output.info(f"{verb} profile {profile!r} in {plan.display_path}")
