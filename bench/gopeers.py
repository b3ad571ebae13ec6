"""The Go peers (issue 13), measured in the same run and against the same emulators as credproc.

The binaries are the ones .ci/install.d/70-go.sh builds from tests/go and the Go tests run: found
the same way (``$CREDPROC_TEST_*``, else the build cache by the version tests/go pins). Each peer
is set up in the run's temporary HOME, filled once from the emulators (that run's upstream calls are
its ``warmup_calls``: proof it used them), then measured like every other row. A peer that cannot
be made to work is left out with the reason in the report's notes, never silently.

- aws_signing_helper v1.4.0 ``credential-process``: the same certificate and key as credproc's
  Roles Anywhere profile, ``--endpoint`` the emulator. It has no cache: every run is a CreateSession.
- aws-vault v7.2.0 (99designs; the maintained fork could not be built, see tests/go/awsvault):
  file keyring, passphrase in the environment. It has no STS endpoint setting, so its calls reach
  moto through bench/stsrelay.py. Its real hit path for credential_process is
  ``aws-vault export --format=json`` (what its docs put in ``credential_process``); it caches a role's
  credentials only when the profile has ``mfa_serial``, so the same chain is measured twice: as is
  (2 AssumeRole per run) and with ``mfa_serial`` on the top hop (a keyring hit).
- granted v0.38.0 (common-fate; fwdcloudsec's could not be built, see tests/go/granted)
  ``credential-process``: file keyring, its config under the temporary HOME.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import stsrelay

from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN
from tests.test_go_peers import PATHS

SIGNING_HELPER = "aws_signing_helper credential-process, Roles Anywhere (no cache: a CreateSession per run)"
GRANTED = "granted credential-process hit, 2-hop"
VAULT_AS_IS = "aws-vault export --format=json, 2-hop (no role cache without MFA: 2 AssumeRole per run)"
VAULT_HIT = "aws-vault export --format=json hit, 2-hop with `mfa_serial` on the top hop"
ROWS = (SIGNING_HELPER, GRANTED, VAULT_AS_IS, VAULT_HIT)

# A copy of `top` whose last hop names an MFA device: aws-vault v7.2.0 caches AssumeRole only then.
# moto takes any token code. credproc never reads this profile.
MFA_PROFILE = """
[profile top-mfa]
role_arn = arn:aws:iam::222222222222:role/top
source_profile = middle
mfa_serial = arn:aws:iam::111111111111:mfa/bench
region = us-east-1
"""
PASSPHRASE = "bench"  # noqa: S105  (a throwaway keyring in the run's temporary HOME)
BASE_KEYS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


class World(Protocol):  # what bench.World offers; bench.py is a script, not importable here
    home: Path
    env: dict[str, str]

    @property
    def sts(self) -> Any: ...

    @property
    def ra(self) -> Any: ...

    @property
    def material_paths(self) -> tuple[str, str]: ...

    def upstream_calls(self) -> int: ...


class RowLike(Protocol):
    warmup_calls: int


R = TypeVar("R", bound=RowLike)  # bench.Row
MakeRow = Callable[[str, list[str], dict[str, str]], R]


class PeerFailed(Exception):
    pass


def binary(name: str) -> str | None:
    path = PATHS[name]
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


def run(argv: list[str], env: dict[str, str]) -> bytes:
    done = subprocess.run(
        argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no stderr"])[-1]
        raise PeerFailed(f"`{' '.join(argv[1:3])}` exited {done.returncode}: {last.strip()}")
    return done.stdout


def filled(w: World, row: R, argv: list[str], env: dict[str, str]) -> R:
    """The row after one run that fills the peer's cache (its calls, kept as the row's warm-up calls)."""
    before = w.upstream_calls()
    json.loads(run(argv, env))  # a credential_process answer, or the peer failed
    row.warmup_calls = w.upstream_calls() - before
    return row


def go_env(w: World) -> dict[str, str]:
    return {k: v for k, v in w.env.items() if k != "PYTHONPATH"}


def signing_helper_argv(w: World, exe: str) -> list[str]:
    certificate, key = w.material_paths  # the files credproc's `ra` profile names
    return [
        exe,
        "credential-process",
        "--certificate",
        certificate,
        "--private-key",
        key,
        "--trust-anchor-arn",
        TRUST_ANCHOR_ARN,
        "--profile-arn",
        PROFILE_ARN,
        "--role-arn",
        ROLE_ARN,
        "--endpoint",
        w.ra.url,
    ]


def signing_helper(w: World, exe: str, make: MakeRow[R], stack: ExitStack) -> list[R]:
    argv = signing_helper_argv(w, exe)
    return [filled(w, make(SIGNING_HELPER, argv, go_env(w)), argv, go_env(w))]


def granted(w: World, exe: str, make: MakeRow[R], stack: ExitStack) -> list[R]:
    config = w.home / ".granted" / "config"
    config.parent.mkdir(exist_ok=True)
    # The file keyring in the temporary HOME; STDOUT: never a browser; no update check (a network call).
    keyring = w.home / "granted-keyring"
    config.write_text(f'DefaultBrowser = "STDOUT"\n\n[Keyring]\nBackend = "file"\nFileDir = "{keyring}"\n')
    env = {**go_env(w), "GRANTED_DISABLE_UPDATE_CHECK": "true", "CF_KEYRING_FILE_PASSWORD": PASSPHRASE}
    argv = [exe, "credential-process", "--profile", "top"]
    return [filled(w, make(GRANTED, argv, env), argv, env)]


def aws_vault(w: World, exe: str, make: MakeRow[R], stack: ExitStack) -> list[R]:
    relay = stack.enter_context(stsrelay.StsRelay(w.home / "sts-relay", w.sts.port))
    with (w.home / ".aws" / "config").open("a") as config:
        config.write(MFA_PROFILE)
    env = {k: v for k, v in go_env(w).items() if k != "AWS_ENDPOINT_URL_STS"}  # it reads none
    env.update(
        relay.env(),
        AWS_VAULT_BACKEND="file",
        AWS_VAULT_FILE_PASSPHRASE=PASSPHRASE,
        AWS_VAULT_FILE_DIR=str(w.home / "aws-vault"),
    )
    run([exe, "add", "base", "--env"], {**env, **BASE_KEYS})
    as_is = [exe, "export", "--format=json", "top"]
    hit = [exe, "export", "--format=json", "top-mfa"]
    rows = [filled(w, make(VAULT_AS_IS, as_is, env), as_is, env)]
    row = make(VAULT_HIT, hit, env)
    filled(w, row, [*hit[:-1], "--mfa-token=123456", hit[-1]], env)
    return [*rows, row]


@contextmanager
def prepared(w: World, make: MakeRow[R], notes: list[str]) -> Iterator[list[R]]:
    """The Go peers' rows, ready to measure; the relay aws-vault needs runs until the block ends."""
    rows: list[R] = []
    setups = (("aws_signing_helper", signing_helper), ("granted", granted), ("aws-vault", aws_vault))
    with ExitStack() as stack:
        for name, setup in setups:
            exe = binary(name)
            if exe is None:
                notes.append(f"{name}: not measured: no executable at {PATHS[name]} (.ci/install.d/70-go.sh)")
                continue
            try:
                rows += setup(w, exe, make, stack)
            except (PeerFailed, ValueError, OSError, subprocess.TimeoutExpired) as exc:
                notes.append(f"{name}: not measured: {exc}")
        yield rows


def parallel_signing_helper(w: World, n: int) -> dict[str, Any] | None:
    """N aws_signing_helper processes at once: each makes its own CreateSession (no cache to share)."""
    exe = binary("aws_signing_helper")
    if exe is None:
        return None
    argv = signing_helper_argv(w, exe)
    before = w.upstream_calls()
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            argv, env=go_env(w), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        for _ in range(n)
    ]
    outputs = [p.communicate()[0] for p in procs]
    elapsed = (time.perf_counter() - started) * 1000
    if any(p.returncode for p in procs):
        raise SystemExit(f"parallel aws_signing_helper runs failed: {sorted({p.returncode for p in procs})}")
    return {
        "profile": "ra, aws_signing_helper",
        "n": n,
        "wall_ms": elapsed,
        "calls": w.upstream_calls() - before,
        "expected": n,
        "distinct_keys": len({json.loads(out)["AccessKeyId"] for out in outputs}),
    }
