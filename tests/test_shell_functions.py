"""The ``shell/`` functions in real bash, zsh and fish: credproc-use switches identity through
``credproc env``, credproc-clear removes it, credproc-prompt shows the profile and minutes left."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import BASE_KEY_ID, AwsFiles
from tests.support.moto_sts import MotoSTS
from tests.support.shells import env_with, install_credproc, shell

# How each shell loads the integration the way the README says (from `credproc shell-init`), then
# prints one variable per line; "<unset>" for a variable that is not in the environment.
LOAD = {
    "bash": 'eval "$(credproc shell-init bash)"',
    "zsh": 'eval "$(credproc shell-init zsh)"',
    "fish": "credproc shell-init fish | source",
}
VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "CREDPROC_PROFILE",
    "AWS_PROFILE",
)
SHELLS = sorted(LOAD)


def _show(sh: str) -> str:
    """A shell snippet printing VARS as NAME=value lines."""
    if sh == "fish":
        return "".join(f'if set -q {v}; echo "{v}=${v}"; else; echo "{v}=<unset>"; end\n' for v in VARS)
    return "".join(
        f'if [ -n "${{{v}+x}}" ]; then echo "{v}=${v}"; else echo "{v}=<unset>"; fi\n' for v in VARS
    )


def _run(sh: str, body: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = LOAD[sh] + "\n" + body
    argv = {
        "bash": [shell("bash"), "--norc", "--noprofile", "-c", script],
        "zsh": [shell("zsh"), "-f", "-c", script],
        "fish": [shell("fish"), "--no-config", "-c", script],
    }[sh]
    return subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def _vars(text: str) -> list[dict[str, str]]:
    """Each block of VARS lines printed, as a dict."""
    blocks: list[dict[str, str]] = []
    for line in text.splitlines():
        name, eq, value = line.partition("=")
        if not eq or name not in VARS:
            continue
        if name == VARS[0]:
            blocks.append({})
        blocks[-1][name] = value
    return blocks


@pytest.fixture
def env(chain: AwsFiles, sts: MotoSTS, tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    install_credproc(bin_dir)
    return env_with(bin_dir, AWS_PROFILE="base")


@pytest.mark.parametrize("sh", SHELLS)
def test_credproc_use_switches_identity_and_credproc_clear_removes_it(sh: str, env: dict[str, str]) -> None:
    body = _show(sh) + "credproc-use top\n" + _show(sh) + "credproc-clear\n" + _show(sh)
    done = _run(sh, body, env)
    assert done.returncode == 0, done.stderr
    before, used, cleared = _vars(done.stdout)
    assert before["AWS_PROFILE"] == "base"
    assert before["AWS_ACCESS_KEY_ID"] == "<unset>"

    assert used["CREDPROC_PROFILE"] == "top"
    assert used["AWS_ACCESS_KEY_ID"].startswith("ASIA")  # moto's AssumeRole answer, not the base keys
    assert used["AWS_ACCESS_KEY_ID"] != BASE_KEY_ID
    assert used["AWS_SESSION_TOKEN"] not in ("", "<unset>")
    assert used["AWS_REGION"] == used["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert used["AWS_PROFILE"] == "<unset>"  # it would fight the keys in SDKs that prefer it
    expires = datetime.strptime(used["AWS_CREDENTIAL_EXPIRATION"], "%Y-%m-%dT%H:%M:%SZ")
    assert expires.replace(tzinfo=timezone.utc) > datetime.now(timezone.utc)

    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "CREDPROC_PROFILE",
    ):
        assert cleared[name] == "<unset>", name


@pytest.mark.parametrize("sh", SHELLS)
def test_a_failing_credproc_use_keeps_the_current_identity(sh: str, env: dict[str, str]) -> None:
    status = "$status" if sh == "fish" else "$?"
    body = f"credproc-use top\ncredproc-use no-such-profile\necho status={status}\n" + _show(sh)
    done = _run(sh, body, env)
    assert "status=1" in done.stdout
    assert "credproc: error: profile 'no-such-profile'" in done.stderr
    [kept] = _vars(done.stdout)
    assert kept["CREDPROC_PROFILE"] == "top"
    assert kept["AWS_ACCESS_KEY_ID"].startswith("ASIA")


@pytest.mark.parametrize("sh", SHELLS)
def test_credproc_use_without_a_profile_is_a_usage_error(sh: str, env: dict[str, str]) -> None:
    status = "$status" if sh == "fish" else "$?"
    done = _run(sh, f"credproc-use\necho status={status}", env)
    assert "status=2" in done.stdout
    assert "usage: credproc-use PROFILE" in done.stderr


@pytest.mark.parametrize("sh", SHELLS)
def test_the_prompt_shows_the_profile_and_minutes_left(sh: str, env: dict[str, str]) -> None:
    # (fish 3.4+ reads "$(...)" as bash does)
    done = _run(sh, 'echo "[$(credproc-prompt)]"\ncredproc-use top\necho "[$(credproc-prompt)]"\n', env)
    assert done.returncode == 0, done.stderr
    empty, shown = done.stdout.splitlines()
    assert empty == "[]"
    name, minutes = shown.strip("[]").split(" ")
    assert name == "top"
    assert minutes.endswith("m")
    assert 55 <= int(minutes[:-1]) <= 60  # moto's AssumeRole sessions last an hour


@pytest.mark.parametrize("sh", SHELLS)
@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [(timedelta(minutes=-5), "ops expired"), (timedelta(minutes=90, seconds=30), "ops 90m"), (None, "ops")],
)
def test_the_prompt_reads_whatever_the_variables_say(
    sh: str, env: dict[str, str], expires_in: timedelta | None, expected: str
) -> None:
    env = dict(env, CREDPROC_PROFILE="ops")
    if expires_in is not None:
        when = datetime.now(timezone.utc) + expires_in
        env["AWS_CREDENTIAL_EXPIRATION"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    done = _run(sh, "credproc-prompt", env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_bash_completes_profile_names_for_credproc_use(env: dict[str, str]) -> None:
    body = (
        "COMP_WORDS=(credproc-use mi); COMP_CWORD=1\n"
        "__credproc_use_complete credproc-use mi credproc-use\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
        "complete -p credproc-use\n"
    )
    done = _run("bash", body, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["middle", "complete -F __credproc_use_complete credproc-use"]


def test_fish_completes_profile_names_for_credproc_use(env: dict[str, str]) -> None:
    done = _run("fish", "complete --do-complete 'credproc-use t'", env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["top"]


def test_zsh_completes_profile_names_for_credproc_use(env: dict[str, str], tmp_path: Path) -> None:
    import pexpect

    child = pexpect.spawn(
        shell("zsh"),
        ["-f", "-i"],
        encoding="utf-8",
        timeout=30,
        dimensions=(24, 200),
        env=dict(env, PS1="%% ", TERM="dumb", ZDOTDIR=str(tmp_path)),
    )
    try:
        child.sendline(
            'autoload -Uz compinit && compinit -u -D && eval "$(credproc shell-init zsh)" && echo LOADED'
        )
        child.expect("LOADED")
        child.send("credproc-use mid\t")
        child.expect("middle")
        child.send("\x03")
    finally:
        child.close(force=True)


# Tracing on before credproc-use, and a marker command after it: the trace must show the marker
# (tracing restored) and none of the values credproc-use set.
TRACE_ON = {"bash": "set -xv", "zsh": "set -xv", "fish": "set -g fish_trace 1"}
TRACE_STILL_ON = {
    "bash": "case $- in *x*v*|*v*x*) echo TRACE=on ;; *) echo TRACE=off ;; esac",
    "zsh": "if [[ -o xtrace && -o verbose ]]; then echo TRACE=on; else echo TRACE=off; fi",
    "fish": 'if test "$fish_trace" = 1; echo TRACE=on; else; echo TRACE=off; end',
}


@pytest.mark.parametrize("sh", SHELLS)
def test_tracing_never_prints_the_keys_and_is_restored(sh: str, env: dict[str, str]) -> None:
    body = (
        f"{TRACE_ON[sh]}\ncredproc-use top\necho marker-after-use\ncredproc-clear\n"
        f"echo marker-after-clear\ncredproc-use top\n{TRACE_STILL_ON[sh]}\n" + _show(sh)
    )
    done = _run(sh, body, env)
    assert done.returncode == 0, done.stderr
    assert "TRACE=on" in done.stdout
    [used] = _vars(done.stdout)
    assert used["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert "marker-after-use" in done.stderr and "marker-after-clear" in done.stderr  # still tracing
    trace_before_show = done.stderr.split("TRACE=")[0]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert used[name] not in trace_before_show, f"{name} in the trace"


SERVE_VARS = (
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


@pytest.mark.parametrize("sh", SHELLS)
def test_credproc_clear_undoes_what_serve_told_the_shell_to_set(sh: str, env: dict[str, str]) -> None:
    from credproc import envbuild, render

    own_config = "/tmp/credproc-own-config"  # a user's own setting: never cleared
    served = envbuild.for_server(envbuild.Endpoint("http://127.0.0.1:1/creds", "tok"), "top", "eu-west-1")
    fmt = "fish" if sh == "fish" else "bash"
    show = "".join(
        f'if set -q {v}; echo "{v}=${v}"; else; echo "{v}=<unset>"; end\n'
        if sh == "fish"
        else f'if [ -n "${{{v}+x}}" ]; then echo "{v}=${v}"; else echo "{v}=<unset>"; fi\n'
        for v in SERVE_VARS
    )
    # What `eval "$(credproc serve ...)"` leaves, then clearing; then a user's own config file stays.
    body = render.render(served, fmt) + "\ncredproc-clear\n" + show
    body += (
        f"set -gx AWS_CONFIG_FILE {own_config}\n"
        if sh == "fish"
        else f"export AWS_CONFIG_FILE={own_config}\n"
    )
    body += "credproc-clear\n" + show
    done = _run(sh, body, env)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("=", 1) for line in done.stdout.splitlines()[: len(SERVE_VARS)])
    assert lines == dict.fromkeys(SERVE_VARS, "<unset>")
    assert f"AWS_CONFIG_FILE={own_config}" in done.stdout.splitlines()[len(SERVE_VARS) :]
