"""The one parser of durations given in seconds (flags, CREDPROC_* variables, profile keys). Stdlib only."""

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


def whole_seconds(raw: str | None, what: str, *, default: int, low: int, high: int, unit: str = "") -> int:
    """A profile's duration key: ``default`` when unset, else a whole number of seconds within
    ``[low, high]``, or a ConfigError naming ``what`` (``unit`` follows the range in the message)."""
    from credproc.errors import ConfigError

    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{what} is {raw!r}, not a number of seconds") from None
    if not low <= value <= high:
        raise ConfigError(f"{what} is {value}; it must be between {low} and {high}{unit}")
    return value
