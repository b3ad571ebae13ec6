"""The cache-hit path of `credproc exec`: same child env as the full CLI, none of its imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from credproc import flags
from credproc.profiles import selected_profile
from tests.conftest import CREDPROC, AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS

DUMP_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
HEAVY = (
    "click",
    "botocore",
    "boto3",
    "keyring",
    "cryptography",
    "configparser",
    "platformdirs",
    "subprocess",
)
# Runs the real entry point with execve replaced by a probe that reports what the hit imported.
PROBE = f"""
import json, sys
from credproc import launch
def probe(path, argv, env, execve=None):
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
    print(json.dumps({{"heavy": heavy, "argv": argv, "env": env}}))
    sys.exit(0)
launch.exec_posix = probe
sys.argv = ["credproc", *sys.argv[1:]]
from credproc.entry import main
main()
"""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--", "ls", "-l"], ({}, ["ls", "-l"])),
        (["-p", "dev", "--region=eu-west-1", "--", "x"], ({"profile": "dev", "region": "eu-west-1"}, ["x"])),
        (
            ["--profile=dev", "--refresh-window", "60", "--", "x"],
            ({"profile": "dev", "refresh_window": "60"}, ["x"]),
        ),
        (["--server", "--", "x"], None),
        (["-p", "dev", "x"], None),  # no `--`: let click parse it
        (["-p=dev", "--", "x"], ({"profile": "=dev"}, ["x"])),  # click's reading of a short option
        (["-pdev", "--", "x"], ({"profile": "dev"}, ["x"])),
        (["-p"], None),
        (["--"], None),
        (["--debug", "--", "x"], None),
    ],
)
def test_parse_accepts_only_the_plain_shape(argv: list[str], expected: object) -> None:
    assert flags.parse(flags.EXEC, argv, command=True) == expected


@pytest.mark.parametrize(
    ("given", "environ", "expected"),
    [
        (None, {}, "default"),
        (None, {"AWS_PROFILE": "a"}, "a"),
        (None, {"AWS_DEFAULT_PROFILE": "b"}, "b"),
        (None, {"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"}, "a"),
        ("given", {"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"}, "given"),
    ],
)
def test_the_profile_name_rule(given: str | None, environ: dict[str, str], expected: str) -> None:
    assert selected_profile(given, environ) == expected


def probe(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, object] | None]:
    """(status, what reached execve); the full CLI's keys mode reaches the same probe."""
    # Without coverage's variables: its subprocess hook would import configparser itself.
    clean = {k: v for k, v in (env or os.environ).items() if not k.startswith("COVERAGE")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout.startswith("{") else None


def fast(result: tuple[int, dict[str, object] | None]) -> bool:
    return result[1] is not None and result[1]["heavy"] == []


def test_a_warm_hit_builds_the_same_env_without_click_or_botocore(chain: AwsFiles, sts: MotoSTS) -> None:
    slow = json.loads(run_credproc("exec", "-p", "top", "--", *DUMP_ENV).stdout)  # miss: full CLI
    assert sts.calls["AssumeRole"] == 2
    status, hit = probe("exec", "-p", "top", "--", *DUMP_ENV)
    assert status == 0 and hit is not None
    assert hit["heavy"] == [], "the hit imported heavy modules or went through the full CLI"
    assert hit["argv"] == DUMP_ENV
    assert hit["env"] == {k: v for k, v in slow.items() if not k.startswith("COVERAGE")}
    assert sts.calls["AssumeRole"] == 2


def test_the_hit_replaces_the_process_and_the_childs_status_is_credprocs(chain: AwsFiles) -> None:
    assert run_credproc("exec", "-p", "top", "--", "true").returncode == 0  # warm
    assert fast(probe("exec", "-p", "top", "--", "true"))
    done = subprocess.run(
        [*CREDPROC, "exec", "-p", "top", "--", "sh", "-c", "exit 7"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 7


def test_a_config_change_misses_and_the_full_cli_answers(chain: AwsFiles) -> None:
    run_credproc("exec", "-p", "top", "--", "true")
    chain.config.write_text(chain.config.read_text().replace("region = eu-west-1", "region = ap-east-1"))
    status, seen = probe("exec", "-p", "top", "--", "true")
    assert status == 0 and seen is not None
    assert "click" in seen["heavy"]  # type: ignore[operator]
    assert seen["env"]["AWS_REGION"] == "ap-east-1"  # type: ignore[index]


def test_region_flag_has_its_own_entry(chain: AwsFiles) -> None:
    run_credproc("exec", "-p", "top", "--region", "sa-east-1", "--", "true")
    status, hit = probe("exec", "-p", "top", "--region", "sa-east-1", "--", "true")
    assert fast((status, hit)) and hit["env"]["AWS_REGION"] == "sa-east-1"  # type: ignore[index]
    assert not fast(probe("exec", "-p", "top", "--", "true"))


def test_anything_unusual_goes_to_the_full_cli(chain: AwsFiles, tmp_path: Path) -> None:
    run_credproc("exec", "-p", "top", "--", "true")
    assert probe("exec", "-p", "top", "--server", "--", "true") == (0, None)  # spawned, not exec'd
    assert probe("exec", "-p", "top", "--", "no-such-program-anywhere") == (127, None)
    daprd = tmp_path / "daprd"
    daprd.write_text("#!/bin/sh\n")
    daprd.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    run_credproc("exec", "-p", "top", "--", "true", env=env)
    status, seen = probe("exec", "-p", "top", "--", "daprd", env=env)
    assert status == 0 and not fast((status, seen))  # the full CLI, which warns


def test_cache_list_shows_exec_entries_without_secrets(chain: AwsFiles) -> None:
    run_credproc("exec", "-p", "top", "--", "true")
    listing = run_credproc("cache", "list", "--json").stdout
    rows = [json.loads(line) for line in listing.splitlines()]
    assert any(r["kind"] == "exec" and r["profile"] == "top" for r in rows)
