"""Pieces several commands share: the profile option, building a resolution context."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from credproc import config, fastpath, output
from credproc.cache import Cache
from credproc.errors import UsageError
from credproc.sources.base import Context
from credproc.sources.process import guard_stack
from credproc.terminal import Terminal

F = TypeVar("F", bound=Callable[..., Any])


def profile_option(f: F) -> F:
    return click.option(
        "--profile", "-p", metavar="P", default=None,
        help="Profile to resolve (default: $AWS_PROFILE, else 'default').",
    )(f)


def profile_name(given: str | None, environ: Mapping[str, str]) -> str:
    return given or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"


def parse_window(raw: str | None, environ: Mapping[str, str]) -> float:
    window = fastpath.refresh_window({"refresh_window": raw} if raw is not None else {}, environ)
    if window is None:
        raise UsageError(
            f"--refresh-window / CREDPROC_REFRESH_WINDOW must be a number of seconds >= 0, got {raw!r}"
        )
    return window


def make_context(
    environ: Mapping[str, str] | None = None,
    *,
    no_cache: bool = False,
    refresh_window: str | None = None,
    **fields: Any,
) -> Context:
    env = dict(os.environ if environ is None else environ)
    window = parse_window(refresh_window, env)
    cache = Cache.open(env, window, output.warn, enabled=not no_cache)
    return Context(
        environ=env,
        config=config.load(env),
        cache=cache,
        terminal=Terminal(),
        warn=output.warn,
        stack=guard_stack(env),
        **fields,
    )
