"""The one parser of durations given in seconds (flags and CREDPROC_* variables). Stdlib only."""

from __future__ import annotations


def seconds(raw: str, *, minimum: float = 0, inclusive: bool = True) -> float | None:
    """``raw`` as a number of seconds >= ``minimum`` (> with ``inclusive`` False), else None."""
    try:
        value = float(raw)
    except ValueError:
        return None
    if not (value >= minimum if inclusive else value > minimum):  # also refuses NaN
        return None
    return value
