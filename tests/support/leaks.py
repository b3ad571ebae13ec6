"""The leak guard's bookkeeping: which secrets a test's credproc runs could leak, and where.

Secrets come from three places: fixed test values (conftest's long-term key, the Roles Anywhere
passphrase), values the emulators and the test PKI hand out (``remember``: SSO access/refresh tokens,
client secrets, private key material), and every SecretAccessKey/SessionToken a credproc run
printed as its payload in the current test. ``scan`` looks for any of them in every run's stderr,
in the stdout of commands whose stdout is not a credential payload, and in the captured logs.
Plain substring checks over a few kilobytes: cheap enough to run after every test.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass

# Commands whose stdout is, by design, credentials (or a child's output, which may print them).
PAYLOAD_COMMANDS = frozenset({"credential-process", "exec", "env", "serve"})
MIN_SECRET = 8  # shorter strings would match by chance; no real secret is this short

_known: set[str] = set()
_lock = threading.Lock()
_ASSIGNED = re.compile(
    r"AWS_(?:SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN)\W{1,4}([A-Za-z0-9/+=_.-]{16,})"
)


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    stdout: str
    stderr: str


runs: list[Run] = []  # the current test's credproc runs (conftest.run_credproc appends)


def remember(*secrets: str | None) -> None:
    """Called by emulators and fixtures for every secret they hand out."""
    with _lock:
        _known.update(s for s in secrets if s and len(s) >= MIN_SECRET)


def remember_pem(data: bytes) -> None:
    """Private key material: every full base64 line of a PEM (any one of them is a leak)."""
    remember(*(line.decode() for line in data.splitlines() if len(line) >= 40 and b"-----" not in line))


def command_of(args: tuple[str, ...]) -> str:
    return next((a for a in args if not a.startswith("-")), "")


def printed_secrets(stdout: str) -> set[str]:
    """The secrets a payload carried: JSON credential fields or shell assignments."""
    found = set(_ASSIGNED.findall(stdout))
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            found.update(str(data[k]) for k in ("SecretAccessKey", "SessionToken", "Token") if data.get(k))
    return {s for s in found if len(s) >= MIN_SECRET}


def scan(fixed: tuple[str, ...], logs: str) -> list[str]:
    """Where each leaked secret showed up, as ``place: secret-prefix…`` lines (empty: no leak)."""
    with _lock:
        secrets = set(_known)
    secrets.update(s for s in fixed if len(s) >= MIN_SECRET)
    for run in runs:
        if command_of(run.args) in PAYLOAD_COMMANDS:
            secrets.update(printed_secrets(run.stdout))
    places = [(f"stderr of credproc {' '.join(run.args)}", run.stderr) for run in runs]
    places += [
        (f"stdout of credproc {' '.join(run.args)}", run.stdout)
        for run in runs
        if command_of(run.args) not in PAYLOAD_COMMANDS
    ]
    places.append(("captured logs", logs))
    return [
        f"{where}: {secret[:4]}…" for where, text in places if text for secret in secrets if secret in text
    ]
