"""Round-trip-safe editing of one section of an AWS config file.

The file is read as lines (each keeping its own line end, CRLF or LF) and classified the way
Python's ``configparser`` reads it for botocore: full-line comments, blank lines, section headers,
``key = value`` lines and indented continuation lines (nested ``s3 =`` blocks). An edit touches
only the lines of the one section it changes; every other byte is copied through, so comments,
odd spacing, CRLF, ``[sso-session]`` and ``[services]`` blocks come out exactly as they went in.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from credproc.errors import ConfigError

COMMENT_PREFIXES = ("#", ";")
SECTION = re.compile(r"\[(?P<header>.+)\]")  # configparser.SECTCRE, matched on the stripped line
OPTION = re.compile(r"(?P<key>.*?)\s*(?P<sep>[=:])\s*(?P<value>.*)$")  # configparser.OPTCRE
VALUE_PREFIX = re.compile(r"\s*[^=:]*?\s*[=:][ \t]*")  # indent, key, delimiter, spaces before the value
# What a key or value may contain when credproc writes it: one line, no delimiters in keys.
KEY_OK = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class Line:
    text: str  # without its line end
    end: str  # "\r\n", "\n" or "" (the last line of a file without a final newline)
    kind: str  # "blank", "comment", "header", "option", "continuation", "junk"
    header: str | None = None  # for "header": the section name as configparser sees it
    key: str | None = None  # for "option" and its "continuation" lines: the lower-cased key


def split_lines(text: str) -> list[tuple[str, str]]:
    """(content, line end) pairs; only ``\\n`` ends a line (a lone ``\\r`` stays content)."""
    out: list[tuple[str, str]] = []
    for raw in re.findall(r"[^\n]*\n|[^\n]+$", text):
        if raw.endswith("\r\n"):
            out.append((raw[:-2], "\r\n"))
        elif raw.endswith("\n"):
            out.append((raw[:-1], "\n"))
        else:
            out.append((raw, ""))
    return out


def classify(text: str) -> list[Line]:
    """configparser's reading loop, keeping every line (see ``RawConfigParser._read``)."""
    lines: list[Line] = []
    key: str | None = None  # the option a continuation would extend
    indent_level = 0
    in_section = False
    for content, end in split_lines(text):
        stripped = content.strip()
        if stripped.startswith(COMMENT_PREFIXES):
            lines.append(Line(content, end, "comment", key=key))
            continue
        if not stripped:
            lines.append(Line(content, end, "blank", key=key))
            continue
        indent = len(content) - len(content.lstrip())
        if key is not None and indent > indent_level:
            lines.append(Line(content, end, "continuation", key=key))
            continue
        indent_level = indent
        header = SECTION.match(stripped)
        if header:
            in_section = True
            key = None
            lines.append(Line(content, end, "header", header=header.group("header")))
            continue
        option = OPTION.match(stripped)
        if in_section and option and option.group("key").strip():
            key = option.group("key").strip().lower()
            lines.append(Line(content, end, "option", key=key))
        else:
            key = None
            lines.append(Line(content, end, "junk"))
    return lines


def profile_of(header: str) -> str | None:
    """The profile a section header defines for botocore (``build_profile_map``), or None."""
    if header == "default":
        return "default"
    if not header.startswith("profile"):
        return None
    try:
        parts = shlex.split(header)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def header_for(profile: str) -> str:
    """The header of a new section for ``profile``: bare when shlex reads the name back as it is,
    else quoted (double quotes, as the AWS docs write ``[profile "my profile"]``, when they can hold
    the name; shlex's own quoting otherwise)."""
    if profile == "default":
        return "[default]"
    try:
        bare = shlex.split(profile) == [profile] and not any(c in profile for c in "[]")
    except ValueError:  # an unbalanced quote
        bare = False
    if bare:
        return f"[profile {profile}]"
    if not any(c in profile for c in '"\\'):
        return f'[profile "{profile}"]'
    return f"[profile {shlex.quote(profile)}]"


def check_profile_name(profile: str) -> None:
    """Refuse a name botocore cannot read back as itself from the header configure would write:
    botocore keeps a ``[profile X]`` section when ``shlex.split`` of its header gives two words."""
    header = header_for(profile)
    read_back = SECTION.match(header)
    if (
        not profile
        or any(c in profile for c in "\r\n")
        or read_back is None
        or profile_of(read_back.group("header")) != profile
    ):
        raise ConfigError(
            f"profile name {profile!r} cannot be written to the config file",
            "botocore would not read that name back from a [profile ...] header",
        )


def check_item(key: str, value: str) -> None:
    if not KEY_OK.match(key):
        raise ConfigError(f"config key {key!r} is not a valid name (letters, digits, _ - . only)")
    if "\n" in value or "\r" in value:
        raise ConfigError(f"the value of {key} must be a single line")
    if value != value.strip():
        raise ConfigError(f"the value of {key} must not start or end with spaces")


def newline_of(lines: Sequence[Line]) -> str:
    """The line end the file mostly uses (LF for an empty file)."""
    crlf = sum(1 for line in lines if line.end == "\r\n")
    lf = sum(1 for line in lines if line.end == "\n")
    return "\r\n" if crlf > lf else "\n"


@dataclass(frozen=True)
class Span:
    start: int  # index of the header line
    stop: int  # one past the section's last line


def find_section(lines: Sequence[Line], profile: str) -> Span | None:
    """The section botocore takes ``profile`` from: the last one naming it (later ones win)."""
    found: Span | None = None
    for i, line in enumerate(lines):
        if line.kind == "header" and line.header is not None and profile_of(line.header) == profile:
            stop = i + 1
            while stop < len(lines) and lines[stop].kind != "header":
                stop += 1
            found = Span(i, stop)
    return found


def _render(lines: Sequence[Line]) -> str:
    return "".join(line.text + line.end for line in lines)


def _option_line(key: str, value: str, end: str) -> Line:
    return Line(f"{key} = {value}", end, "option", key=key)


def _replace_value(text: str, value: str) -> str:
    """``key = old`` → ``key = value``, keeping everything before the old value exactly as written."""
    prefix = VALUE_PREFIX.match(text)
    if prefix is None:  # cannot happen for a line classified as an option; write a plain one
        return f"{text.strip()} = {value}"
    head = prefix.group(0)
    if head[-1] in "=:" and len(head) > 1 and head[-2].isspace():
        head += " "  # `key =` with an empty value: `key = value`, not `key =value`
    return head + value


def _edit_body(body: list[Line], updates: Mapping[str, str], removals: frozenset[str], nl: str) -> list[Line]:
    """The section's lines after the edit. Changed keys keep their place and their ``key =`` spelling."""
    out: list[Line] = []
    done: set[str] = set()
    for line in body:
        if line.kind == "option" and line.key is not None:
            if line.key in removals:
                continue
            if line.key in updates:
                out.append(Line(_replace_value(line.text, updates[line.key]), line.end, "option", line.key))
                done.add(line.key)
                continue
        if (
            line.kind == "continuation"
            and line.key is not None
            and (line.key in removals or line.key in updates)
        ):
            continue  # the old nested value goes with its key
        out.append(line)
    new = [(k, v) for k, v in updates.items() if k not in done]
    if not new:
        return out
    # New keys go after the section's last option, before the blank lines and comments that
    # separate it from (and usually describe) the next section.
    insert_at = 0
    for i, line in enumerate(out):
        if line.kind in ("header", "option", "continuation", "junk"):
            insert_at = i + 1
    if insert_at and not out[insert_at - 1].end:
        last = out[insert_at - 1]
        out[insert_at - 1] = Line(last.text, nl, last.kind, last.header, last.key)
    added = [_option_line(k, v, nl) for k, v in new]
    return [*out[:insert_at], *added, *out[insert_at:]]


@dataclass(frozen=True)
class Edit:
    before: str
    after: str
    created: bool  # the section did not exist and was appended

    @property
    def changed(self) -> bool:
        return self.before != self.after


def set_profile(text: str, profile: str, updates: Mapping[str, str], removals: Sequence[str] = ()) -> Edit:
    """Write ``updates`` into ``profile``'s section (adding it at the end if missing), drop ``removals``."""
    check_profile_name(profile)
    for key, value in updates.items():
        check_item(key, value)
    lowered = {k.lower(): v for k, v in updates.items()}
    gone = frozenset(k.lower() for k in removals) - set(lowered)
    lines = classify(text)
    nl = newline_of(lines)
    span = find_section(lines, profile)
    if span is None:
        if not lowered:
            return Edit(text, text, created=False)
        head = list(lines)
        if head and not head[-1].end:
            last = head[-1]
            head[-1] = Line(last.text, nl, last.kind, last.header, last.key)
        block = [Line(header_for(profile), nl, "header", header=header_for(profile)[1:-1])]
        block += [_option_line(k, v, nl) for k, v in lowered.items()]
        sep = [Line("", nl, "blank")] if head and head[-1].text.strip() else []
        return Edit(text, _render(head) + _render(sep) + _render(block), created=True)
    body = _edit_body(list(lines[span.start : span.stop]), lowered, gone, nl)
    after = _render(lines[: span.start]) + _render(body) + _render(lines[span.stop :])
    return Edit(text, after, created=False)
