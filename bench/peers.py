"""The peers credproc is measured against, each installed from PyPI into its own clean venv.

Clean venvs (no ``--system-site-packages``): aws-export-credentials 0.18 breaks on botocore >= 1.35,
and a peer importing the shared interpreter's newer botocore would measure something nobody runs.
The venvs are kept under ``bench/.venvs/`` (gitignored) and rebuilt only when their pins change; a
venv whose install did not finish has no ``.ready`` marker and is rebuilt.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Peer:
    name: str  # the venv's folder name
    script: str  # the console script the peer installs
    pins: tuple[str, ...]  # exact requirements: the same bytes on every run


# Exact pins, boto3/botocore included: letting pip choose "botocore<1.35" backtracks through
# dozens of releases (minutes); 1.34.162 is the last release before the break.
AWS_EXPORT_CREDENTIALS = Peer("aws-export-credentials-0.18", "aws-export-credentials",
                              ("aws-export-credentials==0.18.0", "boto3==1.34.162", "botocore==1.34.162"))
AWS_SSO_UTIL = Peer("aws-sso-util-4.33", "aws-sso-util", ("aws-sso-util==4.33.0",))
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


def _versions(venv: Path) -> dict[str, str]:
    probe = ("import json, importlib.metadata as m; "
             "print(json.dumps({d: m.version(d) for d in ('botocore', 'boto3')}))")
    done = subprocess.run([str(_bin(venv) / "python"), "-c", probe], capture_output=True, text=True,
                          check=True)
    versions: dict[str, str] = json.loads(done.stdout)
    return versions


def install(peer: Peer, root: Path, log: list[str]) -> Installed:
    """The peer's venv, built if missing or built from other pins. Raises CalledProcessError."""
    venv = root / peer.name
    marker = venv / ".ready"
    wanted = "\n".join(peer.pins)
    if not (marker.exists() and marker.read_text() == wanted):
        log.append(f"installing {' '.join(peer.pins)} into {venv}")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(_bin(venv) / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", *peer.pins],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        marker.write_text(wanted)
    return Installed(peer, _bin(venv), _versions(venv))
