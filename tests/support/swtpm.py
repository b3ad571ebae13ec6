"""A software TPM 2.0 (swtpm) in a temporary folder, with keys made by tpm2-tools.

swtpm listens on loopback TCP (its data and control ports); tpm2-tools and credproc reach it through
the TCTI ``swtpm:host=127.0.0.1,port=N``. Without a resource manager every transient object and
session stays loaded, so each tool run is followed by ``tpm2_flushcontext``.

Keys: persistent ones (``tpm2_evictcontrol``, reached as ``handle:0x81...``) and ``TSS2 PRIVATE
KEY`` files under the owner hierarchy's primary key of the TCG key-file template (the one
aws_signing_helper and tpm2-openssl recreate). The files are written from tpm2_create's blobs with
tpm2-pytss: Debian's tpm2_encodeobject (tpm2-tools 5.4) writes emptyAuth the wrong way round.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

TOOLS = (
    ("swtpm", "swtpm"),
    ("tpm2_createprimary", "tpm2-tools"),
    ("tpm2_create", "tpm2-tools"),
    ("tpm2_evictcontrol", "tpm2-tools"),
    ("tpm2_flushcontext", "tpm2-tools"),
)
# The TCG "TPM 2.0 Key Files" storage primary: ECC P-256, AES-128-CFB, noDA, empty unique.
PRIMARY = (
    "-C",
    "o",
    "-g",
    "sha256",
    "-G",
    "ecc256:null:aes128cfb",
    "-a",
    "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt",
)
KEY_TYPES = {"p256": "ecc256:ecdsa-sha256", "p384": "ecc384:ecdsa-sha384", "rsa2048": "rsa2048:rsassa-sha256"}


def missing() -> str | None:
    """Why a TPM cannot be made here, or None."""
    for tool, package in TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} (Debian {package})"
    try:
        import tpm2_pytss  # noqa: F401
    except ImportError:
        return "tpm2-pytss (pip install 'credproc[tpm]', needs libtss2-dev)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_pair() -> int:
    """A free port whose next one is free too: the swtpm TCTI finds the control port at port+1."""
    while True:
        port = _free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


@dataclass
class Tpm:
    directory: Path
    port: int
    ctrl: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def tcti(self) -> str:
        return f"swtpm:host=127.0.0.1,port={self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "TPM2TOOLS_TCTI": self.tcti, "TSS2_LOG": "all+NONE"}

    @classmethod
    def start(cls, directory: Path) -> Tpm:
        (directory / "state").mkdir(parents=True, exist_ok=True)
        port = _free_pair()
        tpm = cls(directory, port, port + 1)
        tpm._launch_tcp()
        # Wrong-password tests must not lock the keys out (dictionary-attack protection).
        tpm.run(
            "tpm2_dictionarylockout",
            "--setup-parameters",
            "--max-tries=1000",
            "--recovery-time=0",
            "--lockout-recovery-time=0",
        )
        return tpm

    def _launch(self, *channels: str) -> None:
        self.process = subprocess.Popen(
            [
                *("swtpm", "socket", "--tpm2", "--tpmstate", f"dir={self.directory / 'state'}"),
                *channels,
                *("--flags", "not-need-init,startup-clear"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _launch_tcp(self) -> None:
        server = f"type=tcp,port={self.port},bindaddr=127.0.0.1"
        self._launch("--server", server, "--ctrl", f"type=tcp,port={self.ctrl},bindaddr=127.0.0.1")
        assert self.process is not None
        # Ready when a first command answers: poll it (no fixed sleep).
        for _ in range(200):
            probe = subprocess.run(["tpm2_getcap", "properties-fixed"], env=self.env, capture_output=True)
            if probe.returncode == 0:
                return
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.05)
            if self.process.poll() is not None:
                raise RuntimeError("swtpm exited at start")
        self.stop()
        raise RuntimeError("swtpm did not answer")

    @contextlib.contextmanager
    def on_unix_socket(self) -> Iterator[Path]:
        """The same TPM (its state: keys, persistent handles) served on a Unix socket instead, for
        aws_signing_helper: go-tpm opens a device or a Unix socket (TPM_DEVICE), never TCP."""
        self.stop()
        sock = self.directory / "tpm.sock"
        sock.unlink(missing_ok=True)
        self._launch("--server", f"type=unixio,path={sock}", "--ctrl", f"type=unixio,path={sock}.ctrl")
        try:
            for _ in range(200):
                if sock.exists():
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    assert self.process is not None
                    self.process.wait(0.05)
            yield sock
        finally:
            self.stop()
            self._launch_tcp()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def run(self, *argv: str) -> None:
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=120, check=False)
        subprocess.run(
            ["tpm2_flushcontext", "-t"], env=self.env, capture_output=True, timeout=60, check=False
        )
        subprocess.run(
            ["tpm2_flushcontext", "-s"], env=self.env, capture_output=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip()}")

    def _create(self, name: str, kind: str, password: str | None) -> tuple[Path, Path]:
        primary = self.directory / "primary.ctx"
        if not primary.exists():
            self.run("tpm2_createprimary", "-Q", *PRIMARY, "-c", str(primary))
        pub, priv = self.directory / f"{name}.pub", self.directory / f"{name}.priv"
        auth = ["-p", password] if password else []
        self.run(
            "tpm2_create",
            "-Q",
            "-C",
            str(primary),
            "-G",
            KEY_TYPES[kind],
            *auth,
            "-u",
            str(pub),
            "-r",
            str(priv),
        )
        return pub, priv

    def public_key(self, pub: Path) -> Any:
        from tpm2_pytss.types import TPM2B_PUBLIC

        public = TPM2B_PUBLIC.unmarshal(pub.read_bytes())[0]
        return serialization.load_der_public_key(bytes(public.publicArea.to_der()))

    def persistent(self, name: str, kind: str, handle: int, password: str | None = None) -> Any:
        """A persistent key at ``handle``; returns its public key."""
        pub, priv = self._create(name, kind, password)
        ctx = self.directory / f"{name}.ctx"
        self.run(
            "tpm2_load",
            "-Q",
            "-C",
            str(self.directory / "primary.ctx"),
            "-u",
            str(pub),
            "-r",
            str(priv),
            "-c",
            str(ctx),
        )
        self.run("tpm2_evictcontrol", "-Q", "-C", "o", "-c", str(ctx), f"{handle:#x}")
        return self.public_key(pub)

    def key_file(self, name: str, kind: str, password: str | None = None) -> tuple[Path, Any]:
        """A TSS2 PRIVATE KEY file under the owner primary; returns (its path, its public key)."""
        from tpm2_pytss.constants import TPM2_RH
        from tpm2_pytss.tsskey import TSSPrivKey
        from tpm2_pytss.types import TPM2B_PRIVATE, TPM2B_PUBLIC

        pub, priv = self._create(name, kind, password)
        key = TSSPrivKey(
            TPM2B_PRIVATE.unmarshal(priv.read_bytes())[0],
            TPM2B_PUBLIC.unmarshal(pub.read_bytes())[0],
            empty_auth=password is None,
            parent=TPM2_RH.OWNER,
        )
        path = self.directory / f"{name}.tss2.pem"
        path.write_bytes(key.to_pem())
        return path, self.public_key(pub)
