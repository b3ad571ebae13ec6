"""``credproc credential-process``: one credential JSON object, through the answer cache."""

from __future__ import annotations

import os
from collections.abc import Mapping

import click

from credproc import cachekey, flags, options, output
from credproc.cache import EntryMeta
from credproc.credentials import Credentials
from credproc.profiles import selected_profile
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
    key = cachekey.answer_key(options, ctx.environ)
    meta = EntryMeta(kind="answer", profile=profile, source=source_kind, label=label)
    return ctx.cache.obtain(key, fetch, meta, deps)


def run(ctx: Context, profile: str, options: Mapping[str, str]) -> str:
    from credproc import aws, hardening

    hardening.no_core_dumps()  # the slow path holds upstream secrets; the hit path never gets here
    with aws.budget():  # the Go SDK kills a credential_process after 60 s
        return resolve_answer(ctx, profile, options).to_process_json()


@click.command("credential-process")
@options.from_table(flags.CREDENTIAL_PROCESS)
def command(**opts: object) -> None:
    """Print one credential_process JSON object (use in ~/.aws/config)."""
    environ = dict(os.environ)
    given = {k: ("1" if v is True else str(v)) for k, v in opts.items() if v not in (None, False)}
    ctx = options.make_context(
        environ,
        no_cache=bool(opts["no_cache"]),
        refresh_window=given.get("refresh_window"),
        region=given.get("region"),
        mfa_token=given.get("mfa_token"),
        auto_login=bool(opts["auto_login"]),
        verify_ssl=not opts["no_verify_ssl"],
    )
    output.payload(run(ctx, selected_profile(given.get("profile"), environ), given))
