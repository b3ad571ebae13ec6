"""``credproc sign-string``: aws_signing_helper's signing test, with its output formats.

Signs the helper's fixed string (never stdin) with the key (file, combo, PKCS#12, PKCS#11 or TPM) and
prints the signature: ``--format json`` (default; a JSON string of the hex), ``text`` (hex) or
``bin`` (raw bytes), without a trailing newline.
"""

from __future__ import annotations

import os
import sys

import click

from credproc import flags, options
from credproc.errors import ConfigError


def run(opts: dict[str, object], fmt: str, digest: str) -> bytes:
    from credproc.sources.rolesanywhere import diagnostics, material, stores
    from credproc.sources.rolesanywhere.passphrase import Passphrases
    from credproc.sources.rolesanywhere.source import _path
    from credproc.terminal import Terminal

    diagnostics.check_choice(fmt, diagnostics.FORMATS, "--format")
    diagnostics.check_choice(digest, diagnostics.DIGESTS, "--digest")
    given = {k: v for k, v in opts.items() if v not in (None, False)}
    stores.check_exclusive(given, stores.SIGN_STRING_EXCLUSIVE)
    environ = dict(os.environ)
    certificate = _path(str(given["certificate"]), environ) if given.get("certificate") else None
    private_key = _path(str(given["private_key"]), environ) if given.get("private_key") else None
    if certificate is None and private_key is None:
        stores.find_identity(given)
        raise AssertionError("unreachable")  # pragma: no cover
    if certificate is None:
        raise ConfigError(
            "sign-string needs the certificate too (--certificate), as aws_signing_helper does",
            "or pass a combo file (key and certificate in one PEM) as --certificate",
        )
    terminal = Terminal()
    opener = None
    if given.get("pkcs11_lib"):
        from credproc.sources.rolesanywhere import pkcs11

        opener = pkcs11.Pkcs11Opener(
            str(_path(str(given["pkcs11_lib"]), environ)),
            pkcs11.terminal_pin(terminal),
            bool(given.get("reuse_pin")),
        )
    from credproc.sources.rolesanywhere import tpm
    from credproc.sources.rolesanywhere.source import tpm_password

    tpm_opener = tpm.TpmOpener(
        environ, tpm.terminal_password(terminal), tpm_password({k: str(v) for k, v in given.items()})
    )
    try:
        loaded = material.load(
            certificate, private_key, None, Passphrases(environ, terminal), token=opener, tpm=tpm_opener
        )
        return diagnostics.render_signature(diagnostics.sign_fixed_string(loaded, digest), fmt)
    finally:
        tpm_opener.close()
        if opener is not None:
            opener.close()


@click.command("sign-string", context_settings={"allow_extra_args": True})
@options.from_table(flags.SIGN_STRING)
@click.option(
    "--format", "fmt", default="json", metavar="json|text|bin", help="Output format (default json)."
)
@click.option(
    "--digest", default="SHA256", metavar="SHA256|SHA384|SHA512", help="Digest to sign with (default SHA256)."
)
def command(fmt: str, digest: str, **opts: object) -> None:
    """Sign aws_signing_helper's fixed test string; print the signature (no newline)."""
    data = run(opts, fmt, digest)
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
