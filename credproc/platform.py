"""The platform decision, made in one place.

Everything that behaves differently on Windows takes a ``windows`` argument whose default comes
from here, so tests exercise the Windows branch on Linux by passing ``windows=True`` (or by
monkeypatching ``IS_WINDOWS``) instead of faking ``sys.platform`` everywhere.
"""

from __future__ import annotations

import sys

IS_WINDOWS: bool = sys.platform == "win32"


def is_windows() -> bool:
    """Read at call time so a monkeypatched IS_WINDOWS takes effect everywhere."""
    return IS_WINDOWS
