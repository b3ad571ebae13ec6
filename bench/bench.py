"""credproc's benchmark: wall time of whole processes, measured side by side in one run.

Prints a Markdown table of medians and ratios against ``python -c pass`` on the same interpreter.
Only public tools: Python's own clock and subprocess; moto's server stands in for STS so no AWS
account is needed. Runs are interleaved (A B C A B C ...) so drift hits every row alike.

    python bench/bench.py [--runs 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.moto_sts import MotoSTS  # noqa: E402

CONFIG = """\
[profile base]
region = us-east-1

[profile middle]
role_arn = arn:aws:iam::111111111111:role/middle
source_profile = base

[profile top]
role_arn = arn:aws:iam::222222222222:role/top
source_profile = middle

[profile work]
credential_process = {credproc} credential-process --profile top
region = us-east-1
"""
CREDENTIALS = """\
[base]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""

Row = tuple[str, list[str]]


def console_script() -> str:
    """The installed `credproc` wrapper itself (not a version manager's shim in front of it)."""
    path = Path(sysconfig.get_path("scripts")) / "credproc"
    return str(path) if path.exists() else ""


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {argv}: {done.stderr.decode(errors='replace')}")
    return elapsed


def measure(rows: list[Row], env: dict[str, str], runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name, _ in rows}
    for _ in range(2):  # warm the page cache and the .pyc files
        for _name, argv in rows:
            timed(argv, env)
    for _ in range(runs):
        for name, argv in rows:
            samples[name].append(timed(argv, env))
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


def cold_runs(env: dict[str, str], sts: MotoSTS, cache: Path, n: int) -> tuple[float, int]:
    """N parallel cold runs: wall time of the slowest and upstream calls made."""
    for entry in cache.glob("*"):
        entry.unlink()
    sts.app.reset()
    started = time.perf_counter()
    argv = [sys.executable, "-m", "credproc", "credential-process", "--profile", "top"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(n)]
    codes = [p.wait() for p in procs]
    elapsed = (time.perf_counter() - started) * 1000
    if any(codes):
        raise SystemExit(f"cold run failed: {codes}")
    return elapsed, sum(sts.calls.values())


def table(results: dict[str, float], base: str) -> str:
    lines = ["| measurement | median ms | ratio to `python -c pass` |", "|---|---:|---:|"]
    for name, ms in results.items():
        lines.append(f"| {name} | {ms:.1f} | {ms / results[base]:.2f}x |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="credproc-bench-") as home, MotoSTS() as sts:
        aws = Path(home, ".aws")
        aws.mkdir()
        script = console_script()
        (aws / "config").write_text(CONFIG.format(credproc=script or f"{py} -m credproc"))
        (aws / "credentials").write_text(CREDENTIALS)
        cache = Path(home, "cache")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COVERAGE"))}
        env.update(HOME=home, CREDPROC_CACHE_DIR=str(cache), AWS_ENDPOINT_URL_STS=sts.url)
        hit = ["credential-process", "--profile", "top"]
        subprocess.run([py, "-m", "credproc", *hit], env=env, check=True, stdout=subprocess.DEVNULL)
        rows: list[Row] = [
            ("`python -c pass`", [py, "-c", "pass"]),
            ("`python -c 'import re, sys'` (console-script floor)", [py, "-c", "import re, sys"]),
            ("credproc hit, `python -m credproc`", [py, "-m", "credproc", *hit]),
        ]
        if script:
            rows.append(("credproc hit, installed `credproc` script", [script, *hit]))
        boto3_probe = ("import boto3; boto3.Session(profile_name='work').get_credentials()"
                       ".get_frozen_credentials()")
        rows.append(("boto3 resolving the same profile (fresh process)", [py, "-c", boto3_probe]))
        results = measure(rows, env, args.runs)
        cold = {n: cold_runs(env, sts, cache, n) for n in (1, 32)}
    print(f"credproc benchmark — Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs, {args.runs} runs each, medians\n")
    print(table(results, "`python -c pass`"))
    print()
    print("| parallel cold runs (2-hop chain) | wall ms | upstream calls |")
    print("|---|---:|---:|")
    for n, (ms, calls) in cold.items():
        print(f"| {n} | {ms:.0f} | {calls} |")
    print()
    print(json.dumps({"medians_ms": results, "cold": cold}, indent=None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
