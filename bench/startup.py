"""Start-up cost of the full CLI: importing it, `--help`, and one completion TAB.

Whole processes, median wall ms of interleaved runs, plus the CLI group's own import time as
``python -X importtime`` reports it (cumulative, so what the interpreter costs to start is not in
it). ``--baseline DIR`` measures another checkout (e.g. ``git archive`` of an older commit) in the
same interleaved runs, so a before/after comparison shares one machine state:

    python bench/startup.py [--runs 15] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPLETE_ENV = {"_CREDPROC_COMPLETE": "bash_complete", "COMP_WORDS": "credproc cre", "COMP_CWORD": "1"}
FLOOR = "`python -c pass`"


@dataclass(frozen=True)
class Tree:
    """A checkout to measure: where it is and which module holds its click group."""

    label: str
    root: Path

    @property
    def cli_module(self) -> str:
        # Before issue 16 the group lived in credproc/cli/main.py; since, in credproc/cli.py.
        old = (self.root / "credproc" / "cli" / "main.py").exists()
        return "credproc.cli.main" if old else "credproc.cli"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_CREDPROC", "COVERAGE"))}
        env["PYTHONPATH"] = str(self.root)
        return {**env, **(extra or {})}

    def rows(self) -> dict[str, tuple[list[str], dict[str, str]]]:
        py = sys.executable
        tag = f" ({self.label})"
        return {
            "import the CLI group" + tag: ([py, "-c", f"import {self.cli_module}"], self.env()),
            "`credproc --help`" + tag: ([py, "-m", "credproc", "--help"], self.env()),
            "one completion TAB (`credproc cre<TAB>`, bash)" + tag: (
                [py, "-m", "credproc"],
                self.env(COMPLETE_ENV),
            ),
        }

    def import_ms(self) -> float:
        """Cumulative import time of the group's module, from ``-X importtime`` (stderr lines)."""
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {self.cli_module}"],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
            cwd=self.root,
        )
        for line in done.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == self.cli_module:
                return int(parts[1]) / 1000
        raise RuntimeError(f"{self.cli_module} not in -X importtime output")


def wall_ms(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=env["PYTHONPATH"]
    )
    return (time.perf_counter() - start) * 1000


def measure(runs: int, trees: list[Tree]) -> dict[str, float]:
    """Median ms per row; every tree's rows interleaved in each round, so drift hits all alike."""
    rows: dict[str, tuple[list[str], dict[str, str]]] = {
        FLOOR: ([sys.executable, "-c", "pass"], trees[0].env()),
    }
    for tree in trees:
        rows.update(tree.rows())
    samples: dict[str, list[float]] = {name: [] for name in rows}
    imports: dict[str, list[float]] = {tree.label: [] for tree in trees}
    for _ in range(runs):
        for name, (argv, env) in rows.items():
            samples[name].append(wall_ms(argv, env))
        for tree in trees:
            imports[tree.label].append(tree.import_ms())
    result = {name: statistics.median(values) for name, values in samples.items()}
    for tree in trees:
        result[f"`{tree.cli_module}` import, -X importtime cumulative ({tree.label})"] = statistics.median(
            imports[tree.label]
        )
    return result


def table(result: dict[str, float]) -> list[str]:
    lines = ["| start-up | median ms |", "|---|---:|"]
    lines += [f"| {name} | {ms:.1f} |" for name, ms in result.items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to measure beside")
    args = parser.parse_args(argv)
    trees = [Tree("this tree", REPO)]
    if args.baseline is not None:
        trees.insert(0, Tree("baseline", args.baseline.resolve()))
    print("\n".join(table(measure(args.runs, trees))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
