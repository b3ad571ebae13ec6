"""A cache entry or folder that belongs to another local user is never trusted: its answer is
not served (not even by the fast path), and the entry is replaced by one of ours."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from credproc import cachefile
from tests.conftest import AwsFiles, require, run_credproc
from tests.support.cachetools import entries
from tests.support.moto_sts import MotoSTS

OTHER_UID = 65534  # "nobody"
FORGED = {
    "Version": 1,
    "AccessKeyId": "ASIAFORGEDFORGEDFORG",
    "SecretAccessKey": "forged-secret-key-value",
    "SessionToken": "forged-session-token-value",
    "Expiration": "2099-01-01T00:00:00Z",
}


@pytest.fixture(autouse=True)
def root() -> None:
    require("root", os.geteuid() == 0, "giving a file to another user (chown) needs root; CI runs as root")


def _forge(path: Path) -> None:
    """Rewrite a real entry with another user's answer: intact checksum, mode 0600, far expiry."""
    key = path.name[: -len(cachefile.ENTRY_SUFFIX)]
    entry = cachefile.decode_entry(path.read_bytes(), key)
    assert entry is not None
    payload = (json.dumps(FORGED, separators=(",", ":")) + "\n").encode()
    path.write_bytes(cachefile.encode_entry(key, payload, 4070908800, entry.issued, [], entry.meta))
    os.chmod(path, 0o600)
    os.chown(path, OTHER_UID, OTHER_UID)


def test_an_entry_owned_by_another_user_is_ignored_and_replaced(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    first = run_credproc("credential-process", "--profile", "middle")
    assert first.returncode == 0, first.stderr
    found = entries(tmp_path / "cache")
    assert found
    for path in found:
        _forge(path)
    again = run_credproc("credential-process", "--profile", "middle")
    assert again.returncode == 0, again.stderr
    assert "FORGED" not in again.stdout
    assert sts.calls["AssumeRole"] == 2  # not served from the foreign entry: fetched anew
    for path in entries(tmp_path / "cache"):
        st = path.stat()
        assert st.st_uid == os.geteuid() and st.st_mode & 0o777 == 0o600
        assert b"FORGED" not in path.read_bytes()
    hit = run_credproc("credential-process", "--profile", "middle")
    assert hit.stdout == again.stdout and sts.calls["AssumeRole"] == 2  # ours is trusted again


def test_a_cache_folder_owned_by_another_user_is_not_used(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    first = run_credproc("credential-process", "--profile", "middle")
    assert first.returncode == 0, first.stderr
    cache = tmp_path / "cache"
    for path in entries(cache):
        _forge(path)
        os.chown(path, os.geteuid(), os.getegid())  # the file looks like ours; the folder is not
    os.chown(cache, OTHER_UID, OTHER_UID)
    done = run_credproc("credential-process", "--profile", "middle")
    assert done.returncode == 0, done.stderr
    assert "FORGED" not in done.stdout
    assert "not yours" in done.stderr and "continuing without a cache" in done.stderr
    assert sts.calls["AssumeRole"] == 2
