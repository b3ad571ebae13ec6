"""``credproc configure PROFILE``: write or update one profile block of ``~/.aws/config``.

The block gets a ``credential_process`` line that runs this very credproc by absolute path, plus
the keys given (region, the source's keys). Everything else in the file stays byte-for-byte
(see credproc.config_edit). The write is atomic and keeps the file's mode and symlink.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shlex
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from credproc import config_edit, paths
from credproc.errors import ConfigError
from credproc.platform import is_windows

# Keys that make botocore resolve the profile itself, before it ever looks at credential_process.
BOTOCORE_FIRST = (
    "role_arn", "web_identity_token_file", "sso_session", "sso_start_url", "aws_access_key_id",
    "credential_source",
)
# Keys that give a profile a source credproc resolves (besides keys in the keyring).
SOURCE_KEYS = frozenset({*BOTOCORE_FIRST, "source_profile", "aws_secret_access_key"})
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


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"cannot edit {path}: it is not UTF-8 text") from None


def _block_keys(text: str, profile: str) -> set[str]:
    lines = config_edit.classify(text)
    span = config_edit.find_section(lines, profile)
    if span is None:
        return set()
    return {line.key for line in lines[span.start:span.stop] if line.kind == "option" and line.key}


def _warnings(text: str, profile: str, with_process: bool, resolve: str | None,
              credentials_keys: set[str]) -> tuple[str, ...]:
    if not with_process:
        return ()
    keys = _block_keys(text, profile) | credentials_keys
    first = [k for k in BOTOCORE_FIRST if k in keys]
    if first:
        return (
            f"profile {profile!r} also has {', '.join(first)}: the AWS CLI and SDKs use "
            f"{'that' if len(first) == 1 else 'those'} themselves and never run its credential_process; "
            "to go through credproc, keep the source in another profile and use --resolve OTHER",
        )
    if resolve in (None, profile) and not keys & SOURCE_KEYS \
            and not any(k.startswith("rolesanywhere_") for k in keys):
        return (
            f"profile {profile!r} has no source of credentials besides this line: credproc will look "
            f"for keys in the keyring (`credproc keys add {profile}`), or add a source with --set",
        )
    return ()


def _credentials_file_keys(environ: Mapping[str, str], profile: str) -> set[str]:
    from credproc.config import parse as _parse

    try:
        section = _parse(paths.aws_credentials_file(environ), as_profiles=False).get(profile, {})
    except ConfigError:
        return set()
    return set(section)


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
    edit = config_edit.set_profile(_read(path), profile, updates, removals)
    warnings = _warnings(edit.after, profile, command is not None, resolve,
                         _credentials_file_keys(environ, profile))
    return Plan(path, display, edit, warnings)


def diff(p: Plan) -> str:
    """A unified diff of the edit (line ends shown as they are, so a CRLF file diffs as CRLF)."""
    before = p.edit.before.splitlines(keepends=True)
    after = p.edit.after.splitlines(keepends=True)
    lines = difflib.unified_diff(before, after, p.display_path, p.display_path)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def write(p: Plan) -> None:
    """Replace the file atomically, keeping its mode; a new file is 0600 in a 0700 folder."""
    folder = os.path.dirname(p.path) or "."
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        try:
            mode = stat.S_IMODE(os.stat(p.path).st_mode)
        except FileNotFoundError:
            mode = 0o600
        fd, tmp = tempfile.mkstemp(prefix=".config-", dir=folder)
    except OSError as exc:
        raise ConfigError(f"cannot write {p.display_path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(p.edit.after.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, p.path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ConfigError(f"cannot write {p.display_path}: {exc.strerror}") from None
