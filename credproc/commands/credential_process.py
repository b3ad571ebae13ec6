"""``credential-process``: one credential JSON object, through the answer cache."""

from __future__ import annotations

from collections.abc import Mapping

from credproc import fastpath
from credproc.credentials import Credentials
from credproc.resolve import build_source, resolve_source
from credproc.sources.base import Context


def resolve_answer(ctx: Context, profile: str, options: Mapping[str, str]) -> Credentials:
    """Resolve, caching the final answer under the fast path's key so the next run is a hit."""
    from credproc.sources.rolesanywhere.source import from_flags

    flag_source = from_flags(ctx, options)
    if flag_source is not None:
        from credproc.sources.base import obtain

        def fetch() -> Credentials:
            return obtain(ctx, flag_source)

        label, source_kind, deps = flag_source.describe()[0], flag_source.kind, flag_source.deps
    else:
        source = build_source(ctx, profile)
        def fetch() -> Credentials:
            return resolve_source(ctx, profile, source)

        label, source_kind, deps = source.describe()[0], source.kind, source.deps
    if not ctx.cache.enabled:
        return fetch()
    key = fastpath.cache_key(options, ctx.environ)
    meta = {"kind": "answer", "profile": profile, "source": source_kind, "label": label}
    return ctx.cache.obtain(key, fetch, meta, deps)


def run(ctx: Context, profile: str, options: Mapping[str, str]) -> str:
    from credproc import aws

    with aws.budget():  # the Go SDK kills a credential_process after 60 s
        return resolve_answer(ctx, profile, options).to_process_json()
