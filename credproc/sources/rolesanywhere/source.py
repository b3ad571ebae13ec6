"""IAM Roles Anywhere, from ``rolesanywhere_*`` profile keys or aws_signing_helper's flags.

Building the source reads only the certificate file's bytes (for the cache identity); the key,
its passphrase and ``cryptography`` are touched only when credentials must really be fetched.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from credproc import durations
from credproc.config import ProfileRecord
from credproc.credentials import Credentials
from credproc.errors import ConfigError
from credproc.paths import expand_user
from credproc.sources.base import Context, Source, SourceDefaults

if TYPE_CHECKING:
    from credproc.sources.rolesanywhere.pkcs11 import Pkcs11Opener

# CreateSession's durationSeconds.
DURATION = durations.Bounds(default=3600, low=900, high=43200, unit=" seconds")
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
PROFILE_KEYS = frozenset(
    {
        "rolesanywhere_trust_anchor_arn",
        "rolesanywhere_profile_arn",
        "rolesanywhere_role_arn",
        "rolesanywhere_certificate",
        "rolesanywhere_private_key",
        "rolesanywhere_intermediates",
        "rolesanywhere_session_duration",
        "rolesanywhere_role_session_name",
        "rolesanywhere_pkcs11_lib",
        "rolesanywhere_reuse_pin",
        "rolesanywhere_pin_from_keyring",
        "rolesanywhere_no_tpm_key_password",
    }
)
# Flags that can only mean Roles Anywhere: one of them switches the flag form on.
CORE_FLAGS = ("certificate", "private_key", "intermediates", "trust_anchor_arn", "profile_arn")
# Flags that mean Roles Anywhere only together with the core ones.
EXTRA_FLAGS = (
    "role_arn",
    "session_duration",
    "endpoint",
    "role_session_name",
    "pkcs11_lib",
    "reuse_pin",
    "pin_from_keyring",
    "tpm_key_password",
    "no_tpm_key_password",
)
# Flags that name an operating-system certificate store (credproc.sources.rolesanywhere.stores).
STORE_FLAGS = ("cert_selector", "system_store_name", "use_latest_expiring_certificate")
PROXY_VARIABLES = ("https_proxy", "http_proxy", "no_proxy", "all_proxy")
FLAG_OPTIONS = CORE_FLAGS + EXTRA_FLAGS


@dataclass(frozen=True)
class RolesAnywhereSource(SourceDefaults):
    where: str  # "profile 'x'" or "the command line", for messages
    profile: str | None
    # Absolute paths, or PKCS#11 URIs, which may carry the PIN (``pin-value``): out of repr.
    certificate: str = field(repr=False)
    private_key: str | None = field(repr=False)
    intermediates: str | None
    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    region: str
    endpoint: str
    duration: int
    session_name: str | None
    certificate_digest: str  # SHA-256 of the certificate file: a new certificate is a new identity
    kind = "rolesanywhere"
    pkcs11_lib: str | None = None  # the PKCS#11 module for pkcs11: URIs
    reuse_pin: bool = False  # the user PIN also for keys that log in at every use
    pin_from_keyring: bool = False  # the token PIN from the keyring (passphrase:pkcs11:<token label>)
    # A TPM key's password: --tpm-key-password, "" with --no-tpm-key-password, None to ask if needed.
    tpm_key_password: str | None = field(default=None, repr=False)
    # Proxies from the environment: always for profiles; on the command line only with --with-proxy,
    # as aws_signing_helper has it (it makes the CreateSession call through a proxy only then).
    use_proxy: bool = True

    @property
    def identity(self) -> str:
        return "\0".join(
            [
                "rolesanywhere",
                self.certificate_digest,
                without_pin(self.certificate),  # the PIN opens the token; it does not change the answer
                without_pin(self.private_key or ""),
                self.intermediates or "",
                self.trust_anchor_arn,
                self.profile_arn,
                self.role_arn,
                str(self.duration),
                self.session_name or "",
                self.region,
                self.endpoint,
                *([self.pkcs11_lib] if self.pkcs11_lib else []),
            ]
        )

    def fetch(self, ctx: Context) -> Credentials:
        from credproc.sources.rolesanywhere import checks, client, material
        from credproc.sources.rolesanywhere.arns import Arns
        from credproc.sources.rolesanywhere.passphrase import Passphrases

        asker = Passphrases(ctx.environ, ctx.terminal, self.profile)
        from credproc.sources.rolesanywhere import tpm

        opener = self._token_opener(ctx)
        # Opens nothing (and imports nothing) unless the key turns out to be a TPM key.
        tpm_opener = tpm.TpmOpener(ctx.environ, tpm.terminal_password(ctx.terminal), self.tpm_key_password)
        try:
            loaded = material.load(
                self.certificate,
                self.private_key,
                self.intermediates,
                asker,
                warn=ctx.warn,
                token=opener,
                tpm=tpm_opener,
            )
            checks.check_all(loaded, self.certificate, self.private_key, ctx.clock())
            creds = client.create_session(
                loaded,
                endpoint=self.endpoint,
                region=self.region,
                arns=Arns(self.trust_anchor_arn, self.profile_arn, self.role_arn),
                duration=self.duration,
                session_name=self.session_name,
                environ=ctx.environ if self.use_proxy else without_proxies(ctx.environ),
                verify=ctx.verify_ssl,
                now=ctx.clock,
            )
        finally:
            tpm_opener.close()  # the TPM's loaded key and connection end with the signing
            if opener is not None:
                opener.close()  # the token's sessions end with the signing
        return creds.with_region(self.region)

    def _token_opener(self, ctx: Context) -> Pkcs11Opener | None:
        if not self.pkcs11_lib:
            return None
        from credproc.sources.rolesanywhere import pkcs11

        lookup = None
        if self.pin_from_keyring:
            from credproc.sources.rolesanywhere.passphrase import _keyring_lookup

            def lookup(what: str) -> str | None:
                # what is "the PKCS#11 token 'LABEL'": the entry is passphrase:pkcs11:LABEL
                return _keyring_lookup("pkcs11:" + what.rsplit(" ", 1)[-1].strip("'\""))

        return pkcs11.Pkcs11Opener(self.pkcs11_lib, pkcs11.terminal_pin(ctx.terminal, lookup), self.reuse_pin)

    def describe(self) -> list[str]:
        return [f"Roles Anywhere {self.role_arn} with certificate {without_pin(self.certificate)}"]

    def details(self) -> dict[str, str]:
        found = {
            "role_arn": self.role_arn,
            "certificate": without_pin(self.certificate),
            "trust_anchor_arn": self.trust_anchor_arn,
            "profile_arn": self.profile_arn,
            "region": self.region,
        }
        if self.private_key:
            found["private_key"] = without_pin(self.private_key)  # a path or a reference, not the key
        return found

    def deps(self) -> list[str]:
        return [
            p
            for p in (self.certificate, self.private_key, self.intermediates)
            if p and not p.startswith(REFERENCE_PREFIXES)
        ]


def without_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k.lower() not in PROXY_VARIABLES}


# Values that name a key or certificate inside a device, not a file (PKCS#11 URIs, TPM handles).
REFERENCE_PREFIXES = ("pkcs11:", "handle:")


def without_pin(reference: str) -> str:
    """A path or PKCS#11 URI as shown anywhere: a URI's ``pin-value`` is a secret and is dropped."""
    head, sep, query = reference.partition("?")
    if not sep:
        return reference
    kept = [item for item in query.split("&") if item and not item.lower().startswith("pin-value=")]
    return head + ("?" + "&".join(kept) if kept else "")


def _path(raw: str | None, environ: Mapping[str, str]) -> str | None:
    if raw and raw.startswith(REFERENCE_PREFIXES):
        return raw
    return os.path.abspath(expand_user(raw, environ)) if raw else None


def _digest(path: str) -> str:
    from credproc.sources.rolesanywhere.files import read_file

    if path.startswith(REFERENCE_PREFIXES):  # the certificate lives in a token: its URI is its identity
        return hashlib.sha256(path.encode()).hexdigest()
    return hashlib.sha256(read_file(path, "certificate")).hexdigest()


def build(
    ctx: Context,
    *,
    where: str,
    profile: str | None,
    values: Mapping[str, str | None],
    region_override: str | None,
    use_proxy: bool = True,
) -> Source:
    """``values`` uses the flag names (``certificate``, ``trust_anchor_arn``...)."""
    from credproc.sources.rolesanywhere import arns as arn_rules
    from credproc.sources.rolesanywhere.endpoint import endpoint_for

    arns = arn_rules.check(
        values.get("trust_anchor_arn"), values.get("profile_arn"), values.get("role_arn"), where
    )
    # The trust anchor's region, unless one is given: then, as aws_signing_helper does, credproc
    # signs for (and calls) the region given, and the service decides.
    region = arn_rules.check_region(region_override, arns, where) if region_override else arns.region
    certificate = _path(values.get("certificate"), ctx.environ)
    if certificate is None:
        raise ConfigError(
            f"Roles Anywhere in {where} needs a certificate",
            "set rolesanywhere_certificate (or --certificate): a PEM/DER certificate or a .p12/.pfx bundle",
        )
    session_name = values.get("role_session_name")
    if session_name and not SESSION_NAME.match(session_name):
        raise ConfigError(
            f"role session name {session_name!r} in {where} must be 2-64 characters of letters, digits "
            "and +=,.@_-"
        )
    return RolesAnywhereSource(
        where=where,
        profile=profile,
        certificate=certificate,
        private_key=_path(values.get("private_key"), ctx.environ),
        intermediates=_path(values.get("intermediates"), ctx.environ),
        trust_anchor_arn=arns.trust_anchor,
        profile_arn=arns.profile,
        role_arn=arns.role,
        region=region,
        endpoint=endpoint_for(values.get("endpoint"), ctx.environ, region),
        duration=DURATION.parse(
            values.get("session_duration"), f"Roles Anywhere session duration in {where}"
        ),
        session_name=session_name,
        certificate_digest=_digest(certificate),
        pkcs11_lib=_path(values.get("pkcs11_lib"), ctx.environ),
        reuse_pin=_flag(values.get("reuse_pin")),
        pin_from_keyring=_flag(values.get("pin_from_keyring")),
        tpm_key_password=tpm_password(values),
        use_proxy=use_proxy,
    )


def tpm_password(values: Mapping[str, str | None]) -> str | None:
    if _flag(values.get("no_tpm_key_password")):
        return ""
    password = values.get("tpm_key_password")
    return str(password) if password else None


def _flag(raw: object) -> bool:
    """A boolean from a flag (True) or a profile value ("true", "1", "yes")."""
    return raw is True or str(raw).strip().lower() in ("true", "1", "yes", "on")


def detect(ctx: Context, record: ProfileRecord) -> Source | None:
    if not record.rolesanywhere:
        return None
    name = record.name
    unknown = sorted({key for key, _ in record.rolesanywhere} - PROFILE_KEYS)
    if unknown:
        raise ConfigError(
            f"profile {name!r} has unknown Roles Anywhere key(s): {', '.join(unknown)}",
            f"known keys: {', '.join(sorted(PROFILE_KEYS))}",
        )
    values = {key.removeprefix("rolesanywhere_"): value for key, value in record.rolesanywhere}
    return build(ctx, where=f"profile {name!r}", profile=name, values=values, region_override=ctx.region)


def from_flags(ctx: Context, options: Mapping[str, str]) -> Source | None:
    """A source built from aws_signing_helper-style flags, or None when none was given."""
    from credproc.sources.rolesanywhere import stores

    stores.check_exclusive(options)
    no_files = not options.get("certificate") and not options.get("private_key")
    if no_files and any(options.get(k) for k in STORE_FLAGS):
        stores.find_identity(options)  # Linux: no store, one clear line (exit 1)
    if not any(options.get(k) for k in CORE_FLAGS):
        extra = [k for k in EXTRA_FLAGS if options.get(k)]
        if extra:
            flags = ", ".join("--" + k.replace("_", "-") for k in extra)
            raise ConfigError(
                f"{flags} {'applies' if len(extra) == 1 else 'apply'} only to Roles Anywhere",
                "add --certificate, --private-key, --trust-anchor-arn and --profile-arn, or drop them "
                "and configure the role in the profile",
            )
        return None
    return build(
        ctx,
        where="the command line",
        profile=options.get("profile"),
        values={k: options.get(k) for k in FLAG_OPTIONS},
        region_override=ctx.region,
        use_proxy=bool(options.get("with_proxy")),
    )
