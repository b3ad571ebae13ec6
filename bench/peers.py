"""The peers credproc is measured against, each installed from PyPI into its own clean venv.

Clean venvs (no ``--system-site-packages``): aws-export-credentials 0.18 breaks on botocore >= 1.35,
and a peer importing the shared interpreter's newer botocore would measure something nobody runs.
The venvs are kept under ``bench/.venvs/`` (gitignored) and rebuilt only when their pins change; a
venv whose install did not finish has no ``.ready`` marker and is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Peer:
    name: str  # the venv's folder name
    script: str  # the console script the peer installs
    pins: tuple[str, ...]  # exact requirements: the same bytes on every run
    distribution: str  # whose version the report shows
    fingerprint: str = ""  # for a local tree: changes whenever its source does
    local: bool = False  # pins[0] is a source tree, installed from a clean copy


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


def credproc_from(repo: Path) -> Peer:
    """credproc itself, installed like the peers (a clean venv, a regular non-editable install), so
    that every tool pays the same interpreter start: the shared interpreter runs the site-packages
    .pth files of everything installed there (the editable install's finder among them)."""
    return Peer("credproc", "credproc", (str(repo),), "credproc", tree_fingerprint(repo), local=True)


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


def install(peer: Peer, root: Path, log: list[str]) -> Installed:
    """The peer's venv, built if missing or built from other pins. Raises CalledProcessError."""
    venv = root / peer.name
    marker = venv / ".ready"
    wanted = "\n".join((*peer.pins, peer.fingerprint))
    if not (marker.exists() and marker.read_text() == wanted):
        log.append(f"installing {' '.join(peer.pins)} into {venv}")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        with tempfile.TemporaryDirectory(prefix="credproc-src-") as scratch:
            pins = [str(_clean_copy(Path(peer.pins[0]), Path(scratch)))] if peer.local else list(peer.pins)
            subprocess.run(
                [
                    str(_bin(venv) / "python"),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    *pins,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        marker.write_text(wanted)
    return Installed(peer, _bin(venv), _versions(venv, peer.distribution))
