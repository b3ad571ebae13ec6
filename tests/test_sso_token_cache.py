"""The AWS CLI's token file format: names, fields, tolerance of what other writers leave."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from credproc.sources.sso import token_cache
from credproc.sources.sso.token_cache import Token


def test_file_names_follow_the_aws_cli_rule(hermetic_env: Path) -> None:
    env = {"HOME": str(hermetic_env)}
    for key in ("corp", "https://x.awsapps.com/start"):
        name = hashlib.sha1(key.encode()).hexdigest() + ".json"
        expected = hermetic_env / ".aws" / "sso" / "cache" / name
        assert token_cache.token_path(env, key) == str(expected)


def test_unknown_fields_survive_a_rewrite_and_the_secret_is_not_in_repr(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps(
            {
                "startUrl": "u",
                "region": "r",
                "accessToken": "SECRET",
                "expiresAt": "2030-01-01T00:00:00UTC",
                "issuedAt": "x",
            }
        )
    )
    token = token_cache.load(str(path))
    assert token is not None and token.expires_at == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert "SECRET" not in repr(token)
    token_cache.save(str(path), token)
    data = json.loads(path.read_text())
    assert data["issuedAt"] == "x" and data["expiresAt"] == "2030-01-01T00:00:00Z"
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_broken_files_read_as_no_token(tmp_path: Path) -> None:
    cases = [
        "not json",
        "[]",
        json.dumps({"accessToken": "a"}),
        json.dumps({"accessToken": "a", "expiresAt": "someday"}),
        json.dumps({"expiresAt": "2030-01-01Z"}),
    ]
    for i, text in enumerate(cases):
        path = tmp_path / f"{i}.json"
        path.write_text(text)
        assert token_cache.load(str(path)) is None, text
    assert token_cache.load(str(tmp_path / "missing.json")) is None
    assert token_cache.load_registration(str(tmp_path / "0.json")) is None
    assert token_cache.load_registration(str(tmp_path / "2.json")) is None


def test_refreshable_needs_every_piece_and_a_live_registration() -> None:
    when = datetime(2030, 1, 1, tzinfo=timezone.utc)
    full = Token("u", "r", "a", when, "rt", "cid", "sec", when)
    assert full.refreshable(0)
    assert not full.refreshable(when.timestamp() + 1)
    assert not Token("u", "r", "a", when, None, "cid", "sec", when).refreshable(0)
    data = Token("u", "r", "a", when).to_json()
    assert set(data) == {"startUrl", "region", "accessToken", "expiresAt"}


def test_remove_reports_whether_a_file_was_there(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{}")
    assert token_cache.remove(str(path)) is True
    assert token_cache.remove(str(path)) is False


def test_all_tokens_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert token_cache.all_tokens({"HOME": str(tmp_path / "nobody")}) == []
