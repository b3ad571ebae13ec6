"""The interface every credential source implements, what most of them share, and the context
they resolve in."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from credproc.cache import Cache
from credproc.config import AwsConfig
from credproc.credentials import Credentials, format_expiration
from credproc.errors import UpstreamError

if TYPE_CHECKING:
    from credproc.terminal import Terminal


class Source(Protocol):
    """One way of getting credentials.

    ``identity`` is a string that is equal for two sources exactly when they would give the same
    answer; it names the cache entry (hashed) and feeds the identity of sources built on top of
    this one. ``cacheable`` is False for long-term keys, which are never written to disk.
    """

    @property
    def kind(self) -> str: ...

    @property
    def profile(self) -> str | None: ...

    @property
    def identity(self) -> str: ...

    @property
    def cacheable(self) -> bool: ...

    def fetch(self, ctx: Context) -> Credentials: ...

    def describe(self) -> list[str]: ...

    def deps(self) -> list[str]: ...

    def parents(self) -> tuple[Source, ...]: ...

    def details(self) -> dict[str, str]: ...

    def botocore_method(self) -> str | None: ...


class SourceDefaults:
    """What most sources share, as class attributes: a source states only what differs
    (``kind`` always; ``cacheable = False`` for long-term keys; ``deps`` for files it reads).

    Read-only introspection, for ``doctor`` (which draws a resolution from the sources that
    ``resolve.build_source`` returns, so it follows any change of the provider order):
    ``parents`` are the hops this one is built on (what signs its call); ``details`` are what a
    person needs to know of the hop, never a secret (key ids masked, a program's name without
    its arguments); ``botocore_method`` is the botocore provider (its ``METHOD``, as
    ``aws configure list`` names it) that gives this answer for the source's profile, None for
    credproc's own sources, which botocore does not have."""

    kind: ClassVar[str]
    cacheable: ClassVar[bool] = True

    def deps(self) -> list[str]:
        return []

    def parents(self) -> tuple[Source, ...]:
        return ()

    def details(self) -> dict[str, str]:
        return {}

    def botocore_method(self) -> str | None:
        return None


@dataclass(frozen=True, kw_only=True)
class RoleSource(SourceDefaults):
    """What the sources that assume ``role_arn`` through STS share (AssumeRole,
    AssumeRoleWithWebIdentity): the role, where STS is, the session's name, and the call.
    Keyword-only, so a subclass adds its own fields, with or without defaults, in any order."""

    profile: str
    role_arn: str
    region: str
    endpoint: str | None
    session_name: str | None = None

    def role_params(self, ctx: Context) -> dict[str, object]:
        """The call's first parameters: the role, and the session named ``session_name``, else
        credproc-<now>."""
        return {
            "RoleArn": self.role_arn,
            "RoleSessionName": self.session_name or f"credproc-{int(ctx.clock())}",
        }

    def assume(
        self, ctx: Context, operation: str, api: str, params: Mapping[str, object], creds: Credentials | None
    ) -> Credentials:
        """The STS ``operation`` (botocore's name of ``api``) on ``role_arn``, signed with ``creds``."""
        return sts_call(
            ctx,
            operation,
            f"{api} {self.role_arn}",
            params,
            region=self.region,
            endpoint=self.endpoint,
            creds=creds,
        )


@dataclass(frozen=True)
class Context:
    """Everything a resolution may read, injected so tests pass their own world. Frozen: one
    resolution sees one world (``dataclasses.replace`` makes a changed copy)."""

    environ: Mapping[str, str]
    config: AwsConfig
    cache: Cache
    terminal: Terminal
    warn: Callable[[str], None]
    clock: Callable[[], float] = time.time
    region: str | None = None  # --region: overrides every profile's region
    mfa_token: str | None = None
    auto_login: bool = False
    verify_ssl: bool = True
    stack: tuple[str, ...] = ()  # profiles being resolved, outermost first (loop detection)


# An upstream answer must be good for at least this long: botocore refreshes credentials with less
# than 10 minutes left before every call, so shorter ones would have the SDK call us again and again
# (the same floor as stale-on-error, cache.STALE_FLOOR_SECONDS).
MIN_UPSTREAM_LIFETIME = 10 * 60
# The shortest session AWS issues is 15 minutes; less than this left on arrival (a minute of slack
# for latency and small skew) means the clocks disagree: served, but not silently.
SHORT_UPSTREAM_LIFETIME = 14 * 60
# No AWS session lasts longer (GetSessionToken: 36 h); an expiration further out means a skewed clock.
MAX_UPSTREAM_LIFETIME = 37 * 3600


def vetted(ctx: Context, source: Source, creds: Credentials) -> Credentials:
    """Refuse fresh credentials that are already expired or about to be (a clock skewed by hours on
    either side, or a broken upstream); warn about ones that outlive anything AWS issues."""
    left = creds.seconds_left(ctx.clock())
    if left is None or creds.expiration is None:
        return creds
    when = format_expiration(creds.expiration)
    if left < MIN_UPSTREAM_LIFETIME:
        state = "already expired" if left <= 0 else f"expire in {int(left)} s"
        raise UpstreamError(
            f"{source.describe()[0]} returned credentials that {state} (Expiration {when})",
            "the local clock or the service's is off: compare `date -u` with the real time",
        )
    if left < SHORT_UPSTREAM_LIFETIME:
        ctx.warn(
            f"{source.describe()[0]} returned credentials expiring {when}, only {int(left // 60)} minutes "
            "from now, sooner than any AWS session; the local clock may be ahead"
        )
    elif left > MAX_UPSTREAM_LIFETIME:
        ctx.warn(
            f"{source.describe()[0]} returned credentials expiring {when}, {int(left // 3600)} hours "
            "from now, longer than AWS issues; the local clock may be behind"
        )
    return creds


def sts_call(
    ctx: Context,
    operation: str,
    what: str,
    params: Mapping[str, object],
    *,
    region: str,
    endpoint: str | None,
    creds: Credentials | None,
    answer_what: str | None = None,
) -> Credentials:
    """The credentials of one STS ``operation`` (``assume_role``, ``get_session_token``...), signed
    with ``creds`` (unsigned when None): a failed call is named ``what``, an answer without its
    Credentials block ``answer_what`` (``what`` unless given)."""
    from credproc import aws

    sts = aws.client(
        "sts", region=region, endpoint=endpoint, creds=creds, environ=ctx.environ, verify_ssl=ctx.verify_ssl
    )
    with aws.calling(what):
        answer = getattr(sts, operation)(**params)
    return aws.sts_credentials(answer_what or what, answer)


def obtain(ctx: Context, source: Source) -> Credentials:
    """Fetch through the cache: one refresher per hop, stale-on-error (see ``Cache.obtain``)."""

    def fetch() -> Credentials:
        return vetted(ctx, source, source.fetch(ctx))

    # Cache.obtain would fetch straight away too; checked here first so an uncached run imports
    # no cache module and builds no entry record.
    if not source.cacheable or not ctx.cache.enabled:
        return fetch()
    from credproc.cache import EntryMeta, hop_key

    meta = EntryMeta(kind="hop", profile=source.profile or "", source=source.kind, label=source.describe()[0])
    return ctx.cache.obtain(hop_key(source.identity), fetch, meta, source.deps)
