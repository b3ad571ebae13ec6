"""The benchmark script runs end to end (--quick) and reports every measurement.

Behaviour only, never time: the report has its tables, every hit row made no upstream call, every
cold run made exactly one call per hop, parallel cold runs agreed on one set of keys, and the
peers were installed and measured on a hit too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.test_go_peers import PATHS, PEERS

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench" / "bench.py"


def bench_peers() -> Any:
    """bench/peers.py (bench/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_peers", REPO / "bench" / "peers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# The clean venvs where they live on this machine, read when this module is imported: hermetic_env
# then moves HOME and XDG_CACHE_HOME into each test's temporary folder, where every run of the
# benchmark would rebuild them from PyPI.
PEERS_MODULE = bench_peers()
VENVS: Path = PEERS_MODULE.default_root()


def test_the_clean_venvs_live_on_the_machine_not_in_the_checkout(tmp_path: Path) -> None:
    default_root = PEERS_MODULE.default_root
    assert default_root({"CREDPROC_BENCH_VENVS": str(tmp_path / "given")}) == tmp_path / "given"
    xdg = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    home = {"HOME": str(tmp_path / "home")}
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # where .ci/install.d keeps the machine's caches
        assert default_root(xdg) == default_root(home) == Path("/var/cache/credproc-bench")
    else:
        assert default_root(xdg) == tmp_path / "xdg" / "credproc-bench"
        assert default_root(home) == tmp_path / "home" / ".cache" / "credproc-bench"
    assert REPO not in VENVS.parents  # never in the checkout: a fresh clone would rebuild them


def run_quick(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # The Go peers where this test found them: hermetic_env hides the CREDPROC_* variables.
    env.update({peer.variable: str(PATHS[peer.name]) for peer in PEERS})
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--venvs", str(VENVS), "--json", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(out.read_text())


def check_tables(text: str) -> None:
    for header in (
        "| measurement | median ms | ratio to `python -c pass` | max RSS MB |",
        "| goal | measured | met |",
        "| parallel cold runs | profile | wall ms (all done) | upstream calls |",
        "| Roles Anywhere: sign one CreateSession (in process) | median µs |",
        "| start-up | median ms |",
        "| cache-hit lookup (in process, `fastpath.lookup`) | median µs |",
    ):
        assert header in text
    assert "Python " in text.splitlines()[0]  # the machine line


def check_calls(rows: dict[str, Any], parallel: list[dict[str, Any]]) -> None:
    hits = [name for name in rows if name.startswith("credproc hit")]
    assert len(hits) >= 3  # 2-hop, SSO, Roles Anywhere
    assert all(rows[name]["calls_per_run"] == 0 for name in hits)
    assert rows["credproc cold, 2-hop (empty cache)"]["calls_per_run"] == 2
    assert rows["credproc cold, Roles Anywhere (empty cache)"]["calls_per_run"] == 1
    assert {run["profile"] for run in parallel} == {"top", "legacy", "ra"}
    for run in parallel:
        assert run["calls"] == run["expected"], run
        assert run["distinct_keys"] == 1, run


def check_peers(rows: dict[str, Any], notes: list[str]) -> None:
    peers = (
        "aws-export-credentials hit, 2-hop",
        "aws-sso-util credential-process hit, SSO",
        "credproc hit, 2-hop (clean venv)",
    )
    require("the clean venvs (PyPI)", all(p in rows for p in peers), "; ".join(notes))
    for peer in peers:
        assert rows[peer]["calls_per_run"] == 0, peer  # their caches were hit too
    for peer in peers[:2]:  # ... after their first run had filled them from the emulators
        assert rows[peer]["warmup_calls"] >= 1, peer


def row_named(rows: dict[str, Any], prefix: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [row for name, row in rows.items() if name.startswith(prefix)]
    assert len(found) == 1, (prefix, sorted(rows))
    return found[0]


def check_go_peers(results: dict[str, Any]) -> None:
    """Each Go peer ran against the emulators (its first run made calls) and was measured: a
    missing binary fails in CI as the Go tests do (.ci/install.d/70-go.sh builds them)."""
    for name, path in PATHS.items():
        if name != "daprd":
            require(name, path.is_file() and os.access(path, os.X_OK), f"no executable at {path}")
    assert not [n for n in results["notes"] if "not measured" in n], results["notes"]
    rows = results["rows"]
    # (row, upstream calls per timed run): the helper has no cache, aws-vault caches no role without MFA
    for prefix, calls in (
        ("aws_signing_helper credential-process, Roles Anywhere", 1),
        ("granted credential-process hit, 2-hop", 0),
        ("aws-vault export --format=json, 2-hop", 2),
        ("aws-vault export --format=json hit", 0),
    ):
        row = row_named(rows, prefix)
        assert row["calls_per_run"] == calls, (prefix, row)
        assert row["warmup_calls"] >= 1, (prefix, row)
    [theirs] = results["peer_parallel"]  # N helpers at once: N CreateSessions, N sets of keys
    assert theirs["calls"] == theirs["n"] == theirs["distinct_keys"] > 1, theirs
    # Both IMDSv2 servers answered every credentials GET from what their first GET fetched.
    assert {who: r["calls"] for who, r in results["imds"].items()} == {
        "aws_signing_helper serve": 0,
        "credproc serve": 0,
    }
    assert all(r["requests"] == 50 for r in results["imds"].values())
    vault = results["servers"]["`aws-vault exec --ecs-server top-mfa` (cached)"]
    assert vault["requests"] == 50  # serverload.py checked each answer


def check_exec(results: dict[str, Any]) -> None:
    if not (REPO / "credproc" / "server.py").exists():
        return  # exec --server is not in this tree yet
    assert "`credproc exec --profile top -- true` (warm cache)" in results["rows"]
    assert results["server"]["requests"] == 50  # each answer was checked by the client
    assert [run["how"] for run in results["server"]["runs"]] == [
        "sequential, one connection per request",
        "8 clients at once",
    ]


# One test, one run: xdist would start it once per worker.
@pytest.mark.slow
def test_quick_run_reports_every_measurement_and_hits_stay_off_the_network(tmp_path: Path) -> None:
    text, results = run_quick(tmp_path)
    check_tables(text)
    check_calls(results["rows"], results["parallel"])
    check_peers(results["rows"], results["notes"])
    check_go_peers(results)
    require("GNU time", Path("/usr/bin/time").exists(), "apt-get install time (.ci/install.d/80-bench.sh)")
    assert all(row["max_rss_kb"] > 0 for row in results["rows"].values())
    check_exec(results)
    assert set(results["lookup_us"]) == {"top", "legacy", "ra"}  # each lookup was a hit (else it raises)
