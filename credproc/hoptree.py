"""A profile's resolution as a tree of hops (for ``doctor``): each hop's source, what is cached for
it, and the first hop that would fail. Nothing here prints or talks to the network.

The tree is drawn from what ``resolve.build_source`` returns and from each source's read-only
``parents``, ``details`` and ``botocore_method``, so a change of the provider order in
``resolve.chain`` shows here without a change here. When a resolution fails, the failing hop is
found with the same code: the profiles that the failing one names (``source_profile``, the profile
of a ``credential_process`` line calling credproc) are replaced by stand-ins holding placeholder
keys in a copy of the config, and the profile is built again. If it builds now, its own hop is
sound and the fault lies in the profiles it uses, which are explored the same way; if not, the
fault is its own.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from credproc import cachedir, cachefile
from credproc.cachekey import hop_key
from credproc.config import AwsConfig, ProfileRecord, Section, read_profile
from credproc.credentials import minutes_left
from credproc.errors import ConfigError, CredprocError
from credproc.resolve import build_source
from credproc.sources.base import Context, Source
from credproc.sources.process import credproc_arguments, credproc_target, split_command

# A stand-in profile's keys: well-formed, obviously fake, only ever in a config copy in memory.
STANDIN_KEY_ID = "credproc-doctor-stand-in"  # not key-shaped on purpose: never sent, never mistaken for one
STANDIN_SECRET = "credproc-doctor-stand-in-not-a-secret"  # noqa: S105 - a placeholder, never sent
# A credential_process line that is not credproc: put in place of a profile's own credproc line, it
# shows whether the process provider comes before the provider credproc chose (see aws_cli).
PROBE_COMMAND = "credproc-doctor-probe"

# CacheState.state
CACHED, EXPIRED, NOT_CACHED, NEVER, UNUSABLE = "cached", "expired", "none", "never", "unusable"
# TokenState.state
VALID, REFRESHABLE, TOKEN_EXPIRED, MISSING, UNREADABLE = (
    "valid",
    "refreshable",
    "expired",
    "missing",
    "unreadable",
)


@dataclass(frozen=True)
class CacheState:
    # CACHED, EXPIRED, NOT_CACHED, NEVER (long-term keys: never written to disk), or UNUSABLE (the
    # cache folder is one credproc does not use: open to others, or not yours)
    state: str
    expires: int | None = None  # Unix time
    minutes_left: int | None = None  # credentials.minutes_left, the rule of every listing
    fresh: bool = False  # False: the next use refreshes it upstream first


@dataclass(frozen=True)
class TokenState:
    """The SSO token a hop signs in with, judged by the SSO module's own reader."""

    state: str  # VALID, REFRESHABLE, TOKEN_EXPIRED, MISSING or UNREADABLE
    path: str
    seconds_left: float | None = None  # negative once expired

    @property
    def minutes_left(self) -> int | None:
        return None if self.seconds_left is None else minutes_left(self.seconds_left)


@dataclass(frozen=True)
class Failure:
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Hop:
    """One hop: a source (``kind`` set), or a profile that could not be built (``kind`` None)."""

    profile: str | None
    kind: str | None
    label: str  # the source's describe()[0], or "profile 'x'"
    details: tuple[tuple[str, str], ...] = ()
    cache: CacheState | None = None  # None: unknown (the hop is built on a broken one)
    sso_token: TokenState | None = None
    error: Failure | None = None
    parents: tuple[Hop, ...] = ()

    def failing(self) -> Hop | None:
        """The first hop that would fail. Parents are fetched before the hop built on them, so
        that is the deepest hop with an error."""
        for parent in self.parents:
            found = parent.failing()
            if found is not None:
                return found
        return self if self.error is not None else None


@dataclass(frozen=True)
class AwsCli:
    """What the AWS CLI (botocore) does for the profile: its provider's ``METHOD`` name (None:
    botocore finds no credentials there), and whether that provider runs credproc."""

    provider: str | None
    through_credproc: bool
    # The profile below where botocore, resolving on its own, finds nothing: its hop is one only
    # credproc makes (keys in the keyring, Roles Anywhere) and it has no credproc line.
    stops_at: str | None = None


@dataclass(frozen=True)
class Tree:
    profile: str
    root: Hop
    aws_cli: AwsCli | None  # None: undecided (the profile's lines cannot be read)


@dataclass(frozen=True)
class Probe:
    """What the tree reads besides the config: all of it local."""

    now: float
    cache_dir: cachedir.Folder | None  # None: no cache folder credproc would use
    cache_missing: bool = False  # the folder does not exist yet: nothing is cached, nothing is wrong
    refresh_window: float = cachefile.DEFAULT_REFRESH_WINDOW
    # Why a credential_process program cannot run ("which is not on PATH"), or None.
    program_missing: Callable[[str], str | None] = lambda program: None
    # The one line shown for a failed resolution (doctor words a self-loop as one).
    explain: Callable[[str, CredprocError], str] = lambda profile, exc: exc.message


def build(ctx: Context, profile: str, probe: Probe) -> Tree:
    explorer = _Explorer(ctx, probe)
    root = explorer.explore(profile, ())
    return Tree(profile, root, aws_cli(ctx, profile, explorer.top_source))


class _Explorer:
    def __init__(self, ctx: Context, probe: Probe) -> None:
        self.ctx = ctx
        self.probe = probe
        self.top_source: Source | None = None  # the root profile's source, if it builds at all

    def explore(self, name: str, stack: tuple[str, ...]) -> Hop:
        try:
            source = build_source(self.ctx, name, stack)
        except CredprocError as exc:
            return self._failed(name, stack, exc)
        if not stack:
            self.top_source = source
        return self._hop(source, lambda profile: self.explore(profile, (*stack, name)))

    def _failed(self, name: str, stack: tuple[str, ...], exc: CredprocError) -> Hop:
        failure = Failure(self.probe.explain(name, exc), exc.hint)
        unbuildable = Hop(name, None, f"profile {name!r}", error=failure)
        if name in (*self.ctx.stack, *stack) or name not in self.ctx.config.profiles:
            return unbuildable  # a loop closes here, or the profile is not in the files
        used = _referred(self.ctx, name) - {name}
        if not used:
            return unbuildable
        standin_ctx = dataclasses.replace(self.ctx, config=with_standins(self.ctx.config, used))
        try:
            source = build_source(standin_ctx, name)
        except CredprocError:
            return unbuildable  # not even sound profiles below make it build: the fault is its own
        if not stack:
            self.top_source = source

        def below(profile: str) -> Hop:
            if profile not in self.ctx.config.profiles:  # named but absent: the error said so
                return Hop(profile, None, f"profile {profile!r}", error=failure)
            return self.explore(profile, (*stack, name))

        hop = self._hop(source, below)
        if hop.failing() is None:  # every hop is sound alone: the fault is in putting them together
            hop = dataclasses.replace(hop, error=failure)
        return hop

    def _hop(self, source: Source, standin_hop: Callable[[str], Hop]) -> Hop:
        parents = tuple(
            standin_hop(parent.profile)
            if is_standin(parent) and parent.profile
            else self._hop(parent, standin_hop)
            for parent in source.parents()
        )
        token = self._sso_token(source)
        over_standin = STANDIN_KEY_ID in source.identity  # its real identity is unknown: so is its cache
        return Hop(
            profile=source.profile,
            kind=source.kind,
            label=source.describe()[0],
            details=tuple(self._details(source).items()),
            cache=None if over_standin else self._cache(source),
            sso_token=token,
            error=self._predicted_failure(source, token),
            parents=parents,
        )

    def _details(self, source: Source) -> dict[str, str]:
        found = dict(source.details())
        config = self.ctx.config
        # Static keys: which file exactly (the source knows which of the two).
        path = {"credentials file": config.credentials_file, "config file": config.config_file}.get(
            found.get("from", "")
        )
        if path:
            found["file"] = path
        return found

    def _cache(self, source: Source) -> CacheState | None:
        if not source.cacheable:
            return CacheState(NEVER)
        folder = self.probe.cache_dir
        if folder is None:
            return CacheState(NOT_CACHED if self.probe.cache_missing else UNUSABLE)
        # The entry's header, not its payload: no decryption (keyring) and no secret read.
        entry = cachefile.read_entry(folder, hop_key(source.identity))
        if entry is None or not entry.deps_unchanged():
            return CacheState(NOT_CACHED)
        now = self.probe.now
        left = entry.expires - now
        if left <= 0:
            return CacheState(EXPIRED, entry.expires)
        fresh = entry.is_fresh(now, self.probe.refresh_window)
        return CacheState(CACHED, entry.expires, minutes_left(left), fresh)

    def _sso_token(self, source: Source) -> TokenState | None:
        if source.kind != "sso":
            return None
        details = source.details()
        cache_id = details.get("sso_session") or details.get("sso_start_url")
        return token_state(self.ctx.environ, cache_id, self.probe.now) if cache_id else None

    def _predicted_failure(self, source: Source, token: TokenState | None) -> Failure | None:
        """What would fail when this hop is fetched, as far as local files tell."""
        problem = token_problem(token, sso_label(source.details())) if token is not None else None
        if problem is not None:
            return Failure(problem, f"run `credproc login --profile {source.profile}`")
        # A hop's own files only: a role hop inherits its parent's (the SSO token file), whose
        # absence is the parent's failure, marked there.
        missing = [] if source.parents() else [path for path in source.deps() if not os.path.exists(path)]
        if missing:
            return Failure(f"{missing[0]} does not exist")
        if source.kind == "web-identity":
            token_file = source.details().get("web_identity_token_file", "")
            if token_file and not os.access(token_file, os.R_OK):
                return Failure(f"cannot read web_identity_token_file {token_file}")
        if source.kind == "credential-process" and source.profile:
            return self._process_failure(source.profile)
        return None

    def _process_failure(self, profile: str) -> Failure | None:
        record = _record(self.ctx, profile)
        try:
            argv = split_command(record.credential_process or "") if record else []
        except ConfigError as exc:
            return Failure(exc.message)
        why = self.probe.program_missing(argv[0]) if argv else "an empty command line"
        if why is None:
            return None
        # The program only: its arguments may carry a password.
        return Failure(f"the credential_process of profile {profile!r} runs {argv[0]!r}, {why}")


def token_state(environ: Mapping[str, str], cache_id: str, now: float) -> TokenState:
    from credproc.sources.sso import token_cache

    path = token_cache.token_path(environ, cache_id)
    if not os.path.exists(path):
        return TokenState(MISSING, path)
    token = token_cache.load(path)
    if token is None:
        return TokenState(UNREADABLE, path)
    left = token.seconds_left(now)
    if left > 0:
        return TokenState(VALID, path, left)
    return TokenState(REFRESHABLE if token.refreshable(now) else TOKEN_EXPIRED, path, left)


def sso_label(details: Mapping[str, str]) -> str:
    """How messages name the session of an SSO hop."""
    session = details.get("sso_session")
    return f"sso-session {session!r}" if session else f"SSO start URL {details.get('sso_start_url', '')}"


def token_problem(token: TokenState, what: str) -> str | None:
    """Why a token cannot sign in (None when it can: valid, or refreshable without a browser)."""
    if token.state == MISSING:
        return f"no SSO token for {what} ({token.path})"
    if token.state == UNREADABLE:
        return f"the SSO token file for {what} is unreadable ({token.path})"
    if token.state == TOKEN_EXPIRED:
        return f"SSO token for {what} expired {-(token.minutes_left or 0)} min ago"
    return None


def is_standin(source: Source) -> bool:
    return not source.parents() and STANDIN_KEY_ID in source.identity


def _credproc_line_target(ctx: Context, command: str | None) -> str | None:
    if not command:
        return None
    try:
        return credproc_target(split_command(command), ctx.environ)
    except ConfigError:
        return None


def _record(ctx: Context, name: str | None) -> ProfileRecord | None:
    """Profile ``name`` as the resolution reads it, or None when it is absent or unreadable (the
    resolution itself reports why)."""
    if name is None or name not in ctx.config.profiles:
        return None
    try:
        return read_profile(ctx.config, name)
    except ConfigError:
        return None


def _referred(ctx: Context, name: str) -> set[str]:
    """The profiles that profile ``name`` names as a source of its own."""
    record = _record(ctx, name)
    if record is None:
        return set()
    found = {record.source_profile, _credproc_line_target(ctx, record.credential_process)}
    return {p for p in found if p}


def with_standins(config: AwsConfig, names: Iterable[str]) -> AwsConfig:
    """A copy of ``config`` in which each of ``names`` is a profile holding only placeholder keys."""
    standin: Section = {"aws_access_key_id": STANDIN_KEY_ID, "aws_secret_access_key": STANDIN_SECRET}
    replaced = set(names)
    return dataclasses.replace(
        config,
        profiles={**config.profiles, **dict.fromkeys(replaced, standin)},
        config_profiles={**config.config_profiles, **dict.fromkeys(replaced, standin)},
        credentials_profiles={k: v for k, v in config.credentials_profiles.items() if k not in replaced},
    )


def aws_cli(ctx: Context, name: str, top: Source | None) -> AwsCli | None:
    """The provider botocore uses for profile ``name``, from credproc's own resolution.

    credproc resolves as botocore does, with two differences it owns: its own sources (whose
    ``botocore_method`` is None) apply only where botocore finds nothing, and a credential_process
    line calling credproc for the profile itself is ignored (it is how botocore reaches credproc).
    So botocore runs that line when credproc chose one of its own sources, or when the process
    provider comes first in ``resolve.chain``; that is asked of the chain itself, by building the
    profile once more with the line swapped for one that is not credproc.
    """
    record = _record(ctx, name)
    if record is None:
        return None
    through_credproc = AwsCli("custom-process", True)
    self_line = _self_line(ctx, name)
    if top is None:  # its own hop does not build: no provider of botocore's gives anything either
        return through_credproc if self_line else AwsCli(None, False)
    if top.profile is not None and top.profile != name:
        return through_credproc  # its credential_process calls credproc for another profile
    method = top.botocore_method()
    if method is None:
        return through_credproc if self_line else AwsCli(None, False)
    if self_line and _process_first(ctx, name):
        return through_credproc
    if top.kind == "credential-process":
        try:
            runs_credproc = credproc_arguments(split_command(record.credential_process or "")) is not None
        except ConfigError:
            runs_credproc = False
        return AwsCli(method, runs_credproc)
    return AwsCli(method, False, _stops_at(ctx, top))


def _self_line(ctx: Context, name: str | None) -> bool:
    """Whether profile ``name`` has a credential_process line calling credproc for itself."""
    record = _record(ctx, name)
    return record is not None and _credproc_line_target(ctx, record.credential_process) == name


def _stops_at(ctx: Context, source: Source) -> str | None:
    """The first profile under ``source`` whose hop botocore cannot make, following only the hops
    botocore itself takes (a hop reached through a credproc line is credproc's to resolve)."""
    for parent in source.parents():
        if parent.profile not in (source.profile, _source_profile(ctx, source.profile)):
            continue  # reached through a credential_process line calling credproc
        if parent.botocore_method() is None:
            if not _self_line(ctx, parent.profile):
                return parent.profile
            continue
        found = _stops_at(ctx, parent)
        if found is not None:
            return found
    return None


def _source_profile(ctx: Context, name: str | None) -> str | None:
    record = _record(ctx, name)
    return record.source_profile if record else None


def _process_first(ctx: Context, name: str) -> bool:
    probe_ctx = dataclasses.replace(ctx, config=ctx.config.with_credential_process(name, PROBE_COMMAND))
    try:
        source = build_source(probe_ctx, name)
    except CredprocError:
        return False
    return source.kind == "credential-process" and source.profile == name
