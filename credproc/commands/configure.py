"""``credproc configure PROFILE`` and ``credproc configure sso``: profile blocks in ``~/.aws/config``.

``configure PROFILE`` writes or updates one block: a ``credential_process`` line that runs this very
credproc by absolute path, plus the keys given (region, the source's keys). Everything else in the
file stays byte-for-byte (see credproc.config_edit).

``configure sso`` writes one profile per account and role a session can reach. Each role gets two
blocks. ``[profile NAME]`` holds only a ``credential_process`` line, so the AWS CLI and every SDK go
through credproc (and its cache); the AWS CLI would otherwise prefer its own SSO provider over
``credential_process`` in the same profile. ``[profile NAME.sso]`` holds the SSO coordinates that
line resolves, and is usable by the AWS CLI directly too. Blocks are appended; existing profiles,
comments and order are left exactly as they were.

Both writes are atomic (credproc.atomic), keep the file's mode, and go through a symlinked config
file to the file it points at.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click
from click.shell_completion import CompletionItem

from credproc import config, config_edit, configure_judge, options, output, paths, validate
from credproc.commands.login import runtime
from credproc.errors import ConfigError, UpstreamError, UsageError
from credproc.platform import is_windows
from credproc.sources.sso import settings as sso_settings
from credproc.sources.sso.portal import Assignment

# cmd.exe acts on these even inside a command line it passes on; inside double quotes only % (and !
# with delayed expansion) still expand, and a quote cannot be escaped at all.
CMD_SPECIAL = set(" \t&|<>^(),;=")
CMD_FORBIDDEN = set('"%!\r\n')


@dataclass(frozen=True)
class Plan:
    path: str  # the file written (a symlink's target)
    display_path: str  # the path as the user knows it
    edit: config_edit.Edit
    warnings: tuple[str, ...] = ()


def find_credproc(
    argv0: str,
    environ: Mapping[str, str],
    executable: str = sys.executable,
    which: Callable[..., str | None] = shutil.which,
) -> list[str]:
    """The command that runs this credproc, as an absolute argv.

    The console script we were started as, else ``credproc`` on PATH, else this Python with
    ``-m credproc`` (always works, just slower to start than the script).
    """
    name = os.path.basename(argv0).lower()
    if name in ("credproc", "credproc.exe") and os.path.isfile(argv0):
        return [os.path.abspath(argv0)]
    found = which("credproc", path=environ.get("PATH", os.defpath))
    if found:
        return [os.path.abspath(found)]
    return [os.path.abspath(executable), "-m", "credproc"]


def quote_posix(argv: Sequence[str]) -> str:
    """Single quotes mean the same to botocore's shlex.split and to ``sh -c`` (Go, Node, Java SDKs)."""
    for arg in argv:
        if "\n" in arg or "\r" in arg:
            raise ConfigError(f"cannot write a credential_process line containing a line break: {arg!r}")
    return " ".join(shlex.quote(arg) for arg in argv)


def quote_windows(argv: Sequence[str]) -> str:
    """Double quotes mean the same to botocore's Windows splitter (CommandLineToArgvW rules) and to
    ``cmd.exe /C`` as long as the text holds no quote, %, ! and no backslash before a closing quote."""
    parts = []
    for i, arg in enumerate(argv):
        bad = CMD_FORBIDDEN.intersection(arg)
        if bad:
            raise ConfigError(
                f"cannot write {arg!r} into a credential_process line that cmd.exe runs safely "
                f"(it contains {''.join(sorted(bad))!r})",
                "move credproc to a folder without such characters, or pass --credproc-path",
            )
        if i == 0 or not arg or CMD_SPECIAL.intersection(arg):
            if arg.endswith("\\"):
                raise ConfigError(f"cannot quote {arg!r}: it ends with a backslash")
            parts.append(f'"{arg}"')
        else:
            parts.append(arg)
    return " ".join(parts)


def credential_process_line(command: Sequence[str], profile: str, windows: bool | None = None) -> str:
    windows = is_windows() if windows is None else windows
    argv = [*command, "credential-process", "--profile", profile]
    return quote_windows(argv) if windows else quote_posix(argv)


def _warnings(
    environ: Mapping[str, str], edit: config_edit.Edit, display: str, profile: str, resolve: str | None
) -> tuple[str, ...]:
    """What botocore and credproc will do with the written line, asked of their resolution
    (credproc.configure_judge), so a warning is given exactly when it is true."""
    try:
        before = configure_judge.edited_config(environ, edit.before, display)
        cfg = configure_judge.edited_config(environ, edit.after, display)
    except ConfigError as exc:  # e.g. an unparsable credentials file: botocore fails on every profile
        return (f"profile {profile!r} will not resolve: {exc.message}",)
    found: list[str] = []
    replaced = configure_judge.replaced_command(environ, before, profile)
    if replaced is not None:
        found.append(replaced)
    skipped = configure_judge.botocore_skips_the_line(environ, cfg, profile)
    if skipped is not None:
        found.append(
            f"profile {profile!r}: {skipped}; to go through credproc, keep the source in another "
            "profile and use --resolve OTHER"
        )
    elif resolve in (None, profile):
        missing = configure_judge.no_source_behind_the_line(environ, cfg, profile)
        if missing is not None:
            found.append(missing)
    return tuple(found)


def plan(
    environ: Mapping[str, str],
    profile: str,
    settings: Mapping[str, str],
    removals: Sequence[str] = (),
    *,
    command: Sequence[str] | None,
    resolve: str | None = None,
    windows: bool | None = None,
) -> Plan:
    """The edit ``configure`` would make. ``command`` None: write no credential_process line."""
    display = paths.aws_config_file(environ)
    path = os.path.realpath(display)
    updates = dict(settings)
    if command is not None:
        if "credential_process" in {k.lower() for k in updates}:
            raise ConfigError(
                "credential_process is written by configure itself",
                "to write your own, add --no-credential-process",
            )
        updates["credential_process"] = credential_process_line(command, resolve or profile, windows)
    edit = config_edit.set_profile(config.read_text(path, verb="edit"), profile, updates, removals)
    warnings = _warnings(environ, edit, display, profile, resolve) if command is not None else ()
    return Plan(path, display, edit, warnings)


SECRET_KEYS = frozenset({"aws_secret_access_key", "aws_session_token", "aws_security_token"})
_OPTION = re.compile(r"(?P<head>\s*(?P<key>[^=\s\[#;][^=]*?)\s*=\s*)(?P<value>\S.*?)?(?P<end>\r?\n?)\Z", re.S)
MASK = "****"


def is_secret_key(key: str) -> bool:
    key = key.strip().lower()
    return key in SECRET_KEYS or "password" in key or "passphrase" in key


def mask_line(line: str) -> str:
    """A config line with a secret's value replaced by ****, for diffs and listings."""
    found = _OPTION.match(line)
    if not found or not found.group("value") or not is_secret_key(found.group("key")):
        return line
    return found.group("head") + MASK + found.group("end")


def diff(p: Plan) -> str:
    """A unified diff of the edit (line ends shown as they are, so a CRLF file diffs as CRLF);
    secret values (secret key, session token, passwords, passphrases) show as ****."""
    before = [mask_line(line) for line in p.edit.before.splitlines(keepends=True)]
    after = [mask_line(line) for line in p.edit.after.splitlines(keepends=True)]
    lines = difflib.unified_diff(before, after, p.display_path, p.display_path)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def write(p: Plan) -> None:
    """Replace the file atomically, keeping its mode; a new file is 0600 in a 0700 folder."""
    config.replace_text(p.path, p.edit.after, p.display_path)


DEFAULT_TEMPLATE = "{account_name}-{role_name}"
SSO_SUFFIX = ".sso"


@dataclass(frozen=True)
class SsoPlanned:
    name: str
    assignment: Assignment
    text: str


@dataclass(frozen=True)
class SsoPlan:
    new: list[SsoPlanned]
    kept: list[str]  # profile names that exist already and are left alone

    def text(self) -> str:
        return "".join(p.text for p in self.new)


def sso_profile_name(template: str, a: Assignment, session: str) -> str:
    try:
        raw = template.format(
            account_name=a.account_name, account_id=a.account_id, role_name=a.role_name, session=session
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"--name-template {template!r} is not usable ({exc!s})",
            "use the fields {account_name}, {account_id}, {role_name} and {session}",
        ) from None
    name = validate.PROFILE_NAME_UNSAFE.sub("-", raw).strip("-")
    if not name:
        raise ConfigError(f"--name-template {template!r} gives an empty profile name")
    return name


def sso_block(name: str, a: Assignment, session: str, region: str, command: str) -> str:
    return (
        f"\n[profile {name}]\n"
        f"credential_process = {command} credential-process --profile {name}{SSO_SUFFIX}\n"
        f"region = {region}\n"
        f"\n[profile {name}{SSO_SUFFIX}]\n"
        f"sso_session = {session}\n"
        f"sso_account_id = {a.account_id}\n"
        f"sso_role_name = {a.role_name}\n"
        f"region = {region}\n"
    )


def check_sso_inputs(assignments: Sequence[Assignment], session: str, region: str) -> None:
    """Refuse, before anything is written, every value that does not have its strict shape: the
    portal's account ids and role names (a hostile portal could otherwise add lines, even whole
    profiles with a credential_process, to ~/.aws/config), the region and the session name."""
    if not validate.SESSION_NAME.fullmatch(session):
        raise ConfigError(
            f"configure sso: the session name {validate.shown(session)} cannot be written into a profile",
            "use an [sso-session NAME] of letters, digits and _+=,.@:- only",
        )
    validate.region(region, "configure sso: region")
    for a in assignments:
        if not validate.ACCOUNT_ID.fullmatch(str(a.account_id)):
            raise UpstreamError(
                f"configure sso: the portal answered an account id {validate.shown(a.account_id)}, "
                "not 12 digits; nothing was written"
            )
        if not validate.ROLE_NAME.fullmatch(str(a.role_name)):
            raise UpstreamError(
                f"configure sso: the portal answered a role name {validate.shown(a.role_name)} that "
                "IAM does not allow; nothing was written"
            )


def plan_sso(
    assignments: Iterable[Assignment],
    session: str,
    template: str,
    region: str,
    existing: Iterable[str],
    command: str = "credproc",
) -> SsoPlan:
    assignments = list(assignments)
    check_sso_inputs(assignments, session, region)
    have = set(existing)
    new: list[SsoPlanned] = []
    kept: list[str] = []
    for a in sorted(assignments, key=lambda x: (x.account_name, x.account_id, x.role_name)):
        name = sso_profile_name(template, a, session)
        if name in have or name + SSO_SUFFIX in have:
            kept.append(name)
            continue
        have.update((name, name + SSO_SUFFIX))
        new.append(SsoPlanned(name, a, sso_block(name, a, session, region, command)))
    return SsoPlan(new, kept)


def append(config_file: str, text: str) -> None:
    """Append to the config file as one atomic replace (0600 when new; the old mode otherwise; a
    symlinked config file stays a link and the file it points at is updated)."""
    current = config.read_text(config_file)
    if current and not current.endswith("\n"):
        current += "\n"
    config.replace_text(config_file, current + text)


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
        found = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            return found
        names = options.profile_names(os.environ)
        return found + [CompletionItem(n) for n in names if n.startswith(incomplete)]


@click.group("configure", cls=_ProfileOrSubcommand)
def command() -> None:
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


def _profiles_after(config_text: str, environ: Mapping[str, str]) -> set[str]:
    """The profile names once the edit is written (the edited config text, and the credentials file)."""
    headers = [line.header for line in config_edit.classify(config_text) if line.header is not None]
    names = {name for name in map(config_edit.profile_of, headers) if name is not None}
    return names | set(options.profile_names(environ))


class _ProfileCommand(click.Command):
    """Its usage line is what the user typed (``configure PROFILE``), not the internal name."""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        parent = ctx.parent.command_path if ctx.parent else "credproc configure"
        formatter.write_usage(parent, "PROFILE [OPTIONS]")


@command.command(PROFILE_COMMAND, hidden=True, cls=_ProfileCommand)
@click.argument("profile")
@click.option("--region", metavar="R", default=None, help="Set the profile's region.")
@click.option(
    "--set",
    "set_",
    metavar="KEY=VALUE",
    multiple=True,
    help="Set any key of the profile (repeatable), e.g. --set source_profile=base, "
    "--set rolesanywhere_certificate=~/certs/me.pem.",
)
@click.option("--unset", metavar="KEY", multiple=True, help="Remove a key from the profile (repeatable).")
@click.option(
    "--resolve",
    metavar="OTHER",
    default=None,
    help="Make credential_process resolve profile OTHER (default: PROFILE itself; credproc "
    "skips the line that calls it, and uses the profile's other keys).",
)
@click.option("--no-credential-process", is_flag=True, help="Do not write a credential_process line.")
@click.option(
    "--credproc-path",
    metavar="PATH",
    default=None,
    help="The credproc the line runs (default: this one, by absolute path).",
)
@click.option("--dry-run", is_flag=True, help="Print the change as a diff and write nothing.")
def configure_profile_cmd(
    profile: str, region: str | None, set_: tuple[str, ...], unset: tuple[str, ...], **opts: Any
) -> None:
    """Write or update PROFILE's block in ~/.aws/config ($AWS_CONFIG_FILE).

    The block gets `credential_process = /abs/path/credproc credential-process --profile PROFILE`
    plus the keys given. Every other line, comment and section of the file stays byte-for-byte.
    """
    environ = dict(os.environ)
    settings = _pairs(set_)
    if region is not None:
        settings["region"] = region
    command: list[str] | None = None
    if not opts["no_credential_process"]:
        path = opts["credproc_path"]
        command = [os.path.abspath(path)] if path else find_credproc(sys.argv[0], environ)
    planned = plan(environ, profile, settings, unset, command=command, resolve=opts["resolve"])
    for warning in planned.warnings:
        output.warn(warning)
    if opts["resolve"] and opts["resolve"] not in _profiles_after(planned.edit.after, environ):
        # A warning, not an error: the target may be written next; until then the line fails.
        output.warn(
            f"--resolve {opts['resolve']!r} names no profile in the config or credentials file; "
            "the credential_process line fails until that profile exists"
        )
    if not planned.edit.changed:
        output.info(f"profile {profile!r} in {planned.display_path} is already up to date")
        return
    if opts["dry_run"]:
        output.payload(diff(planned))
        return
    write(planned)
    verb = "added" if planned.edit.created else "updated"
    output.info(f"{verb} profile {profile!r} in {planned.display_path}")


@command.command("sso")
@options.sso_session("The [sso-session S] to list roles of.", required=True)
@click.option(
    "--name-template",
    metavar="T",
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="Profile names; fields {account_name} {account_id} {role_name} {session}.",
)
@click.option("--region", metavar="R", default=None, help="region = of the profiles (default: sso_region).")
@click.option("--dry-run", is_flag=True, help="Print the blocks on stdout instead of writing them.")
def configure_sso_cmd(sso_session: str, name_template: str, region: str | None, dry_run: bool) -> None:
    """Write one profile per account and role the session can reach."""
    from credproc.sources.sso import access, portal

    environ = dict(os.environ)
    cfg = config.load(environ)
    session = sso_settings.from_session(environ, cfg, sso_session)
    rt = runtime(environ)
    token = access.valid_token(rt, session, session.login_command())
    try:
        found = list(portal.assignments(rt, session, token.access_token))
    except portal.TokenRefused:
        raise access.needs_login(
            session, "was refused by the portal (signed out or revoked)", session.login_command()
        ) from None
    planned = plan_sso(found, sso_session, name_template, region or session.region, cfg.profiles)
    for name in planned.kept:
        output.info(f"profile {name} exists; left as it is")
    if dry_run:
        output.payload(planned.text().lstrip("\n"))
        return
    if planned.new:
        append(cfg.config_file, planned.text())
    output.info(
        f"wrote {len(planned.new)} profile(s) to {cfg.config_file}"
        + "".join(f"\n  {p.name}" for p in planned.new)
    )
