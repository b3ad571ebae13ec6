"""The child's environment: exactly what DESIGN.md lists is set and removed."""

from __future__ import annotations

from datetime import datetime, timezone

from credproc import envbuild
from credproc.credentials import Credentials
from credproc.envbuild import Endpoint, EnvChanges

EXPIRES = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
SESSION = Credentials("ASIAEXAMPLE", "secret/key", "token+1", EXPIRES, "eu-west-1")
BASE = {
    "PATH": "/usr/bin",
    "HOME": "/home/u",
    "AWS_PROFILE": "old",
    "AWS_DEFAULT_PROFILE": "old",
    "AWS_SECURITY_TOKEN": "stale",
    "AWS_SESSION_TOKEN": "stale",
    "AWS_ACCESS_KEY_ID": "AKIAOLD",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/t",
    "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/f",
    "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
    "CREDPROC_CACHE_DIR": "/c",
}
REMOVED = {
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
}
KEPT = {"PATH", "HOME", "AWS_ENDPOINT_URL_STS", "CREDPROC_CACHE_DIR"}


def test_keys_mode_sets_keys_token_expiration_region_and_profile_and_removes_competitors() -> None:
    env = envbuild.for_keys(SESSION, "dev").apply(BASE)
    assert {k: env[k] for k in env if k not in KEPT} == {
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret/key",
        "AWS_SESSION_TOKEN": "token+1",
        "AWS_CREDENTIAL_EXPIRATION": "2030-01-02T03:04:05Z",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "CREDPROC_PROFILE": "dev",
    }
    assert {k: env[k] for k in KEPT} == {k: BASE[k] for k in KEPT}


def test_long_term_keys_remove_an_inherited_session_token_and_expiration() -> None:
    base = {
        "AWS_SESSION_TOKEN": "stale",
        "AWS_CREDENTIAL_EXPIRATION": "2000-01-01T00:00:00Z",
        "AWS_REGION": "x",
    }
    env = envbuild.for_keys(Credentials("AKIAEXAMPLE", "s"), "p").apply(base)
    assert env == {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "s",
        "CREDPROC_PROFILE": "p",
        "AWS_REGION": "x",
    }


def test_server_mode_sets_the_endpoint_and_hides_the_users_files_instead_of_keys() -> None:
    endpoint = Endpoint("http://127.0.0.1:5/credproc/v1/credentials", "tok")
    changes = envbuild.for_server(endpoint, "dev", "us-west-2", devnull="NUL")
    env = changes.apply(BASE)
    assert {k: env[k] for k in env if k not in KEPT} == {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "tok",
        "AWS_CONFIG_FILE": "NUL",
        "AWS_SHARED_CREDENTIALS_FILE": "NUL",
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "us-west-2",
        "CREDPROC_PROFILE": "dev",
    }
    assert not REMOVED & env.keys()
    assert changes.value("AWS_CONTAINER_AUTHORIZATION_TOKEN") == "tok"


def test_no_name_is_both_set_and_removed() -> None:
    for changes in (
        envbuild.for_keys(SESSION, "p"),
        envbuild.for_server(Endpoint("u", "t"), "p", None),
        envbuild.for_unset(),
    ):
        assert not {k for k, _ in changes.set} & set(changes.unset)
        assert len(changes.unset) == len(set(changes.unset))


def test_unset_clears_what_env_set_but_leaves_the_region() -> None:
    env = envbuild.for_unset().apply(envbuild.for_keys(SESSION, "dev").apply({"AWS_PROFILE": "x"}))
    assert env == {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}


def test_applying_never_changes_the_base_mapping() -> None:
    base = dict(BASE)
    EnvChanges((("A", "1"),), ("PATH",)).apply(base)
    assert base == BASE
