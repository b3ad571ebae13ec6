"""``credproc read-certificate-data``: aws_signing_helper's diagnostic, with its JSON output.

Prints ``{"keyType":...,"certificateData":...,"serialNumber":...,"supportedAlgorithms":[...]}``
without a trailing newline, as the helper does. Unlike the helper (silent exit 1), an unreadable
certificate gets one line saying why; DER certificates are read too.
"""

from __future__ import annotations

import sys

import click

from credproc import flags, options
from credproc.errors import ConfigError


def run(opts: dict[str, object]) -> str:
    from credproc.sources.rolesanywhere import diagnostics, stores

    given = {k: v for k, v in opts.items() if v not in (None, False)}
    stores.check_exclusive(given, (("certificate", "cert_selector"), ("certificate", "system_store_name")))
    certificate = given.get("certificate")
    if not certificate:
        stores.find_identity(given)  # the certificate store: none on Linux
        raise AssertionError("unreachable")  # pragma: no cover
    if str(certificate).startswith("pkcs11:"):
        raise ConfigError(
            "read-certificate-data cannot list PKCS#11 token certificates yet",
            "credential-process --certificate pkcs11:... --pkcs11-lib LIB uses them",
        )
    return diagnostics.certificate_data(diagnostics.read_certificate(str(certificate)))


@click.command("read-certificate-data", context_settings={"allow_extra_args": True})
@options.from_table(flags.READ_CERTIFICATE_DATA)
def command(**opts: object) -> None:
    """Print a certificate's data as aws_signing_helper does (JSON, no newline)."""
    sys.stdout.write(run(opts))
    sys.stdout.flush()
