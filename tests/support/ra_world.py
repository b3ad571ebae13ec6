"""The Roles Anywhere test world: a trust-anchor CA with an intermediate, a running emulator that
trusts it, and helpers that write identities and config blocks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ra_pki
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN, Emulator, World


@dataclass
class RaPki:
    """The trust-anchor CA and its intermediate, and identities they issue into ``directory``."""

    root: ra_pki.Ca
    intermediate: ra_pki.Ca
    directory: Path

    @classmethod
    def make(cls, directory: Path) -> RaPki:
        root = ra_pki.Ca.root()
        return cls(root, root.intermediate(), directory)

    def identity(
        self,
        kind: str = "p256",
        fmt: str = "pkcs8",
        *,
        via_intermediate: bool = False,
        chain_in: str = "file",
        days: tuple[float, float] = (-1, 10),
        name: str = "id",
        password: str | None = ra_pki.PASSPHRASE,
        key_index: int = 0,
    ) -> ra_pki.Files:
        issuer = self.intermediate if via_intermediate else self.root
        k = ra_pki.key(kind, key_index)
        cert = issuer.leaf(k.public_key(), days=days)
        chain = [self.intermediate.cert] if via_intermediate else []
        return ra_pki.write_identity(
            self.directory / name, k, cert, chain, fmt, chain_in=chain_in, password=password
        )


@dataclass
class RaWorld(RaPki):
    """The PKI with a running emulator that trusts it."""

    world: World
    emulator: Emulator

    @property
    def url(self) -> str:
        return self.emulator.url

    def profile_block(self, files: ra_pki.Files, profile: str = "ra", extra: str = "") -> str:
        lines = [
            f"[profile {profile}]",
            f"rolesanywhere_trust_anchor_arn = {TRUST_ANCHOR_ARN}",
            f"rolesanywhere_profile_arn = {PROFILE_ARN}",
            f"rolesanywhere_role_arn = {ROLE_ARN}",
            f"rolesanywhere_certificate = {files.certificate}",
        ]
        if files.private_key:
            lines.append(f"rolesanywhere_private_key = {files.private_key}")
        if files.intermediates:
            lines.append(f"rolesanywhere_intermediates = {files.intermediates}")
        return "\n".join(lines) + "\n" + extra + "\n"

    def flags(self, files: ra_pki.Files, endpoint: bool = True) -> list[str]:
        return signing_helper_flags(
            self.url if endpoint else None,
            certificate=files.certificate,
            private_key=files.private_key,
            intermediates=files.intermediates,
        )


def signing_helper_flags(
    endpoint: str | None,
    *,
    certificate: str | Path | None = None,
    private_key: str | Path | None = None,
    intermediates: str | Path | None = None,
) -> list[str]:
    """The flags of a credential-process call (aws_signing_helper's or credproc's) for the
    emulator's trust anchor, profile and role: the identity given, the three ARNs, and ``endpoint``
    unless it is None."""
    out: list[str] = []
    for flag, value in (
        ("--certificate", certificate),
        ("--private-key", private_key),
        ("--intermediates", intermediates),
    ):
        if value:
            out += [flag, str(value)]
    out += ["--trust-anchor-arn", TRUST_ANCHOR_ARN, "--profile-arn", PROFILE_ARN, "--role-arn", ROLE_ARN]
    if endpoint is not None:
        out += ["--endpoint", endpoint]
    return out


PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


def without_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy set on the machine would carry the tests' loopback calls away: drop it."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@contextlib.contextmanager
def running(directory: Path, tls: bool = False) -> Iterator[RaWorld]:
    pki = RaPki.make(directory)
    world = World({TRUST_ANCHOR_ARN: pki.root.cert}, {PROFILE_ARN: {ROLE_ARN}})
    tls_files = None
    if tls:
        from tests.support.ra_emulator import write_tls_identity

        server_ca = ra_pki.Ca.root("credproc test TLS CA", index=7)
        server_key = ra_pki.key("p256", 8)
        cert_path, key_path, _ = write_tls_identity(
            directory / "tls", server_ca.cert, server_ca.server(server_key.public_key()), server_key
        )
        tls_files = (cert_path, key_path)
    with Emulator(world, tls_files) as emulator:
        yield RaWorld(pki.root, pki.intermediate, directory, world, emulator)
