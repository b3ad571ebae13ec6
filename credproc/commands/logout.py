"""``credproc logout``: Logout at the portal, remove the token files, and remove every cached
credential that was derived from those sessions (the SSO role credentials themselves and the
assume-role answers built on top of them), so nothing signed-out lingers in credproc's cache,
nor in the AWS CLI v2's (``~/.aws/cli/cache``, see credproc.sources.sso.cli_cache)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import click

from credproc import aws, config, options, output
from credproc.cache import Cache, CachedItem
from credproc.commands.login import runtime, target
from credproc.config import AwsConfig, get_str
from credproc.errors import CredprocError, UsageError
from credproc.sources.sso import cli_cache, portal, settings, token_cache
from credproc.sources.sso.runtime import Runtime
from credproc.sources.sso.settings import SsoSession


@dataclass(frozen=True)
class Outcome:
    sessions: list[str] = field(default_factory=list)  # labels of the sessions signed out
    tokens_removed: int = 0
    cache_removed: int = 0
    cli_cache_removed: int = 0  # the AWS CLI v2's cached role credentials


def profiles_of(config: AwsConfig, environ: Mapping[str, str], cache_ids: Iterable[str] | None) -> set[str]:
    """Profiles whose credentials come from these sessions (all SSO sessions when None)."""
    wanted = None if cache_ids is None else set(cache_ids)
    found = set()
    for name in config.profiles:
        root = settings.sso_root(config, environ, name)
        if root is not None and (wanted is None or root in wanted):
            found.add(name)
    return found


def _end(rt: Runtime, session: SsoSession, path: str) -> bool:
    """Logout at the portal (best effort: a dead token is already signed out) and remove the file."""
    token = token_cache.load(path)
    if token is not None and token.seconds_left(rt.clock()) > 0:
        try:
            portal.logout(rt, session, token.access_token)
        except portal.TokenRefused:
            pass
        except CredprocError as exc:
            rt.warn(f"could not sign out at the portal ({exc.message}); removing the local token anyway")
    return token_cache.remove(path)


def logout(rt: Runtime, config: AwsConfig, cache: Cache, sessions: list[SsoSession] | None) -> Outcome:
    """End ``sessions``; None means every token in the cache, as ``aws sso logout`` does."""
    targets: list[tuple[SsoSession, str]]
    if sessions is None:
        targets = [
            (_session_of_file(rt.environ, config, path, token), path)
            for path, token in token_cache.all_tokens(rt.environ)
        ]
        cache_ids: set[str] | None = None
    else:
        targets = [(s, token_cache.token_path(rt.environ, s.cache_id)) for s in sessions]
        cache_ids = {s.cache_id for s in sessions}
    removed = sum(1 for session, path in targets if _end(rt, session, path))
    doomed = profiles_of(config, rt.environ, cache_ids)

    def derived(item: CachedItem) -> bool:
        return item.meta.profile in doomed or (cache_ids is None and item.meta.source == "sso")

    cleared = cache.clear(derived) if cache.enabled else 0
    if sessions is None:
        cli_removed = cli_cache.remove_all(rt.environ)
    else:
        cli_removed = sum(
            cli_cache.remove_roles(rt.environ, s, _roles_of(config, rt.environ, s)) for s in sessions
        )
    return Outcome([s.label for s, _ in targets], removed, cleared, cli_removed)


def _roles_of(config: AwsConfig, environ: Mapping[str, str], session: SsoSession) -> list[tuple[str, str]]:
    """The (account, role) pairs the profiles of ``session`` ask it for (what the AWS CLI caches)."""
    roles = []
    for name, section in config.profiles.items():
        account = get_str(section, "sso_account_id")
        role = get_str(section, "sso_role_name")
        if account and role and settings.sso_root(config, environ, name) == session.cache_id:
            roles.append((account, role))
    return roles


def _session_of_file(
    environ: Mapping[str, str], config: AwsConfig, path: str, token: token_cache.Token
) -> SsoSession:
    """A token file found on disk: its configured session if one names it, else a legacy session."""
    for name in config.sso_sessions:
        if token_cache.token_path(environ, name) == path:
            try:
                return settings.from_session(environ, config, name)
            except CredprocError:
                break
    return SsoSession(
        name=None,
        start_url=token.start_url,
        region=token.region or aws.DEFAULT_REGION,
        scopes=settings.DEFAULT_SCOPES,
        portal_endpoint=aws.endpoint_url(environ, config, None, "sso"),
    )


@click.command("logout")
@options.profile("End the SSO session this profile uses.")
@options.sso_session("End [sso-session S].")
@click.option("--all", "all_", is_flag=True, help="End every SSO session (the default with no option).")
def command(profile: str | None, sso_session: str | None, all_: bool) -> None:
    """End SSO sessions: Logout, remove their tokens and the credentials cached from them."""
    if all_ and (profile or sso_session):
        raise UsageError("--all ends every session; do not combine it with --profile or --sso-session")
    environ = dict(os.environ)
    cfg = config.load(environ)
    sessions = None if all_ or not (profile or sso_session) else [target(environ, cfg, profile, sso_session)]
    cache = Cache.open(environ, 0, output.warn)
    done = logout(runtime(environ), cfg, cache, sessions)
    names = ", ".join(done.sessions) or "no SSO session"
    output.info(
        f"signed out of {names}; removed {done.tokens_removed} token file(s), "
        f"{done.cache_removed} cached credential(s) and {done.cli_cache_removed} of the AWS CLI's"
    )
