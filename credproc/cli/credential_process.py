"""``credproc credential-process``."""

from __future__ import annotations

import os

import click

from credproc import output
from credproc.cli.common import make_context, profile_name
from credproc.cli.main import cli
from credproc.commands import credential_process

RA_HELP = "Roles Anywhere (aws_signing_helper-compatible): "


@cli.command("credential-process")
@click.option("--profile", "-p", "profile", metavar="P", default=None,
              help="Profile to resolve (default: $AWS_PROFILE, else 'default').")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--refresh-window", metavar="SECONDS", default=None,
              help="Refresh when fewer seconds than this remain (default 1200; scaled down for short "
                   "sessions; also CREDPROC_REFRESH_WINDOW).")
@click.option("--auto-login", is_flag=True, help="Start an SSO login when the session has expired.")
@click.option("--mfa-token", metavar="CODE", default=None,
              help="MFA code for scripts, instead of the terminal prompt.")
@click.option("--certificate", metavar="PATH", default=None, help=RA_HELP + "certificate (PEM/DER/PKCS#12).")
@click.option("--private-key", metavar="PATH", default=None,
              help=RA_HELP + "private key; an encrypted key's passphrase comes from the keyring, else "
                   "$CREDPROC_PRIVATE_KEY_PASSPHRASE, else a terminal prompt.")
@click.option("--intermediates", metavar="PATH", default=None, help=RA_HELP + "intermediate CA bundle.")
@click.option("--trust-anchor-arn", metavar="ARN", default=None, help=RA_HELP + "trust anchor ARN.")
@click.option("--profile-arn", metavar="ARN", default=None, help=RA_HELP + "Roles Anywhere profile ARN.")
@click.option("--role-arn", metavar="ARN", default=None, help=RA_HELP + "role ARN.")
@click.option("--session-duration", metavar="SECONDS", default=None, help=RA_HELP + "session duration.")
@click.option("--region", metavar="R", default=None, help="Region (Roles Anywhere and STS calls).")
@click.option("--endpoint", metavar="URL", default=None, help=RA_HELP + "endpoint URL.")
@click.option("--role-session-name", metavar="NAME", default=None, help=RA_HELP + "role session name.")
@click.option("--with-proxy", is_flag=True,
              help=RA_HELP + "accepted for compatibility; HTTPS_PROXY/NO_PROXY are always honoured.")
@click.option("--no-verify-ssl", is_flag=True,
              help="Do not verify TLS certificates (never do this in production).")
def credential_process_cmd(**opts: object) -> None:
    """Print one credential_process JSON object (use in ~/.aws/config)."""
    environ = dict(os.environ)
    options = {k: ("1" if v is True else str(v)) for k, v in opts.items() if v not in (None, False)}
    ctx = make_context(
        environ,
        no_cache=bool(opts["no_cache"]),
        refresh_window=options.get("refresh_window"),
        region=options.get("region"),
        mfa_token=options.get("mfa_token"),
        auto_login=bool(opts["auto_login"]),
        verify_ssl=not opts["no_verify_ssl"],
    )
    output.payload(credential_process.run(ctx, profile_name(options.get("profile"), environ), options))
