"""Fixtures several test modules share (registered from tests/conftest.py as a plugin)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from credproc import keystore
from tests.support import ra_pki
from tests.support.keyrings import MemoryKeyring
from tests.support.ra_world import RaPki, RaWorld, running, without_proxies

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    """An in-memory keyring for in-process tests (hermetic_env forgets the choice afterwards)."""
    kr = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", kr)
    keystore.forget_backend()
    return kr


@pytest.fixture
def test_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point credproc processes started by the test at the test file keyring (tests/support/keyrings.py)."""
    store = tmp_path / "test-keyring.json"
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyrings.FileKeyring")
    monkeypatch.setenv("TEST_KEYRING_FILE", str(store))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return store


@pytest.fixture
def no_machine_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's proxy variables must not route the tests' loopback traffic."""
    without_proxies(monkeypatch)


@pytest.fixture
def ra(tmp_path: Path) -> Iterator[RaWorld]:
    """A running Roles Anywhere emulator with its test PKI."""
    with running(tmp_path) as world:
        yield world


@pytest.fixture(scope="session")
def ra_session_pki(tmp_path_factory: pytest.TempPathFactory) -> RaPki:
    """One trust-anchor CA and intermediate for the session, and every test key made once up front
    (RSA 4096 takes a while; ``ra_pki.key`` keeps them for the session)."""
    for kind in ra_pki.KEY_KINDS:
        ra_pki.key(kind)
    return RaPki.make(tmp_path_factory.mktemp("ra-pki"))


@pytest.fixture
def ra_offline(ra_session_pki: RaPki, tmp_path: Path) -> RaPki:
    """The session's PKI issuing into this test's folder, with no emulator: for the loading code."""
    return RaPki(ra_session_pki.root, ra_session_pki.intermediate, tmp_path / "ra")
