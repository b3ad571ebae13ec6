"""IAM Identity Center (SSO) profiles: GetRoleCredentials with the session's access token.

The token comes from the AWS CLI's own cache (refreshed there when it runs low); the role
credentials are cached like any hop, under an identity that names the session, start URL,
account and role, never the token. The token file is a dependency of that entry (and of every
entry built on it, see ``deps``): when the file is gone (`aws sso logout`, `credproc logout`) or
was rewritten (another sign-in, a refresh), the cached role credentials are a miss, so a
signed-out session is never served from the cache, whoever signed it out.

Without ``--auto-login`` an expired session is exit 4 with the exact login command; with it, one
single-flight login (browser, or a code on the terminal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from credproc import durations
from credproc.config import ProfileRecord
from credproc.credentials import Credentials
from credproc.sources.base import Context, Source, SourceDefaults
from credproc.sources.sso import settings
from credproc.sources.sso.settings import SsoSession

if TYPE_CHECKING:
    from credproc.sources.sso.login import LoginOptions
    from credproc.sources.sso.runtime import Runtime

LOGIN_TIMEOUT_VAR = "CREDPROC_SSO_LOGIN_TIMEOUT"


@dataclass(frozen=True)
class SsoSource(SourceDefaults):
    profile: str
    session: SsoSession
    account_id: str
    role_name: str
    token_file: str = ""  # the AWS CLI's token file of the session (not part of the identity)
    kind = "sso"

    def deps(self) -> list[str]:
        # Checked on every hit with one stat (cachefile.Entry.deps_unchanged): the credentials are
        # bound to the sign-in that produced them, not only to their own expiry.
        return [self.token_file] if self.token_file else []

    @property
    def identity(self) -> str:
        s = self.session
        return "\0".join(
            [
                "sso",
                s.name or "",
                s.start_url,
                s.region,
                s.portal_endpoint or "",
                self.account_id,
                self.role_name,
            ]
        )

    @property
    def login_command(self) -> str:
        return self.session.login_command(self.profile)

    def fetch(self, ctx: Context) -> Credentials:
        from credproc.sources.sso import access, portal

        rt = runtime(ctx)
        options = login_options(ctx, self.login_command) if ctx.auto_login else None
        token = access.valid_token(rt, self.session, self.login_command, options)
        try:
            return self._role_credentials(rt, token.access_token)
        except portal.TokenRefused:
            pass
        # The portal refused a token the file called valid: signed out elsewhere, or revoked.
        token = access.valid_token(rt, self.session, self.login_command, options, bad=token.access_token)
        try:
            return self._role_credentials(rt, token.access_token)
        except portal.TokenRefused:
            raise access.needs_login(
                self.session, "was refused by the portal (signed out or revoked)", self.login_command
            ) from None

    def _role_credentials(self, rt: Runtime, access_token: str) -> Credentials:
        from credproc.sources.sso import portal

        return portal.role_credentials(rt, self.session, access_token, self.account_id, self.role_name)

    def describe(self) -> list[str]:
        return [f"IAM Identity Center role {self.role_name} in {self.account_id} via {self.session.label}"]

    def details(self) -> dict[str, str]:
        s = self.session
        where = {"sso_session": s.name} if s.name is not None else {}
        return {
            **where,
            "sso_start_url": s.start_url,
            "sso_region": s.region,
            "sso_account_id": self.account_id,
            "sso_role_name": self.role_name,
        }

    def botocore_method(self) -> str | None:
        return "sso"


def runtime(ctx: Context) -> Runtime:
    from credproc.sources.sso.runtime import Runtime

    return Runtime(
        environ=ctx.environ, clock=ctx.clock, verify_ssl=ctx.verify_ssl, say=ctx.terminal.say, warn=ctx.warn
    )


def login_options(ctx: Context, command: str) -> LoginOptions:
    """Options of a login started by ``--auto-login``: the browser if one opens, else a device code
    on the terminal; with neither, exit 4 at once."""
    import webbrowser

    from credproc.sources.sso.login import DEFAULT_TIMEOUT, LoginOptions

    raw = ctx.environ.get(LOGIN_TIMEOUT_VAR, "")
    timeout = (durations.seconds(raw, minimum=0, inclusive=False) if raw else None) or DEFAULT_TIMEOUT
    return LoginOptions(
        open_browser=webbrowser.open,
        timeout=timeout,
        interactive=ctx.terminal.available(),
        retry_hint=command,
    )


def detect(ctx: Context, record: ProfileRecord) -> Source | None:
    if not record.uses_sso:
        return None
    name = record.name
    from credproc.sources.sso import token_cache

    session, account, role = settings.for_credentials(ctx.environ, ctx.config, name)
    token_file = token_cache.token_path(ctx.environ, session.cache_id)
    source = SsoSource(name, session, account, role, token_file)
    if ctx.auto_login:
        # Sign in before the credential cache takes its per-answer locks: a person may take
        # minutes in the browser, and the other runs should wait on the session's login lock
        # (bounded by the login timeout), not time out on a cache lock meant for API calls.
        from credproc.sources.sso import access

        access.valid_token(
            runtime(ctx), session, source.login_command, login_options(ctx, source.login_command)
        )
    return source
