"""Start-up cost of the full CLI: importing it, `--help`, and one completion TAB.

Measures whole processes (median wall ms of interleaved runs) plus the CLI's own import time as
``python -X importtime`` reports it (the cumulative microseconds of the top-level ``credproc.cli``
import), so the figure does not depend on what the interpreter itself costs to start.

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The module holding the click group (before issue 16 it was credproc.cli.main).
CLI_MODULE = os.environ.get("CREDPROC_BENCH_CLI_MODULE", "credproc.cli")
COMPLETE_ENV = {"_CREDPROC_COMPLETE": "bash_complete", "COMP_WORDS": "credproc cre", "COMP_CWORD": "1"}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_CREDPROC"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**env, **(extra or {})}


ROWS: dict[str, tuple[list[str], dict[str, str]]] = {
    "`python -c pass`": ([sys.executable, "-c", "pass"], _env()),
    "`import` the CLI group": ([sys.executable, "-c", f"import {CLI_MODULE}"], _env()),
    "`credproc --help`": ([sys.executable, "-m", "credproc", "--help"], _env()),
    "one completion TAB (`credproc cre<TAB>`, bash)": (
        [sys.executable, "-m", "credproc"], _env(COMPLETE_ENV)
    ),
}


def wall_ms(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def import_ms(module: str = CLI_MODULE) -> float:
    """Cumulative import time of ``module`` itself, from ``-X importtime`` (stderr lines)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], env=_env(),
                          capture_output=True, text=True, check=True)
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1000
    raise RuntimeError(f"{module} not in -X importtime output")


def measure(runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in ROWS}
    imports: list[float] = []
    for _ in range(runs):
        for name, (argv, env) in ROWS.items():
            samples[name].append(wall_ms(argv, env))
        imports.append(import_ms())
    result = {name: statistics.median(values) for name, values in samples.items()}
    result[f"`{CLI_MODULE}` import (-X importtime, cumulative)"] = statistics.median(imports)
    return result


def table(result: dict[str, float]) -> list[str]:
    lines = ["| start-up | median ms |", "|---|---:|"]
    lines += [f"| {name} | {ms:.1f} |" for name, ms in result.items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    print("\n".join(table(measure(args.runs))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
