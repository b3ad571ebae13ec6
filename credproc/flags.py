"""The flags of the resolving commands, declared once as data, and the one parser of the fast paths.

The click options of ``credential-process``, ``exec``, ``env`` and ``serve`` are generated from these
tables (credproc.options); the fast paths (credproc.fastpath, credproc.exec_fast) read argv with
``parse`` below. So the two readings agree by construction, and a property test compares them on
generated argv. Stdlib only, and cheap to import: this module runs on every cache hit.

A new flag of a resolving command is one line in a table here. ``answer`` says whether its value
changes the answer (then it is part of the cache key); ``fast`` False makes the fast path step
aside whenever the flag is given (``--no-cache``, ``--server``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs more than this module
if TYPE_CHECKING:
    from collections.abc import Sequence

RA_HELP = "Roles Anywhere (aws_signing_helper-compatible): "


class Flag:
    """One option: its names, whether it takes a value, and what it means to the cache."""

    __slots__ = ("answer", "dest", "fast", "help", "long", "metavar", "short", "takes_value")

    def __init__(
        self,
        long: str,
        help: str,
        *,
        short: str | None = None,
        metavar: str | None = None,
        answer: bool = True,
        fast: bool = True,
        dest: str | None = None,
    ) -> None:
        self.long = long
        self.short = short
        self.metavar = metavar
        self.takes_value = metavar is not None
        self.answer = answer
        self.fast = fast
        self.help = help
        self.dest = dest or long.lstrip("-").replace("-", "_")

    def with_help(self, help: str) -> Flag:
        """The same flag, described for another command."""
        return Flag(
            self.long,
            help,
            short=self.short,
            metavar=self.metavar,
            answer=self.answer,
            fast=self.fast,
            dest=self.dest,
        )


PROFILE = Flag(
    "--profile", "Profile to resolve (default: $AWS_PROFILE, else 'default').", short="-p", metavar="P"
)
NO_CACHE = Flag("--no-cache", "Neither read nor write the cache.", answer=False, fast=False)
REFRESH_WINDOW = Flag(
    "--refresh-window",
    "Refresh when fewer seconds than this remain (default 1200; scaled down for short sessions; also "
    "CREDPROC_REFRESH_WINDOW).",
    metavar="SECONDS",
    answer=False,
)
AUTO_LOGIN = Flag("--auto-login", "Start an SSO login when the session has expired.", answer=False)
MFA_TOKEN = Flag(
    "--mfa-token", "MFA code for scripts, instead of the terminal prompt.", metavar="CODE", answer=False
)
REGION = Flag("--region", "Region (Roles Anywhere and STS calls).", metavar="R")
NO_VERIFY_SSL = Flag("--no-verify-ssl", "Do not verify TLS certificates (never do this in production).")

# aws_signing_helper credential-process's own flags (their values change the answer).
ROLES_ANYWHERE = (
    Flag("--certificate", RA_HELP + "certificate (PEM/DER/PKCS#12).", metavar="PATH"),
    Flag(
        "--private-key",
        RA_HELP + "private key; an encrypted key's passphrase comes from the keyring, "
        "else $CREDPROC_PRIVATE_KEY_PASSPHRASE, else a terminal prompt.",
        metavar="PATH",
    ),
    Flag("--intermediates", RA_HELP + "intermediate CA bundle.", metavar="PATH"),
    Flag("--trust-anchor-arn", RA_HELP + "trust anchor ARN.", metavar="ARN"),
    Flag("--profile-arn", RA_HELP + "Roles Anywhere profile ARN.", metavar="ARN"),
    Flag("--role-arn", RA_HELP + "role ARN.", metavar="ARN"),
    Flag("--session-duration", RA_HELP + "session duration.", metavar="SECONDS"),
)
RA_TAIL = (
    REGION,
    Flag("--endpoint", RA_HELP + "endpoint URL.", metavar="URL"),
    Flag("--role-session-name", RA_HELP + "role session name.", metavar="NAME"),
    Flag(
        "--with-proxy",
        RA_HELP + "make the CreateSession call through HTTPS_PROXY/NO_PROXY (as the helper, proxies "
        "are used only with this flag).",
        answer=False,
    ),
)
# aws_signing_helper's other credential flags: hardware keys, certificate stores, diagnostics.
RA_DEVICES = (
    Flag("--pkcs11-lib", RA_HELP + "PKCS#11 module for pkcs11: URIs.", metavar="PATH"),
    Flag("--reuse-pin", RA_HELP + "use the token's user PIN also for always-authenticate keys."),
    Flag(
        "--tpm-key-password", RA_HELP + "password of the TPM key (handle:0x... or TSS2 file).", metavar="PW"
    ),
    Flag("--no-tpm-key-password", RA_HELP + "the TPM key has no password: do not ask for one."),
    Flag(
        "--cert-selector",
        RA_HELP + "certificate-store selector (Windows/macOS stores only; none on Linux).",
        metavar="SEL",
    ),
    Flag(
        "--system-store-name",
        RA_HELP + "Windows system store name (Windows only).",
        metavar="NAME",
    ),
    Flag(
        "--use-latest-expiring-certificate",
        RA_HELP + "pick the latest-expiring certificate of a store (helper v1.5+; stores only).",
    ),
    Flag(
        "--debug",
        RA_HELP + "accepted for compatibility (errors are one line; CREDPROC_DEBUG=1 for tracebacks).",
        answer=False,
    ),
)

# In --help order.
CREDENTIAL_PROCESS: tuple[Flag, ...] = (
    PROFILE,
    NO_CACHE,
    REFRESH_WINDOW,
    AUTO_LOGIN,
    MFA_TOKEN,
    *ROLES_ANYWHERE,
    *RA_TAIL,
    NO_VERIFY_SSL,
    *RA_DEVICES,
)

SERVER = Flag(
    "--server",
    "Serve credentials on a loopback endpoint (kept fresh) instead of env keys.",
    fast=False,
    dest="use_server",
)
CHILD_REGION = REGION.with_help(
    "Region to set as AWS_REGION and AWS_DEFAULT_REGION (default: the profile's)."
)
CHILD_REFRESH_WINDOW = REFRESH_WINDOW.with_help(
    "Refresh upstream when fewer seconds than this remain (also CREDPROC_REFRESH_WINDOW)."
)
# What every resolving command (exec, env, serve) shares with credential-process, same meaning.
RESOLVING: tuple[Flag, ...] = (NO_CACHE, MFA_TOKEN, AUTO_LOGIN)
EXEC: tuple[Flag, ...] = (PROFILE, SERVER, CHILD_REGION, CHILD_REFRESH_WINDOW, *RESOLVING)


def parse(
    table: Sequence[Flag], argv: Sequence[str], *, command: bool = False, hit_only: bool = True
) -> tuple[dict[str, str], list[str]] | None:
    """Read ``argv`` as click reads these flags, or give up (``None``) on anything else.

    Long flags: ``--name VALUE`` or ``--name=VALUE``. Short flags: ``-p VALUE`` or ``-pVALUE`` (so
    ``-p=a`` is the profile ``=a``, as click has it). Flags without a value are ``"1"``. With
    ``command``, ``--`` ends the flags and what follows (never empty) is returned as the command;
    without, nothing may follow. Giving up is always safe: the full CLI then parses and explains.
    ``hit_only`` gives up on flags that set the cache aside (``--no-cache``): the fast paths' rule;
    a caller that only asks which profile a command names reads them too.
    """
    longs = {f.long: f for f in table}
    shorts = {f.short: f for f in table if f.short}
    options: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            rest = list(argv[i:])
            return (options, rest) if command and rest else None
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            flag = longs.get(name)
            if flag is None or (eq and not flag.takes_value):
                return None
        else:
            flag = shorts.get(arg[:2])
            if flag is None:
                return None
            value, eq = arg[2:], "=" if len(arg) > 2 else ""
            if eq and not flag.takes_value:  # bundled short flags: none exist, so nothing to read
                return None
        if hit_only and not flag.fast:
            return None
        if not flag.takes_value:
            options[flag.dest] = "1"
            continue
        if not eq:
            if i >= len(argv):
                return None
            value = argv[i]
            i += 1
        options[flag.dest] = value
    return None if command else (options, [])


def _by_name(*names: str) -> tuple[Flag, ...]:
    known = {f.long: f for f in (*ROLES_ANYWHERE, *RA_TAIL, NO_VERIFY_SSL, *RA_DEVICES)}
    return tuple(known[n] for n in names)


# aws_signing_helper's other subcommands (v1.4.0), flag for flag.
UPDATE_PROFILE = Flag(
    "--profile", "Profile of the credentials file to update (default: default).", metavar="P"
)
UPDATE_ONCE = Flag("--once", "Update the profile once and exit (else: keep it fresh until interrupted).")
UPDATE: tuple[Flag, ...] = (
    UPDATE_PROFILE,
    UPDATE_ONCE,
    *ROLES_ANYWHERE,
    *RA_TAIL,
    NO_VERIFY_SSL,
    *RA_DEVICES,
)
READ_CERTIFICATE_DATA: tuple[Flag, ...] = _by_name(
    "--certificate", "--cert-selector", "--system-store-name", "--pkcs11-lib", "--debug"
)
SIGN_STRING: tuple[Flag, ...] = _by_name(
    "--certificate",
    "--private-key",
    "--debug",
    "--cert-selector",
    "--system-store-name",
    "--pkcs11-lib",
    "--reuse-pin",
    "--tpm-key-password",
    "--no-tpm-key-password",
    "--use-latest-expiring-certificate",
)
# serve's helper-shape (IMDSv2) flags besides the credential ones.
HOP_LIMIT = Flag("--hop-limit", "IMDS mode: the IP TTL of the answers (default 64).", metavar="N")
