"""Hermetic tests: temp HOME, temp AWS files, no inherited AWS_*, loopback servers only."""

from __future__ import annotations

import os
import signal
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import leaks
from tests.support.moto_sts import MotoSTS
from tests.support.runner import CREDPROC, run_credproc

# The helpers live in tests/support/world.py; imported here too, where the tests import them from.
from tests.support.world import (
    BASE_KEY_ID,
    BASE_SECRET,
    CHAIN_CONFIG,
    CHAIN_CREDENTIALS,
    IN_CI,
    AwsFiles,
    require,
)

# Tests import these from here (tests.conftest); listed so they are explicit re-exports.
__all__ = [
    "BASE_KEY_ID",
    "BASE_SECRET",
    "CHAIN_CONFIG",
    "CHAIN_CREDENTIALS",
    "CREDPROC",
    "IN_CI",
    "REPO",
    "AwsFiles",
    "MotoSTS",
    "require",
    "run_credproc",
]

REPO = Path(__file__).resolve().parent.parent
# Shared fixtures: in-memory and file keyrings, the Roles Anywhere world.
pytest_plugins = ["tests.support.fixtures"]
# Modules whose tests drive programs outside credproc (SDKs, shells, a keyring daemon, the AWS CLI).
# Marked here, in one place, so CI can run the rest on every interpreter (see .ci/test).
SDK_MODULES = {"test_exec_sdk"}
E2E_MODULES = {
    "test_keyring_e2e",
    "test_shell_functions",
    "test_completion",
    "test_render_shells",
    "test_sso_interop",
    "test_bench",
    "test_daprd",
    "test_dapr_cli",
    "test_go_sdkv2",
    "test_go_peers",
    "test_wine_cmd",
    "test_wine_daprd",
}
# Modules every interpreter runs whatever its --module-shard: each interpreter draws its own parity
# worlds (tests/test_parity.py, SHARD_OFFSET), so CI's 2,000 are spread over all four.
EVERY_SHARD_MODULES = {"test_parity"}


# Signals a background or nohup launch of the suite leaves ignored (bash ignores SIGINT and SIGQUIT
# for `cmd &` without job control; nohup ignores SIGHUP). An ignored signal stays ignored across
# exec, so every credproc the tests start would ignore the Ctrl-C a pty test sends, and those tests
# would depend on how CI happened to be started. A user's shell starts credproc with them at default.
RESTORED_SIGNALS = ("SIGINT", "SIGQUIT", "SIGHUP")


def pytest_configure(config: pytest.Config) -> None:
    for name in RESTORED_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) == signal.SIG_IGN:
            handler = signal.default_int_handler if name == "SIGINT" else signal.SIG_DFL
            signal.signal(number, handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--module-shard",
        metavar="K/N",
        default=None,
        help="run only the test modules of shard K of N (a stable split by module name); the other "
        "interpreters each take one shard, so every module runs on the default one and one other",
    )


def in_shard(module: str, shard: str) -> bool:
    k, n = (int(part) for part in shard.split("/"))
    return zlib.crc32(module.encode()) % n == k


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = config.getoption("--module-shard")
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        found = getattr(item, "module", None)  # pytest.Function has it; other items may not
        module = found.__name__.rsplit(".", 1)[-1] if found else ""
        if module in SDK_MODULES:
            item.add_marker(pytest.mark.sdk)
        if module in E2E_MODULES or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.e2e)
        wanted = shard is None or module in EVERY_SHARD_MODULES or in_shard(module, shard)
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own HOME and cache, and sees no AWS_* or CREDPROC_* of the machine."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    for name in list(os.environ):
        if name.startswith(("AWS_", "CREDPROC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("CREDPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    no_keyring_of_the_machine(monkeypatch)
    from credproc import keystore

    keystore.forget_backend()  # a test that switches keyring backends must not see the last one's
    yield home
    keystore.forget_backend()


def no_keyring_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyring that fails loudly, here and in every credproc a test starts, until the test
    installs its own (tests/support/keyrings.py; the `memory` and `test_keyring` fixtures)."""
    import keyring.core

    from tests.support.keyrings import FailingKeyring

    monkeypatch.setattr(keyring.core, "_keyring_backend", FailingKeyring())  # type: ignore[no-untyped-call]  # keyring is unannotated
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyrings.FailingKeyring")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoSTS]:
    with MotoSTS() as server:
        yield server


@pytest.fixture
def sts(moto_server: MotoSTS, monkeypatch: pytest.MonkeyPatch) -> MotoSTS:
    moto_server.app.reset()
    moto_server.app.fail_with = None
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server.url)
    return moto_server


@pytest.fixture
def aws_files(hermetic_env: Path) -> AwsFiles:
    return AwsFiles(hermetic_env)


@pytest.fixture(scope="session")
def helper_material(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """aws_signing_helper's test material (keys, certificates, PKCS#12), made once per session by
    our script (53 openssl runs, seconds): the signing-helper and serve modules share it, read-only."""
    from tests.support.make_helper_material import generate

    return generate(tmp_path_factory.mktemp("helper-material"), all_digests=False)


# ---- signal guard: a test leaves the worker's signals as it found them ----------------------------


GUARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")


def _signal_state() -> tuple[tuple[object, ...], frozenset[int]]:
    handlers = tuple(
        signal.getsignal(getattr(signal, name)) for name in GUARDED_SIGNALS if hasattr(signal, name)
    )
    blocked = (
        frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, ()))
        if hasattr(signal, "pthread_sigmask")
        else frozenset()
    )
    return handlers, blocked


@pytest.fixture(autouse=True)
def signals_left_alone() -> Iterator[None]:
    """An ignored or blocked signal survives exec: a test that left SIGINT ignored or blocked in its
    worker would make every later pty test there wait for a Ctrl-C that credproc never sees. (The
    CI failure that led here came from the launch, pytest_configure above; no test did this.)"""
    before = _signal_state()
    yield
    after = _signal_state()
    if after != before:
        pytest.fail(f"the test changed the worker's signal state: {before} -> {after}", pytrace=False)


# ---- leak guard: a test fails when any credproc run leaked a secret it could know ----------------


def _fixed_secrets() -> tuple[str, ...]:
    from tests.support.ra_pki import PASSPHRASE

    return (BASE_SECRET, PASSPHRASE)


@pytest.fixture(autouse=True)
def no_leaked_secrets(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Scans stderr, non-payload stdout and logs for test secrets and any credentials printed
    earlier in the test (tests/support/leaks.py)."""
    leaks.runs.clear()
    yield
    logs = "\n".join(record.getMessage() for when in ("setup", "call") for record in caplog.get_records(when))
    found = leaks.scan(_fixed_secrets(), logs)
    leaks.runs.clear()
    if found:
        pytest.fail("secret leaked:\n" + "\n".join(found), pytrace=False)


@pytest.fixture
def chain(aws_files: AwsFiles, sts: MotoSTS) -> AwsFiles:
    aws_files.write_config(CHAIN_CONFIG)
    aws_files.write_credentials(CHAIN_CREDENTIALS)
    return aws_files
