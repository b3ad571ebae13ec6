"""A `credential_process` helper is not trusted: its output is capped, its whole process group is
killed at the time limit (a grandchild holding stderr cannot keep the caller waiting), credproc's
secret variables never reach it, and no error repeats what it printed or its arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_credproc
from tests.support.runner import run_in_process

REPO = Path(__file__).resolve().parents[1]
SECRETISH = "wJalrXUtnFEMI-not-a-date-but-a-secret"


def _helper(tmp_path: Path, body: str, name: str = "helper") -> Path:
    script = tmp_path / name
    script.write_text(f"#!{sys.executable}\nimport json, os, sys, time\n" + textwrap.dedent(body))
    script.chmod(0o700)
    return script


def _profile(home: Path, command: str) -> None:
    (home / ".aws" / "config").write_text(f"[profile p]\ncredential_process = {command}\n")


def _answer(**extra: object) -> str:
    return json.dumps(
        {"Version": 1, "AccessKeyId": "AKIAHELPER", "SecretAccessKey": "helper-secret", **extra}
    )


def test_credprocs_secret_variables_never_reach_the_helper(hermetic_env: Path, tmp_path: Path) -> None:
    helper = _helper(
        tmp_path,
        f"""
        token = os.environ.get("CREDPROC_PRIVATE_KEY_PASSPHRASE", "absent")
        print(json.dumps({json.loads(_answer())!r} | {{"SessionToken": token}}))
    """,
    )
    _profile(hermetic_env, str(helper))
    done = run_credproc(
        "credential-process",
        "--profile",
        "p",
        "--no-cache",
        env={**os.environ, "CREDPROC_PRIVATE_KEY_PASSPHRASE": "hunter2-passphrase"},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["SessionToken"] == "absent"


@pytest.mark.parametrize(
    "printed",
    [
        {"Expiration": SECRETISH},
        {"Expiration": 1e20},
        {"Version": SECRETISH},
    ],
)
def test_no_error_repeats_what_the_helper_printed(
    hermetic_env: Path, tmp_path: Path, printed: dict[str, object]
) -> None:
    helper = _helper(tmp_path, f"print({json.dumps(json.loads(_answer()) | printed)!r})\n")
    _profile(hermetic_env, str(helper))
    done = run_in_process("credential-process", "--profile", "p", "--no-cache")
    assert done.returncode in (1, 3), done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    assert SECRETISH not in done.stderr and "1e+20" not in done.stderr
    assert len(done.stderr.splitlines()) <= 2


def test_errors_and_listings_show_the_program_name_only(hermetic_env: Path, tmp_path: Path) -> None:
    helper = _helper(tmp_path, "sys.exit(3)\n")
    _profile(hermetic_env, f"{helper} --password hunter2-arg")
    done = run_credproc("doctor", "--profile", "p")
    assert "hunter2-arg" not in done.stdout + done.stderr
    assert "run credential_process: helper …" in done.stdout
    _profile(hermetic_env, f"{helper} --password 'hunter2-arg")  # unbalanced quote
    done = run_credproc("credential-process", "--profile", "p")
    assert done.returncode == 1
    assert "hunter2-arg" not in done.stderr
    assert "cannot parse credential_process: No closing quotation" in done.stderr


def test_more_than_a_mebibyte_of_output_is_refused(hermetic_env: Path, tmp_path: Path) -> None:
    helper = _helper(
        tmp_path,
        """
        chunk = b"x" * 65536
        while True:
            sys.stdout.buffer.write(chunk)
    """,
    )
    _profile(hermetic_env, str(helper))
    started = time.monotonic()
    done = run_credproc("credential-process", "--profile", "p", "--no-cache", timeout=30)
    assert time.monotonic() - started < 20
    assert done.returncode == 3
    assert done.stderr.splitlines()[-1] == (
        "credproc: error: credential_process of profile 'p' printed more than 1 MiB"
    )


# Plays credproc with a 1 s limit; the test plays the AWS CLI, which waits for EOF on credproc's
# stderr. The helper starts a grandchild that holds stdout and stderr, then hangs.
CALLER = """
import sys
from credproc.errors import UpstreamError
from credproc.sources import process
process.TIMEOUT_SECONDS = 1
try:
    process.run_helper(sys.argv[1:], {"PATH": "/usr/bin:/bin"}, "credential_process of profile 'p'")
except UpstreamError as exc:
    print(exc.message, flush=True)
"""


def test_at_the_time_limit_the_whole_group_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    helper = _helper(
        tmp_path,
        f"""
        import subprocess
        grandchild = subprocess.Popen(["sleep", "60"])  # inherits stdout and stderr
        open({str(pids)!r}, "w").write(str(grandchild.pid))
        time.sleep(60)
    """,
    )
    started = time.monotonic()
    caller = subprocess.run(
        [sys.executable, "-c", CALLER, str(helper)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert time.monotonic() - started < 25  # EOF on stderr came (the grandchild would hold it 60 s)
    assert caller.stdout.strip() == "credential_process of profile 'p' did not answer within 1s"
    grandchild = int(pids.read_text())
    status = Path(f"/proc/{grandchild}/status")
    assert not status.exists() or "zombie" in status.read_text()


def _on_a_terminal(hermetic_env: Path, tmp_path: Path) -> object:
    import pexpect

    helper = _helper(
        tmp_path,
        f"""
        with open("/dev/tty", "w") as out, open("/dev/tty") as into:
            out.write("helper code? ")
            out.flush()
            code = into.readline().strip()
        print(json.dumps({json.loads(_answer())!r} | {{"SessionToken": "token-" + code}}))
    """,
    )
    _profile(hermetic_env, str(helper))
    return pexpect.spawn(
        sys.executable,
        ["-m", "credproc", "credential-process", "--profile", "p", "--no-cache"],
        cwd=str(REPO),
        env=dict(os.environ),
        encoding="utf-8",
        timeout=30,
    )


def test_a_helper_in_its_own_group_can_still_prompt_on_the_terminal(
    hermetic_env: Path, tmp_path: Path
) -> None:
    child: Any = _on_a_terminal(hermetic_env, tmp_path)
    try:
        child.expect("helper code\\? ")
        child.sendline("424242")
        child.expect_exact('"SessionToken":"token-424242"')
        child.expect(pexpect_eof())
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_ctrl_c_at_the_helpers_prompt_interrupts_credproc(hermetic_env: Path, tmp_path: Path) -> None:
    child: Any = _on_a_terminal(hermetic_env, tmp_path)
    try:
        child.expect("helper code\\? ")
        child.sendintr()
        child.expect("credproc: error: interrupted")
        child.expect(pexpect_eof())
    finally:
        child.close(force=True)
    assert child.exitstatus == 130


def pexpect_eof() -> object:
    import pexpect

    return pexpect.EOF


def test_cache_list_and_the_cache_entry_show_the_program_name_only(
    hermetic_env: Path, tmp_path: Path
) -> None:
    helper = _helper(tmp_path, f"print({_answer(Expiration='2999-01-01T00:00:00Z')!r})\n")
    _profile(hermetic_env, f"{helper} --password hunter2-arg")
    done = run_credproc("credential-process", "--profile", "p")
    assert done.returncode == 0, done.stderr
    listed = run_credproc("cache", "list")
    assert listed.returncode == 0, listed.stderr
    assert "run credential_process: helper …" in listed.stdout
    entries = list((tmp_path / "cache").glob("*.entry"))
    assert entries
    for entry in entries:
        assert b"hunter2-arg" not in entry.read_bytes()
    assert "hunter2-arg" not in listed.stdout + listed.stderr + done.stderr


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("sys.exit(4)\n", 4, "needs a person to act (exit 4)"),
        ("sys.exit(1)\n", 1, "failed with exit code 1 (bad input, see above)"),
        ("sys.exit(7)\n", 3, "failed with exit code 7"),
        ("print('{not json')\n", 3, "printed something that is not JSON"),
    ],
)
def test_the_helpers_exit_code_and_output_decide_the_error(
    hermetic_env: Path, tmp_path: Path, body: str, code: int, message: str
) -> None:
    _profile(hermetic_env, str(_helper(tmp_path, body)))
    done = run_in_process("credential-process", "--profile", "p", "--no-cache")
    assert (done.returncode, done.stdout) == (code, "")
    assert done.stderr.splitlines()[-1] == f"credproc: error: credential_process of profile 'p' {message}"


def test_a_helper_that_is_not_executable_is_bad_input(hermetic_env: Path, tmp_path: Path) -> None:
    helper = _helper(tmp_path, "print('never runs')\n")
    helper.chmod(0o600)
    _profile(hermetic_env, f"{helper} --flag")
    done = run_in_process("credential-process", "--profile", "p", "--no-cache")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"credproc: error: credential_process of profile 'p': not executable: {helper}"
    )


def test_a_helper_that_closes_stdout_but_lingers_is_killed_at_the_time_limit(
    hermetic_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credproc.sources import process

    helper = tmp_path / "lingers"
    helper.write_text("#!/bin/sh\nexec >&-\nexec sleep 60\n")  # EOF at once, then no exit
    helper.chmod(0o700)
    _profile(hermetic_env, str(helper))
    monkeypatch.setattr(process, "TIMEOUT_SECONDS", 2)
    done = run_in_process("credential-process", "--profile", "p", "--no-cache")
    assert done.returncode == 3
    assert done.stderr.splitlines()[-1] == (
        "credproc: error: credential_process of profile 'p' did not answer within 2s"
    )


@pytest.mark.parametrize(
    ("argv", "target"),
    [
        ([], None),
        (["aws", "configure", "export-credentials"], None),
        (["credproc"], None),
        (["credproc", "login", "--profile", "p"], None),
        (["/usr/bin/credproc", "credential-process", "--profile", "p"], "p"),
        (
            [
                "python3.11",
                "-m",
                "credproc",
                "credential-process",
                "--profile",
                "p",
                "--refresh-window",
                "60",
            ],
            "p",
        ),
        (["python3", "-m", "pip", "credential-process"], None),
        (["credproc", "credential-process"], "from-env"),
        # --no-cache sets the cache aside but names the same profile: still credproc for it.
        (["credproc", "credential-process", "--profile", "q", "--no-cache"], "q"),
        # A flag that changes the answer (or one the fast parser does not know) is another request.
        (["credproc", "credential-process", "--profile", "p", "--role-arn", "arn:aws:iam::1:role/r"], None),
        (["credproc", "credential-process", "--profile", "p", "--bogus"], None),
    ],
)
def test_a_command_is_recognised_as_credproc_only_for_a_plain_profile_request(
    argv: list[str], target: str | None
) -> None:
    from credproc.sources.process import credproc_target

    assert credproc_target(argv, {"AWS_PROFILE": "from-env"}) == target


@pytest.mark.parametrize(
    ("command", "label"),
    [
        ("/opt/bin/helper --password hunter2", "helper …"),
        ("helper", "helper"),
        ("helper 'unbalanced hunter2", "(a command line that cannot be parsed)"),
        ("   ", "(an empty command line)"),
    ],
)
def test_a_command_is_labelled_by_its_program_name_only(command: str, label: str) -> None:
    from credproc.sources.process import program_label

    assert program_label(command) == label


def test_on_windows_the_helper_is_killed_by_itself_and_gets_no_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from credproc import platform
    from credproc.sources import process

    monkeypatch.setattr(platform, "IS_WINDOWS", True)
    # A new process group there: Ctrl+C in the console does not reach the helper through credproc.
    assert set(process._own_group()) == {"creationflags"}
    assert process._foreground_terminal() is None
    proc = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL)
    process._kill_group(proc)
    assert proc.returncode == -9


# Plays a shell with job control: credproc runs as a background job of the terminal's session.
BACKGROUND = """
import subprocess, sys
done = subprocess.run(
    [sys.executable, "-m", "credproc", "credential-process", "--profile", "p", "--no-cache"],
    process_group=0, capture_output=True, text=True, timeout=60,
)
print("exit", done.returncode, done.stdout, done.stderr)
"""


def test_a_credproc_in_the_background_leaves_the_terminal_to_the_foreground_job(
    hermetic_env: Path, tmp_path: Path
) -> None:
    import pexpect

    helper = _helper(
        tmp_path,
        f"""
        with open("/dev/tty") as tty:
            where = "foreground" if os.tcgetpgrp(tty.fileno()) == os.getpgrp() else "background"
        print(json.dumps({json.loads(_answer())!r} | {{"SessionToken": where}}))
    """,
    )
    _profile(hermetic_env, str(helper))
    child: Any = pexpect.spawn(
        sys.executable, ["-c", BACKGROUND], cwd=str(REPO), env=dict(os.environ), encoding="utf-8", timeout=60
    )
    try:
        child.expect_exact('exit 0 {"Version":1')
        child.expect_exact('"SessionToken":"background"')
        child.expect(pexpect_eof())
    finally:
        child.close(force=True)
