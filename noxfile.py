"""The checks CI runs, one nox session each: `.ci/test` runs them all (the README's test command).

    python3 -m nox -l              # the sessions
    python3 -m nox -s lint         # ruff
    python3 -m nox -s types        # mypy
    python3 -m nox -s tests-3.12   # the suite on one interpreter (-t tests: on all)
    python3 -m nox -s tests-3.11 -- -x tests/test_exec.py   # arguments after -- go to pytest

Sessions run in the environment `.ci/run` prepared instead of making their own virtualenvs
(`venv_backend="none"`): installing the test dependencies four times would double CI's time. The
interpreter that runs nox runs the full suite with the coverage floor; the others run from the venvs
`.ci/install.d/60-pythons.sh` makes under `.ci/work/`, without the end-to-end tests of outside
programs (SDKs, shells, keyring daemon, AWS CLI), whose result does not depend on credproc's
interpreter and which dominate the run time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
nox.options.sessions = ["lint", "format", "types", *(f"tests-{v}" for v in PYTHONS)]
nox.options.error_on_missing_interpreters = False

ROOT = Path(__file__).resolve().parent
LINTED = ["credproc", "tests", "bench", "noxfile.py"]
# The floor only goes up (see the git log of this file and of .ci/test before it).
COVERAGE_FLOOR = 98
OTHER_PYTHONS_SKIP = "not sdk and not e2e"
# Each other interpreter runs one shard of the modules (tests/conftest.py --module-shard), so every
# module runs on the default interpreter with coverage and on one other: the three full runs cost
# more than the rest of CI together on 2 cores.
IN_CI = os.environ.get("CI") == "true"
# Each interpreter draws its own parity worlds: its shards are numbered from its own offset
# (tests/test_parity.py SHARD_OFFSET), so CI's four runs of 500 are 2,000 different worlds.
PARITY_OFFSET_STEP = 100
# The Windows job of .github/workflows/ci.yml: unit tests of the pure, platform-switching code.
WINDOWS_UNIT = [
    "tests/test_launch.py",
    "tests/test_envbuild.py",
    "tests/test_paths.py",
    "tests/test_render.py",
    "tests/test_credentials.py",
    "tests/test_boundary.py",
]


def machine_cache() -> Path:
    """Where CI keeps what outlives a clone (the checkout is fresh each run)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "credproc-ci"


def workers() -> str:
    """Two xdist workers per core: a third of the suite's worker time is spent waiting (retry
    backoff, timeouts, key rotations, programs starting), so two per core keep the cores busy.
    Measured on 2 cores: the 3.11 suite with coverage took 290 s with 2 workers, 229 s with 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return str(max(2, 2 * cores))


def parity_env(version: str) -> dict[str, str]:
    offset = PYTHONS.index(version) * PARITY_OFFSET_STEP
    return {"CREDPROC_PARITY_SHARD_OFFSET": os.environ.get("CREDPROC_PARITY_SHARD_OFFSET", str(offset))}


def this_python() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def interpreter(version: str) -> str | None:
    """The python of ``version``: this one, or the venv .ci/install.d/60-pythons.sh made."""
    if version == this_python():
        return sys.executable
    folder = ROOT / ".ci" / "work" / f"py{version}"
    for candidate in (folder / "bin" / "python", folder / "Scripts" / "python.exe"):
        if candidate.exists():
            return str(candidate)
    return None


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's rules over the code, the tests and the benchmark."""
    session.run(sys.executable, "-m", "ruff", "check", *LINTED, external=True)


@nox.session(name="format")
def format_check(session: nox.Session) -> None:
    """ruff format --check: the tree stays formatted."""
    session.run(sys.executable, "-m", "ruff", "format", "--check", "--diff", *LINTED, external=True)


@nox.session
def types(session: nox.Session) -> None:
    """mypy strict, over the files pyproject.toml's [tool.mypy] names.

    The cache lives on the machine, not in the checkout: CI runs on a fresh clone, where a cold mypy
    run costs about 30 s and a warm one about 1 s. mypy revalidates every entry against the file's
    hash, so a cache shared by checkouts gives the same answer as none."""
    cache = os.environ.get("MYPY_CACHE_DIR") or str(machine_cache() / "mypy")
    session.run(sys.executable, "-m", "mypy", external=True, env={"MYPY_CACHE_DIR": cache})


def run_tests(session: nox.Session, version: str) -> None:
    """The suite on one interpreter; the one running nox also enforces the branch-coverage floor."""
    python = interpreter(version)
    if python is None:
        message = f"no Python {version}: .ci/install.d/60-pythons.sh makes .ci/work/py{version}"
        if IN_CI:
            session.error(message)
        session.skip(message)
    if python == sys.executable:
        for stale in ROOT.glob(".coverage*"):
            stale.unlink()
        session.run(
            python,
            "-m",
            "pytest",
            "-n",
            workers(),
            "--cov=credproc",
            "--cov-branch",
            "--cov-report=term",
            # The slowest tests in every CI log, so a slow test is seen the day it lands.
            "--durations=25",
            f"--cov-fail-under={COVERAGE_FLOOR}",
            *session.posargs,
            external=True,
            env=parity_env(version),
        )
        return
    bindir = str(Path(python).parent)
    others = [v for v in PYTHONS if v != this_python()]
    session.run(
        python,
        "-m",
        "pytest",
        "-n",
        workers(),
        "-q",
        "-m",
        OTHER_PYTHONS_SKIP,
        f"--module-shard={others.index(version)}/{len(others)}",
        *session.posargs,
        external=True,
        env={
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            **parity_env(version),
        },
    )


# One named session per interpreter (tests-3.10 ... tests-3.13), so each is reported on its own.
# nox's python= parametrisation needs virtualenvs, which these sessions deliberately do not make.
for _version in PYTHONS:

    def _session(session: nox.Session, version: str = _version) -> None:
        run_tests(session, version)

    _session.__doc__ = f"The suite on Python {_version}."
    nox.session(name=f"tests-{_version}", tags=["tests"])(_session)


@nox.session(name="parity_long", default=False)
def parity_long(session: nox.Session) -> None:
    """The differential test against botocore with 100,000 generated worlds (CI: 2,000); on demand."""
    session.run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-n",
        workers(),
        "-p",
        "no:randomly",
        "tests/test_parity.py",
        "-k",
        "every_profile",
        *session.posargs,
        external=True,
        env={"CREDPROC_PARITY_EXAMPLES": os.environ.get("CREDPROC_PARITY_EXAMPLES", "100000")},
    )


@nox.session(name="windows-unit")
def windows_unit(session: nox.Session) -> None:
    """What the hosted Windows job runs (it cannot run here: there is no Windows machine)."""
    session.run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        *WINDOWS_UNIT,
        *session.posargs,
        external=True,
    )
