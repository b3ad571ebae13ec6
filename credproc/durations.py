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


class Bounds:
    """The whole seconds a profile's duration key may hold, and what it is when unset; each source
    states its service's range once, as data. A plain class (not a dataclass): this module is on
    the cache-hit path, which does not import dataclasses."""

    __slots__ = ("default", "high", "low", "unit")

    def __init__(self, *, default: int, low: int, high: int, unit: str = "") -> None:
        self.default, self.low, self.high, self.unit = default, low, high, unit

    def parse(self, raw: str | None, what: str) -> int:
        """``default`` when unset, else a whole number of seconds within ``[low, high]``, or a
        ConfigError naming ``what`` (``unit`` follows the range in the message)."""
        from credproc.errors import ConfigError

        if raw is None:
            return self.default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{what} is {raw!r}, not a number of seconds") from None
        if not self.low <= value <= self.high:
            raise ConfigError(f"{what} is {value}; it must be between {self.low} and {self.high}{self.unit}")
        return value
