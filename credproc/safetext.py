"""Text from the network (AWS error messages, an SSO portal's answers, a browser's callback) made
safe to show a person: no control character reaches a terminal, so an escape sequence cannot
repaint the screen, retitle the window, or forge a line of credproc's own.

Every message on stderr and the terminal goes through :func:`printable`; credproc's own messages
have no control characters, so they pass unchanged.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text
# (zero-width, line/paragraph separators, bidirectional embeddings, overrides and isolates, BOM).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


def _escape(match: re.Match[str]) -> str:
    point = ord(match.group())
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def printable(text: str) -> str:
    """``text`` with every control and invisible format character written as a visible escape."""
    return _UNSAFE.sub(_escape, text)
