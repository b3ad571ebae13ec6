"""`credproc exec` and `serve` as real processes: child env, exit codes, signals, the endpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import BASE_SECRET, CREDPROC, AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_in_process, start_credproc

DUMP_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
CREDPROC_VARS = ("AWS_", "CREDPROC_PROFILE")
# [default] holds other static keys: the child must never end up with them.
DEFAULT_KEY = "AKIADEFAULTEXAMPLE00"
DEFAULT_CREDENTIALS = f"""
    [default]
    aws_access_key_id = {DEFAULT_KEY}
    aws_secret_access_key = defaultSecretThatMustNotWinEXAMPLEKEY0
"""


def child_env(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    env = json.loads(done.stdout)
    return {k: v for k, v in env.items() if k.startswith(CREDPROC_VARS)}


def test_keys_mode_child_env_is_exactly_set_and_removed(chain: AwsFiles, sts: MotoSTS) -> None:
    env = {
        **os.environ,
        "AWS_PROFILE": "base",
        "AWS_DEFAULT_PROFILE": "base",
        "AWS_SECURITY_TOKEN": "old",
        "AWS_ROLE_ARN": "arn:aws:iam::1:role/stale",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x",
    }
    got = child_env(run_credproc("exec", "--profile", "top", "--", *DUMP_ENV, env=env))
    assert got.pop("AWS_ACCESS_KEY_ID").startswith("ASIA")
    assert got.pop("AWS_SECRET_ACCESS_KEY")
    assert got.pop("AWS_SESSION_TOKEN")
    assert got.pop("AWS_CREDENTIAL_EXPIRATION").endswith("Z")
    assert got == {
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "CREDPROC_PROFILE": "top",
        "AWS_ENDPOINT_URL_STS": sts.url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_region_flag_overrides_the_profiles_region(chain: AwsFiles) -> None:
    got = child_env(run_credproc("exec", "-p", "top", "--region", "ap-south-1", "--", *DUMP_ENV))
    assert got["AWS_REGION"] == got["AWS_DEFAULT_REGION"] == "ap-south-1"


@pytest.mark.parametrize("code", [0, 1, 3, 125, 255])
def test_exit_code_of_the_child_is_passed_through(chain: AwsFiles, code: int) -> None:
    done = run_credproc("exec", "-p", "base", "--", "sh", "-c", f"exit {code}")
    assert done.returncode == code
    assert done.stderr == ""


def test_missing_and_unrunnable_commands_exit_127_and_126(chain: AwsFiles, tmp_path: Path) -> None:
    missing = run_credproc("exec", "-p", "base", "--", "no-such-program-anywhere")
    assert missing.returncode == 127
    assert missing.stderr.startswith("credproc: error: no-such-program-anywhere: command not found")
    plain = tmp_path / "plain.txt"
    plain.write_text("data")
    unrunnable = run_credproc("exec", "-p", "base", "--", str(plain))
    assert unrunnable.returncode == 126
    assert missing.stdout == unrunnable.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("exec", "-p", "no-such-profile", "--", "true"),  # bad input (1 elsewhere)
        ("exec", "--no-such-flag", "--", "true"),  # usage (2 elsewhere)
        ("exec", "-p", "base"),  # no command
        ("exec", "-p", "base", "--refresh-window", "soon", "--", "true"),
    ],
    ids=["bad-profile", "bad-flag", "no-command", "bad-window"],
)
def test_credproc_failures_before_launch_exit_125_with_one_clear_line(
    chain: AwsFiles, args: tuple[str, ...]
) -> None:
    done = run_in_process(*args, entry=True)  # nothing is launched: no real process needed
    assert done.returncode == 125
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith("credproc: error: ")
    assert len(lines) <= 2
    assert "Traceback" not in done.stderr


def test_upstream_failure_before_launch_is_125_and_leaks_no_secret(chain: AwsFiles, sts: MotoSTS) -> None:
    sts.app.fail_with = 403
    done = run_in_process("exec", "-p", "top", "--", "true", entry=True)  # fails before any launch
    assert done.returncode == 125
    assert BASE_SECRET not in done.stderr


def test_daprd_without_server_is_warned_with_minutes_left(chain: AwsFiles, tmp_path: Path) -> None:
    daprd = tmp_path / "bin" / "daprd"
    daprd.parent.mkdir()
    daprd.write_text("#!/bin/sh\nexit 0\n")
    daprd.chmod(0o755)
    env = {**os.environ, "PATH": f"{daprd.parent}:{os.environ['PATH']}"}
    done = run_credproc("exec", "-p", "top", "--", "daprd", "--app-id", "x", env=env)
    assert done.returncode == 0
    assert "daprd never re-reads credentials" in done.stderr
    assert "expire in 59 minutes" in done.stderr or "expire in 60 minutes" in done.stderr
    assert "--server" in done.stderr
    quiet = run_credproc("exec", "-p", "top", "--server", "--", "daprd", env=env)
    assert quiet.returncode == 0
    assert quiet.stderr == ""


def test_server_mode_child_gets_the_endpoint_not_keys_and_default_cannot_win(
    chain: AwsFiles, sts: MotoSTS
) -> None:
    chain.credentials.write_text(chain.credentials.read_text() + DEFAULT_CREDENTIALS.replace("    ", ""))
    probe = (
        "import boto3, json, os\n"
        "session = boto3.Session()\n"
        "creds = session.get_credentials()\n"
        "who = session.client('sts', endpoint_url=os.environ['AWS_ENDPOINT_URL_STS']).get_caller_identity()\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith(('AWS_', 'CREDPROC'))}\n"
        "print(json.dumps({'env': env,"
        " 'method': creds.method, 'key': creds.get_frozen_credentials().access_key, 'arn': who['Arn']}))\n"
    )
    done = run_credproc("exec", "-p", "top", "--server", "--", sys.executable, "-c", probe)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    env = seen["env"]
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    assert len(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) >= 43
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} & env.keys()
    assert env["CREDPROC_PROFILE"] == "top"
    assert seen["method"] == "container-role"
    assert seen["key"].startswith("ASIA") and seen["key"] != DEFAULT_KEY
    assert seen["arn"].startswith("arn:aws:sts::222222222222:assumed-role/top/")


ARGV_SCAN = (
    "import os\n"
    "needles = [os.environ[n].encode() for n in ('AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',\n"
    "           'AWS_CONTAINER_AUTHORIZATION_TOKEN') if n in os.environ]\n"
    "assert needles\n"
    "hits = 0\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    try:\n"
    "        argv = open(f'/proc/{pid}/cmdline', 'rb').read()\n"
    "    except OSError:\n"
    "        continue\n"
    "    hits += any(needle in argv for needle in needles)\n"
    "print(len(needles), hits)\n"
)


@pytest.mark.parametrize(("mode", "secrets"), [((), 2), (("--server",), 1)], ids=["keys", "server"])
def test_no_secret_appears_in_any_process_argv_while_the_child_runs(
    chain: AwsFiles, mode: tuple[str, ...], secrets: int
) -> None:
    done = run_credproc("exec", "-p", "top", *mode, "--", sys.executable, "-c", ARGV_SCAN)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(secrets), "0"]


STAND_IN_DAPRD = """#!{python}
# A stand-in for daprd: runs until told to stop, shuts down gracefully on SIGTERM/SIGINT with a
# code of its own, and dies of SIGHUP like a program that does not handle it.
import os, signal, sys, time
def graceful(signum, frame):
    print(f"daprd: shutting down on {{signal.Signals(signum).name}}", flush=True)
    sys.exit(3)
signal.signal(signal.SIGTERM, graceful)
signal.signal(signal.SIGINT, graceful)
print("daprd: ready", os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "no-endpoint"), flush=True)
time.sleep(60)
sys.exit(9)
"""


@pytest.fixture
def stand_in(tmp_path: Path) -> dict[str, str]:
    daprd = tmp_path / "bin" / "daprd"
    daprd.parent.mkdir()
    daprd.write_text(STAND_IN_DAPRD.format(python=sys.executable))
    daprd.chmod(0o755)
    return {**os.environ, "PATH": f"{daprd.parent}:{os.environ['PATH']}"}


@pytest.mark.parametrize(
    ("sig", "status", "said"),
    [
        (signal.SIGTERM, 3, "SIGTERM"),
        (signal.SIGINT, 3, "SIGINT"),
        (signal.SIGHUP, 128 + signal.SIGHUP, None),
    ],
)
def test_server_mode_forwards_signals_and_passes_the_exit_status_through(
    chain: AwsFiles, stand_in: dict[str, str], sig: int, status: int, said: str | None
) -> None:
    proc = start_credproc("exec", "-p", "top", "--server", "--", "daprd", "--app-id", "a", env=stand_in)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.startswith("daprd: ready http://127.0.0.1:"), ready + (
            proc.stderr.read() if proc.stderr else ""
        )
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, err
    if said:
        assert f"shutting down on {said}" in out
    assert "Traceback" not in err


def blocked_signals(status: str) -> set[int]:
    """The signals a thread blocks, from the SigBlk line of /proc/<pid>/task/<tid>/status."""
    mask = int(next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16)
    return {n for n in range(1, 65) if mask >> (n - 1) & 1}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_only_the_main_thread_can_take_a_relayed_signal(chain: AwsFiles, stand_in: dict[str, str]) -> None:
    """The kernel gives a signal sent to credproc to any thread not blocking it, and Python runs
    handlers in the main thread only: a SIGTERM the server thread took sat unhandled while the main
    thread waited for the child (the flaky timeout of the test above). Every other thread blocks
    the relayed signals; the main thread takes them."""
    proc = start_credproc("exec", "-p", "top", "--server", "--", "daprd", "--app-id", "a", env=stand_in)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("daprd: ready http://127.0.0.1:")
        tasks = Path(f"/proc/{proc.pid}/task")
        masks = {int(t.name): blocked_signals((t / "status").read_text()) for t in tasks.iterdir()}
        relayed = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        assert len(masks) >= 2, masks  # the main thread and the credentials server's
        assert not masks.pop(proc.pid) & relayed
        for tid, blocked in masks.items():
            assert relayed <= blocked, (tid, blocked)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        assert "shutting down on SIGTERM" in out
        assert proc.returncode == 3
    finally:
        if proc.poll() is None:
            proc.kill()


def test_windows_branch_spawns_through_path_and_pathext_and_waits(
    chain: AwsFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from credproc import platform
    from tests.support.runner import boundary as run

    tool = tmp_path / "bin" / "tool.EXE"
    tool.parent.mkdir()
    tool.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        "print(os.environ['CREDPROC_PROFILE'], sys.argv[1:])\nsys.exit(4)\n"
    )
    tool.chmod(0o755)
    monkeypatch.setattr(platform, "IS_WINDOWS", True)
    monkeypatch.setenv("PATH", str(tool.parent))
    monkeypatch.setenv("PATHEXT", ".COM;.EXE")
    assert run(["exec", "-p", "base", "--", "tool", "a b"]) == 4
    assert capfd.readouterr().out == "base ['a b']\n"


def test_serve_prints_the_variables_serves_them_and_stops_cleanly(chain: AwsFiles) -> None:
    proc = subprocess.Popen(
        [*CREDPROC, "serve", "-p", "top", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "}\n":
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            lines.append(line)
        variables = json.loads("".join(lines))
        token = variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        request = urllib.request.Request(
            variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers={"Authorization": token}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            served = json.loads(response.read())
        assert served["AccessKeyId"].startswith("ASIA")
        assert variables["AWS_CONFIG_FILE"] == os.devnull
        assert variables["AWS_ACCESS_KEY_ID"] is None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "serving profile 'top' on http://127.0.0.1:" in err
    assert served["SecretAccessKey"] not in err


def test_serve_refuses_dotenv_and_a_bad_port(chain: AwsFiles) -> None:
    assert run_credproc("serve", "-p", "top", "--format", "dotenv").returncode == 2
    assert run_credproc("serve", "-p", "top", "--port", "70000").returncode == 2


def test_max_ttl_must_be_positive(chain: AwsFiles) -> None:
    env = {**os.environ, "CREDPROC_SERVER_MAX_TTL": "soon"}
    done = run_credproc("exec", "-p", "base", "--server", "--", "true", env=env)
    assert done.returncode == 125
    assert "CREDPROC_SERVER_MAX_TTL" in done.stderr


def test_dapr_warning_names_the_program_and_minutes_left_only_when_credentials_expire() -> None:
    from datetime import datetime, timezone

    from credproc.commands.exec import dapr_warning, program_name
    from credproc.credentials import Credentials

    expiring = Credentials("ASIA", "s", "t", datetime.fromtimestamp(1000 + 45 * 60 + 30, tz=timezone.utc))
    warning = dapr_warning("/opt/dapr/daprd", expiring, 1000, windows=False)
    assert warning is not None and warning.startswith("daprd never re-reads") and "in 45 minutes" in warning
    assert dapr_warning(r"C:\dapr\DAPR.EXE", expiring, 1000, windows=True) is not None
    assert dapr_warning("daprd-helper", expiring, 1000, windows=False) is None
    assert dapr_warning("daprd", Credentials("AKIA", "s"), 1000, windows=False) is None  # never expires
    assert program_name(r"C:\x\run.CMD", windows=True) == "run"
    assert program_name("dapr.exe", windows=False) == "dapr.exe"


def test_env_unset_needs_no_profile_or_config(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile broken\n")  # unparseable: --unset must not even read it
    done = run_credproc("env", "--unset", "--format", "sh")
    assert done.returncode == 0, done.stderr
    assert "unset AWS_ACCESS_KEY_ID\n" in done.stdout


def test_windows_branch_with_server_serves_the_child_and_returns_its_code(
    chain: AwsFiles, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from credproc.commands import exec as exec_cmd
    from credproc.options import make_context

    tool = tmp_path / "bin" / "fetch.EXE"
    tool.parent.mkdir()
    tool.write_text(
        f"#!{sys.executable}\nimport json, os, sys, urllib.request\n"
        "req = urllib.request.Request(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'],\n"
        "    headers={'Authorization': os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN']})\n"
        "key = json.load(urllib.request.urlopen(req, timeout=10))['AccessKeyId']\n"
        "print(key[:4], os.environ['AWS_CONFIG_FILE'])\n"
        "sys.exit(5)\n"
    )
    tool.chmod(0o755)
    # Only the launch is Windows here: the cache's file lock stays POSIX (msvcrt does not exist).
    environ = {**os.environ, "PATH": str(tool.parent), "PATHEXT": ".EXE"}
    request = exec_cmd.ExecRequest("top", ("fetch",), use_server=True, windows=True)
    assert exec_cmd.run(make_context(environ), request, environ) == 5
    assert capfd.readouterr().out == f"ASIA {os.devnull}\n"
