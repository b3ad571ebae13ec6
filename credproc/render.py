"""Pure renderers: EnvChanges as statements a shell (or a tool) evaluates.

Every value is quoted so that no input, a region or profile name from a config file included,
can run code in the shell that evaluates it. A value a format cannot carry exactly is refused
with a clear error naming the variable, never printing the value (it may be a secret).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping

from credproc.envbuild import EnvChanges
from credproc.errors import ConfigError, UsageError

FORMATS = ("bash", "zsh", "sh", "fish", "powershell", "cmd", "dotenv", "json")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# PowerShell treats the typographic single quotes as quotes too (about_Quoting_Rules); each one
# inside a single-quoted string is doubled, like the ASCII one.
PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
PS_NON_ASCII = re.compile(r"([^\x00-\x7f]+)")
# cmd expands %...% (and !...! with delayed expansion) even inside double quotes, cannot escape a
# double quote inside one, ends a statement at a line break, and reads the console's code page.
CMD_SAFE = re.compile(r"[\x20-\x7e]*")
CMD_UNSAFE = set('"%!^')


def _check_common(name: str, value: str) -> None:
    if not NAME.fullmatch(name):  # names are credproc's own constants; this guards future ones
        raise ConfigError(f"refusing to render the variable name {name!r}")
    if "\0" in value:
        raise ConfigError(f"the value of {name} contains a NUL character, which no environment can hold")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"the value of {name} is not valid Unicode text") from None


def _refuse(name: str, fmt: str, why: str) -> ConfigError:
    return ConfigError(
        f"the value of {name} cannot be carried safely in {fmt} format ({why})",
        "use another --format (bash, fish, powershell, json), or `credproc exec`",
    )


def posix_quote(value: str) -> str:
    """Single quotes: nothing inside is special to sh, bash, dash or zsh except the quote itself."""
    return "'" + value.replace("'", "'\\''") + "'"


def fish_quote(value: str) -> str:
    """fish single quotes: only ``\\'`` and ``\\\\`` are escapes inside them."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def powershell_quote(value: str) -> str:
    """A verbatim (single-quoted) string: no $ expansion, no escapes; quotes are doubled."""
    return "'" + "".join(c + c if c in PS_SINGLE_QUOTES else c for c in value) + "'"


def powershell_value(value: str) -> str:
    """An ASCII-only PowerShell expression for ``value``.

    The PowerShell that reads ``credproc env`` decodes a native command's output with its console's
    encoding, whatever that is (often not UTF-8 on Windows), so a non-ASCII character could arrive
    as another one, a typographic quote included. ASCII runs are verbatim strings; every other
    character is written by its code point, ``[char]0x00E9`` (``[char]::ConvertFromUtf32(...)``
    beyond U+FFFF). The expression always starts with a string, so ``+`` concatenates.
    """
    if value.isascii():
        return powershell_quote(value)
    parts = [
        powershell_quote(run) if run.isascii() else _powershell_chars(run)
        for run in PS_NON_ASCII.split(value)
        if run
    ]
    if not parts[0].startswith("'"):
        parts.insert(0, "''")
    return " + ".join(parts)


def _powershell_chars(run: str) -> str:
    return " + ".join(_powershell_char(ord(c)) for c in run)


def _powershell_char(point: int) -> str:
    return f"[char]0x{point:04X}" if point <= 0xFFFF else f"[char]::ConvertFromUtf32(0x{point:X})"


def cmd_value(name: str, value: str) -> str:
    if not CMD_SAFE.fullmatch(value):  # not match(): `$` also matches before a final newline
        raise _refuse(name, "cmd", "a line break, control or non-ASCII character")
    bad = sorted(CMD_UNSAFE.intersection(value))
    if bad:
        raise _refuse(name, "cmd", "it contains " + " ".join(bad))
    return value


def dotenv_value(name: str, value: str) -> str:
    # dotenv readers disagree on escapes and interpolation inside double quotes and on backslashes
    # inside single quotes (docker compose: literal; python-dotenv: escapes); single quotes without
    # those characters mean the same to all of them.
    if any(c in value for c in "'\\\n\r"):
        raise _refuse(name, "dotenv", "a quote, backslash or line break")
    return "'" + value + "'"


def _posix(changes: EnvChanges) -> str:
    lines = [f"unset {name}" for name in changes.unset]
    lines += [f"export {name}={posix_quote(value)}" for name, value in changes.set]
    return "".join(line + "\n" for line in lines)


def _fish(changes: EnvChanges) -> str:
    # `set -e` of an absent variable fails, and fish keeps that status across a following
    # `set -gx X ''`: `or true` keeps `credproc env | source; and ...` working.
    lines = [f"set -e {name}; or true" for name in changes.unset]
    lines += [f"set -gx {name} {fish_quote(value)}" for name, value in changes.set]
    return "".join(line + ";\n" for line in lines)


def _powershell(changes: EnvChanges) -> str:
    lines = [f"Remove-Item -LiteralPath Env:{name} -ErrorAction SilentlyContinue" for name in changes.unset]
    lines += [f"$Env:{name} = {powershell_value(value)}" for name, value in changes.set]
    return "".join(line + "\n" for line in lines)


def _cmd(changes: EnvChanges) -> str:
    # `set "NAME=value"`: the quotes keep & | < > ( ) literal and drop trailing spaces; an empty
    # value removes the variable.
    lines = [f'set "{name}="' for name in changes.unset]
    lines += [f'set "{name}={cmd_value(name, value)}"' for name, value in changes.set]
    return "".join(line + "\r\n" for line in lines)


def _dotenv(changes: EnvChanges) -> str:
    if changes.unset and not changes.set:
        raise UsageError("dotenv files cannot remove variables; use another --format with --unset")
    return "".join(f"{name}={dotenv_value(name, value)}\n" for name, value in changes.set)


def _json(changes: EnvChanges) -> str:
    # null means "remove": a tool applying the object knows exactly what to unset.
    data: dict[str, str | None] = dict.fromkeys(changes.unset)
    data.update(changes.set)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


RENDERERS: Mapping[str, Callable[[EnvChanges], str]] = {
    "bash": _posix,
    "zsh": _posix,
    "sh": _posix,
    "fish": _fish,
    "powershell": _powershell,
    "cmd": _cmd,
    "dotenv": _dotenv,
    "json": _json,
}


def render(changes: EnvChanges, fmt: str) -> str:
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None
    for name, value in changes.set:
        _check_common(name, value)
    for name in changes.unset:
        _check_common(name, "")
    return renderer(changes)


SHELL_FORMATS = {
    "bash": "bash",
    "zsh": "zsh",
    "fish": "fish",
    "sh": "sh",
    "dash": "sh",
    "ash": "sh",
    "ksh": "sh",
    "mksh": "sh",
    "ksh93": "sh",
    "busybox": "sh",
    "pwsh": "powershell",
    "powershell": "powershell",
    "cmd": "cmd",
}


def format_for_shell(program: str | None) -> str | None:
    """Map a shell's program name (``-bash``, ``/usr/bin/zsh``, ``pwsh.exe``) to a format."""
    if not program:
        return None
    base = re.split(r"[\\/]", program.strip())[-1].lstrip("-").lower()
    if base.endswith(".exe"):
        base = base[:-4]
    return SHELL_FORMATS.get(base)


def guess_format(parent: str | None, environ: Mapping[str, str], windows: bool) -> str:
    """The parent process's shell, else $SHELL (POSIX), else ``sh``; ``powershell`` on Windows."""
    found = format_for_shell(parent)
    if found is not None:
        return found
    if windows:
        return "powershell"
    return format_for_shell(environ.get("SHELL")) or "sh"


def parent_program(ppid: int | None = None, proc: str = "/proc") -> str | None:
    """The parent's program name where the OS tells it cheaply (Linux /proc), else None."""
    pid = os.getppid() if ppid is None else ppid
    try:
        with open(os.path.join(proc, str(pid), "comm"), encoding="utf-8", errors="replace") as fh:
            return fh.read().strip() or None
    except OSError:
        return None
