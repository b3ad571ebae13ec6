"""The peers credproc is measured against, each installed from PyPI into its own clean venv.

Clean venvs (no ``--system-site-packages``): aws-export-credentials 0.18 breaks on botocore >= 1.35,
and a peer importing the shared interpreter's newer botocore would measure something nobody runs.
The venvs are kept on the machine, not in the checkout (CI runs on a fresh clone each time, and a
rebuild from PyPI costs a minute and more): ``$CREDPROC_BENCH_VENVS``, else ``/var/cache/credproc-bench``
as root (where .ci/install.d keeps its caches), else ``$XDG_CACHE_HOME/credproc-bench`` (by default
``~/.cache/credproc-bench``); ``bench.py --venvs`` overrides. Each is keyed by its pins and the
interpreter (a folder per Python version) and rebuilt only when they change; a venv whose install
did not finish has no ``.ready`` marker and is rebuilt.

credproc's own venv is keyed by its dependencies (pyproject.toml's): they stay installed, and when
the tree's files change only credproc is reinstalled, from a wheel of a clean copy of the tree
(``pip install --no-deps``: a regular install, not an editable one), so the rebuild costs seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest needs tomli on 3.10, so the test environment has it
    import tomli as tomllib


@dataclass(frozen=True)
class Peer:
    name: str  # the venv's folder name
    script: str  # the console script the peer installs
    pins: tuple[str, ...]  # exact requirements: the same bytes on every run
    distribution: str  # whose version the report shows
    fingerprint: str = ""  # for a local tree: changes whenever its source does
    tree: Path | None = None  # a local tree: pins are its dependencies, itself installed from a wheel


SOURCE = ("pyproject.toml", "README.md", "credproc")  # what a wheel of the tree is built from


def _source_files(repo: Path) -> list[Path]:
    files = [repo / "pyproject.toml", repo / "README.md"]
    files += [f for f in (repo / "credproc").rglob("*") if f.is_file() and "__pycache__" not in f.parts]
    return sorted(files)


def tree_fingerprint(repo: Path) -> str:
    digest = hashlib.sha256()
    for path in _source_files(repo):
        digest.update(path.relative_to(repo).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _clean_copy(repo: Path, into: Path) -> Path:
    """The tree's package sources alone: an in-tree build would leave build/ behind, and a stale
    build/lib can ship modules the tree no longer has."""
    for name in SOURCE:
        source = repo / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    return into


def dependencies(repo: Path) -> tuple[str, ...]:
    """What installing the tree pulls in (pyproject.toml's ``[project] dependencies``)."""
    with (repo / "pyproject.toml").open("rb") as f:
        project: dict[str, list[str]] = tomllib.load(f)["project"]
    return tuple(project["dependencies"])


def credproc_from(repo: Path) -> Peer:
    """credproc itself, installed like the peers (a clean venv, a regular non-editable install), so
    that every tool pays the same interpreter start: the shared interpreter runs the site-packages
    .pth files of everything installed there (the editable install's finder among them)."""
    pins = dependencies(repo)
    key = hashlib.sha256("\n".join(pins).encode()).hexdigest()[:12]
    return Peer(f"credproc-{key}", "credproc", pins, "credproc", tree_fingerprint(repo), tree=repo)


# Exact pins, boto3/botocore included: letting pip choose "botocore<1.35" backtracks through
# dozens of releases (minutes); 1.34.162 is the last release before the break.
AWS_EXPORT_CREDENTIALS = Peer(
    "aws-export-credentials-0.18",
    "aws-export-credentials",
    ("aws-export-credentials==0.18.0", "boto3==1.34.162", "botocore==1.34.162"),
    "aws-export-credentials",
)
AWS_SSO_UTIL = Peer("aws-sso-util-4.33", "aws-sso-util", ("aws-sso-util==4.33.0",), "aws-sso-util")
PEERS = (AWS_EXPORT_CREDENTIALS, AWS_SSO_UTIL)


@dataclass(frozen=True)
class Installed:
    peer: Peer
    bin: Path  # the venv's bin folder
    versions: dict[str, str]  # distribution -> version, for the report

    @property
    def script(self) -> str:
        return str(self.bin / self.peer.script)


def _bin(venv: Path) -> Path:
    return venv / ("Scripts" if sys.platform == "win32" else "bin")


def _versions(venv: Path, distribution: str) -> dict[str, str]:
    probe = (
        "import json, importlib.metadata as m; "
        f"print(json.dumps({{d: m.version(d) for d in ({distribution!r}, 'botocore', 'boto3')}}))"
    )
    done = subprocess.run(
        [str(_bin(venv) / "python"), "-c", probe], capture_output=True, text=True, check=True
    )
    versions: dict[str, str] = json.loads(done.stdout)
    return versions


def default_root(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the venvs live on this machine (see the module's docstring)."""
    given = environ.get("CREDPROC_BENCH_VENVS")
    if given:
        return Path(given)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/cache/credproc-bench")
    cache = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".cache")
    return Path(cache) / "credproc-bench"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One install at a time per venv: two benchmarks (two worktrees) may share the cache."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock, as before
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip(python: Path | str, *args: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", *args, "-q", "--disable-pip-version-check"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _install_tree(venv: Path, tree: Path) -> None:
    """credproc alone, from a wheel of a clean copy of the tree: a regular install, its dependencies
    already in the venv. The wheel is built by this interpreter without build isolation when it has
    setuptools (the test extra does), so no build environment is fetched from PyPI each time."""
    with tempfile.TemporaryDirectory(prefix="credproc-src-") as scratch:
        source = Path(scratch) / "src"
        source.mkdir()
        _clean_copy(tree, source)
        dist = Path(scratch) / "dist"
        build = ("wheel", "--no-deps", "-w", str(dist), str(source))
        try:
            _pip(sys.executable, *build[:1], "--no-build-isolation", *build[1:])
        except subprocess.CalledProcessError:
            _pip(sys.executable, *build)
        [wheel] = dist.glob("credproc-*.whl")
        _pip(_bin(venv) / "python", "install", "--no-deps", "--force-reinstall", str(wheel))


def install(peer: Peer, root: Path, log: list[str]) -> Installed:
    """The peer's venv, built if missing or built from other pins. Raises CalledProcessError."""
    name = f"{peer.name}-py{sys.version_info[0]}.{sys.version_info[1]}"  # each Python its own
    venv = root / name
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"{name}.lock"):
        marker = venv / ".ready"
        wanted = "\n".join((sys.executable, *peer.pins))
        if not (marker.exists() and marker.read_text() == wanted):
            log.append(f"installing {' '.join(peer.pins)} into {venv}")
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            _pip(_bin(venv) / "python", "install", *peer.pins)
            marker.write_text(wanted)
        if peer.tree is not None:
            installed = venv / ".tree"
            if not (installed.exists() and installed.read_text() == peer.fingerprint):
                log.append(f"installing {peer.tree} (its files changed) into {venv}, --no-deps")
                installed.unlink(missing_ok=True)
                _install_tree(venv, peer.tree)
                installed.write_text(peer.fingerprint)
    return Installed(peer, _bin(venv), _versions(venv, peer.distribution))
