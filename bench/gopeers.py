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

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import stsrelay

from tests.support.ra_world import signing_helper_flags
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


@dataclass
class Prepared(Generic[R]):
    rows: list[R] = field(default_factory=list)
    vault: tuple[str, dict[str, str]] | None = None  # aws-vault and its environment, once it worked


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
        *signing_helper_flags(w.ra.url, certificate=certificate, private_key=key),
    ]


def signing_helper(w: World, exe: str, make: MakeRow[R], stack: ExitStack, out: Prepared[R]) -> list[R]:
    argv = signing_helper_argv(w, exe)
    return [filled(w, make(SIGNING_HELPER, argv, go_env(w)), argv, go_env(w))]


def granted(w: World, exe: str, make: MakeRow[R], stack: ExitStack, out: Prepared[R]) -> list[R]:
    config = w.home / ".granted" / "config"
    config.parent.mkdir(exist_ok=True)
    # The file keyring in the temporary HOME; STDOUT: never a browser; no update check (a network call).
    keyring = w.home / "granted-keyring"
    config.write_text(f'DefaultBrowser = "STDOUT"\n\n[Keyring]\nBackend = "file"\nFileDir = "{keyring}"\n')
    env = {**go_env(w), "GRANTED_DISABLE_UPDATE_CHECK": "true", "CF_KEYRING_FILE_PASSWORD": PASSPHRASE}
    argv = [exe, "credential-process", "--profile", "top"]
    return [filled(w, make(GRANTED, argv, env), argv, env)]


def aws_vault(w: World, exe: str, make: MakeRow[R], stack: ExitStack, out: Prepared[R]) -> list[R]:
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
    out.vault = (exe, env)
    return [*rows, row]


@contextmanager
def prepared(w: World, make: MakeRow[R], notes: list[str]) -> Iterator[Prepared[R]]:
    """The Go peers' rows, ready to measure; the relay aws-vault needs runs until the block ends."""
    out: Prepared[R] = Prepared()
    setups = (("aws_signing_helper", signing_helper), ("granted", granted), ("aws-vault", aws_vault))
    with ExitStack() as stack:
        for name, setup in setups:
            exe = binary(name)
            if exe is None:
                notes.append(f"{name}: not measured: no executable at {PATHS[name]} (.ci/install.d/70-go.sh)")
                continue
            try:
                out.rows += setup(w, exe, make, stack, out)
            except (PeerFailed, ValueError, OSError, subprocess.TimeoutExpired) as exc:
                notes.append(f"{name}: not measured: {exc}")
        yield out


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


# ---- the servers: aws_signing_helper serve beside credproc serve (IMDSv2), aws-vault's ECS server --


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Imds:
    """An IMDSv2 client as the SDKs are: one token (PUT), the role name, then credentials GETs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.token = ""
        self.path = ""

    def request(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def ready(self, deadline: float) -> None:
        while True:
            try:
                status, body = self.request(
                    "PUT", IMDS_TOKEN, {"X-aws-ec2-metadata-token-ttl-seconds": "300"}
                )
                if status == 200:
                    self.token = body.decode()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise PeerFailed(f"no IMDS answer on port {self.port}")
            time.sleep(0.05)
        status, body = self.request("GET", IMDS_CREDS, {"X-aws-ec2-metadata-token": self.token})
        if status != 200:
            raise PeerFailed(f"role listing: HTTP {status}")
        self.path = IMDS_CREDS + body.decode().strip()

    def get(self) -> float:
        """One credentials GET on its own connection; ms. A bad answer ends the run."""
        started = time.perf_counter()
        status, body = self.request("GET", self.path, {"X-aws-ec2-metadata-token": self.token})
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200 or "AccessKeyId" not in json.loads(body):
            raise SystemExit(f"IMDS benchmark: HTTP {status} from port {self.port}")
        return elapsed


IMDS_TOKEN = "/latest/api/token"  # noqa: S105  (a path)
IMDS_CREDS = "/latest/meta-data/iam/security-credentials/"


def imds_servers(w: World, credproc: list[str], requests: int) -> dict[str, Any] | None:
    """`aws_signing_helper serve` and `credproc serve` with the same flags, side by side: the
    latency of one credentials GET (interleaved), and the upstream calls the measured GETs made."""
    exe = binary("aws_signing_helper")
    if exe is None:
        return None
    flags = signing_helper_argv(w, exe)[2:]
    servers = {"aws_signing_helper serve": ([exe, "serve"], go_env(w)), "credproc serve": (credproc, w.env)}
    with ExitStack() as stack:
        clients = {}
        for name, (argv, env) in servers.items():
            port = free_port()
            proc = subprocess.Popen(
                [*argv, *flags, "--port", str(port)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(proc.wait, 10)
            stack.callback(proc.terminate)
            clients[name] = Imds(port)
            clients[name].ready(time.monotonic() + 30)
            clients[name].get()  # the first fills the server's credentials
        latencies: dict[str, list[float]] = {name: [] for name in clients}
        calls = dict.fromkeys(clients, 0)
        for _ in range(requests):
            for name, client in clients.items():
                before = w.upstream_calls()
                latencies[name].append(client.get())
                calls[name] += w.upstream_calls() - before
    return {
        name: {
            "requests": requests,
            "p50_ms": statistics.median(values),
            "p99_ms": sorted(values)[min(len(values) - 1, int(len(values) * 0.99))],
            "calls": calls[name],
        }
        for name, values in latencies.items()
    }


def ecs_server(prepared: Prepared[R], w: World, requests: int) -> bytes | None:
    """`aws-vault exec --ecs-server` with bench/serverload.py as its child: what `credproc exec
    --server` is measured with, on aws-vault's cached profile."""
    if prepared.vault is None:
        return None
    exe, env = prepared.vault
    # v7.2.0 refuses --ecs-server with its terminal MFA prompt, the only driver it offers on Linux
    # unless zenity, kdialog or ykman is on PATH. The profile's credentials are cached, so no prompt
    # is due: a `zenity` that fails loudly satisfies the check and would end the run if ever asked.
    tools = w.home / "no-prompt-bin"
    tools.mkdir(exist_ok=True)
    (tools / "zenity").write_text('#!/bin/sh\necho "bench: aws-vault asked for an MFA code" >&2\nexit 1\n')
    (tools / "zenity").chmod(0o755)
    env = {**env, "PATH": f"{tools}{os.pathsep}{env.get('PATH', '')}"}
    load = str(Path(__file__).resolve().parent / "serverload.py")
    argv = [
        exe,
        "exec",
        "--prompt=zenity",
        "--ecs-server",
        "top-mfa",
        "--",
        sys.executable,
        load,
        str(requests),
    ]
    return run(argv, env)
