"""The profile-name rule: ``--profile``, then ``AWS_PROFILE``, then ``AWS_DEFAULT_PROFILE``, then
``default`` (the AWS CLI's order). Stdlib only: the exec fast path uses it."""

from __future__ import annotations

TYPE_CHECKING = False  # see credproc/flags.py: no typing import on the hit path
if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT = "default"


def selected_profile(given: str | None, environ: Mapping[str, str]) -> str:
    return given or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or DEFAULT
