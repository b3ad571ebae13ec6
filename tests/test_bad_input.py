"""The catalog of bad inputs: each gives the contract's exit code, one clear line on stderr (and at
most a hint line), nothing on stdout, no traceback, and no secret anywhere."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import (
    BASE_KEY_ID,
    BASE_SECRET,
    CHAIN_CONFIG,
    CHAIN_CREDENTIALS,
    AwsFiles,
    run_credproc,
)
from tests.support import tmpfs
from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_in_process

ROLE = "arn:aws:iam::111111111111:role/r"
# A credential_process printing a good answer with the fields of its one argument (JSON) replaced.
HELPER = (
    f"{sys.executable} -c 'import json, sys; print(json.dumps("
    '{"Version": 1, "AccessKeyId": "AKIAHELPER", "SecretAccessKey": "helper-secret"}'
    " | json.loads(sys.argv[1])))'"
)


@dataclass
class Case:
    config: str
    exit_code: int
    says: str
    args: tuple[str, ...] = ("--profile", "p")
    env: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "unknown profile": Case("[profile other]\nregion = us-east-1\n", 1, "profile 'p' is not in"),
    "malformed config": Case("[profile p\nrole_arn = x\n", 1, "cannot parse"),
    "config not utf-8": Case("[profile p]\nregion = \xff\xfe\n", 1, "not UTF-8"),
    "empty web identity token": Case(
        # An empty regular file (/dev/null, a device, is refused as such: tests/test_odd_files.py).
        f"[profile p]\nrole_arn = {ROLE}\nweb_identity_token_file = ~/empty-token\n",
        1,
        "empty-token is empty",
    ),
    "nested value botocore cannot read": Case("[profile p]\ns3 =\n  no_equals_sign\n", 1, "syntax error"),
    "nested block where a value belongs": Case(
        f"[profile p]\nrole_arn =\n  nested = {ROLE}\nsource_profile = base\n",
        1,
        "role_arn must be a single value, not a nested block",
    ),
    "source_profile loop": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = q\n"
        f"[profile q]\nrole_arn = {ROLE}\nsource_profile = p\n",
        1,
        "profile loop: p → q → p",
    ),
    "missing source profile": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = nowhere\n",
        1,
        "source_profile 'nowhere' of profile 'p' is not in",
    ),
    "duration out of range": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = base\nduration_seconds = 60\n",
        1,
        "between 900 and 43200",
    ),
    "malformed role arn": Case(
        "[profile p]\nrole_arn = arn:aws:iam::12:user/x\nsource_profile = base\n", 1, "not an IAM role ARN"
    ),
    "role without a source": Case(f"[profile p]\nrole_arn = {ROLE}\n", 1, "no source_profile"),
    "two sources": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = base\ncredential_source = Environment\n",
        1,
        "both source_profile and credential_source",
    ),
    "unknown credential_source": Case(
        f"[profile p]\nrole_arn = {ROLE}\ncredential_source = Laptop\n", 1, "use one of Environment"
    ),
    "credential_source Environment without keys": Case(
        f"[profile p]\nrole_arn = {ROLE}\ncredential_source = Environment\n", 1, "AWS_ACCESS_KEY_ID"
    ),
    "half a key pair": Case(
        f"[profile p]\naws_access_key_id = {BASE_KEY_ID}\n", 1, "no aws_secret_access_key in the config file"
    ),
    "no source at all": Case("[profile p]\nregion = us-east-1\n", 1, "has no credentials"),
    "missing web identity token file": Case(
        f"[profile p]\nrole_arn = {ROLE}\nweb_identity_token_file = /nonexistent/token\n",
        1,
        "cannot read web_identity_token_file",
    ),
    "credential_process not found": Case(
        "[profile p]\ncredential_process = /nonexistent/helper --flag\n", 1, "command not found"
    ),
    "credential_process fails": Case(
        f"[profile p]\ncredential_process = {sys.executable} -c 'raise SystemExit(7)'\n",
        3,
        "failed with exit code 7",
    ),
    "credential_process prints garbage": Case(
        f"[profile p]\ncredential_process = {sys.executable} -c 'print(42)'\n",
        1,
        "did not print a JSON object",
    ),
    "credential_process unbalanced quote": Case(
        "[profile p]\ncredential_process = helper 'oops\n", 1, "cannot parse credential_process"
    ),
    "region with a space": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = base\nregion = us east-1\n",
        1,
        "the profile's region: 'us east-1' is not a region name",
    ),
    "region with a NUL": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = base\nregion = us-east-1\x00\n",
        1,
        "the profile's region: 'us-east-1\\x00' is not a region name",
    ),
    "region flag with a space": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = base\n",
        1,
        "--region: 'eu west-1' is not a region name",
        ("--profile", "p", "--region", "eu west-1"),
    ),
    "AWS_REGION with a space": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = base\n",
        1,
        "AWS_REGION: 'eu west-1' is not a region name",
        env={"AWS_REGION": "eu west-1"},
    ),
    "sso_region with a space": Case(
        "[profile p]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n"
        "[sso-session s]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us east-1\n",
        1,
        "'us east-1' is not a region name",
        ("--profile", "p", "--auto-login"),
    ),
    "credential_process Expiration 1e20": Case(
        f"[profile p]\ncredential_process = {HELPER} '{{\"Expiration\": 1e20}}'\n",
        3,
        "unreadable credential expiration (a number out of range)",
    ),
    "credential_process Expiration 1e400": Case(
        f"[profile p]\ncredential_process = {HELPER} '{{\"Expiration\": 1e400}}'\n",
        3,
        "unreadable credential expiration",
    ),
    "credential_process prints 100,000 nested arrays": Case(
        f'[profile p]\ncredential_process = {sys.executable} -c \'print("[" * 100000 + "]" * 100000)\'\n',
        3,
        "printed something that is not JSON",
    ),
    "credential_process key with a NUL": Case(
        f'[profile p]\ncredential_process = {HELPER} \'{{"AccessKeyId": "AKIA\\u0000X"}}\'\n',
        1,
        "printed a key or token with control characters in it (not shown)",
    ),
    "refresh window not a number": Case(
        "[profile p]\nregion = us-east-1\n",
        2,
        "--refresh-window",
        ("--profile", "p", "--refresh-window", "soon"),
    ),
    "unknown flag": Case(
        "[profile p]\nregion = us-east-1\n", 2, "No such option", ("--profile", "p", "--bogus")
    ),
    "mfa needed with no terminal": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/me\n",
        4,
        "no terminal to ask on",
    ),
    "mfa code malformed": Case(
        f"[profile p]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/me\n",
        1,
        "must be 6 digits",
        ("--profile", "p", "--mfa-token", "12ab"),
    ),
}


def write_case(case: Case, aws_files: AwsFiles) -> None:
    aws_files.config.write_bytes(
        case.config.encode("latin-1") if "\xff" in case.config else case.config.encode()
    )
    aws_files.write_credentials(CHAIN_CREDENTIALS)
    (aws_files.home / "empty-token").write_bytes(b"")  # for the empty web identity token row


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_fails_cleanly(name: str, aws_files: AwsFiles, sts: MotoSTS) -> None:
    """In-process through the CLI boundary (tests/support/runner.py): the same answer, no start-up."""
    case = CASES[name]
    write_case(case, aws_files)
    done = run_in_process("credential-process", *case.args, env=dict(os.environ, **case.env))
    assert_clean_failure(done.returncode, done.stdout, done.stderr, case.exit_code, case.says)


@pytest.mark.parametrize("name", list(CASES))
def test_exec_fails_before_launch_with_125(name: str, aws_files: AwsFiles, sts: MotoSTS) -> None:
    """The same table through exec: every failure before the child starts is 125, whatever code
    credential-process gives it, so a script tells credproc's failure from the child's own."""
    case = CASES[name]
    write_case(case, aws_files)
    done = run_in_process("exec", *case.args, "--", "true", env=dict(os.environ, **case.env))
    assert_clean_failure(done.returncode, done.stdout, done.stderr, 125, case.says)


def test_exec_maps_even_a_bug_before_launch_to_125(
    aws_files: AwsFiles, sts: MotoSTS, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credproc.commands import exec as exec_command

    def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    write_case(Case(CHAIN_CONFIG, 0, ""), aws_files)
    monkeypatch.setattr(exec_command, "resolve_for_keys", broken)
    done = run_in_process("exec", "--profile", "top", "--", "true")
    assert_clean_failure(done.returncode, done.stdout, done.stderr, 125, "unexpected RuntimeError")


@pytest.mark.parametrize("name", ["unknown profile", "unknown flag", "mfa needed with no terminal"])
def test_bad_input_fails_cleanly_in_a_real_process(name: str, aws_files: AwsFiles, sts: MotoSTS) -> None:
    """A few of the table through a real process: the entry point and fast path add nothing."""
    case = CASES[name]
    write_case(case, aws_files)
    done = run_credproc("credential-process", *case.args, env=dict(os.environ, **case.env))
    assert_clean_failure(done.returncode, done.stdout, done.stderr, case.exit_code, case.says)


def assert_clean_failure(code: int, stdout: str, stderr: str, expected: int, says: str) -> None:
    assert code == expected, stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert 1 <= len(lines) <= 2, stderr
    assert lines[0].startswith("credproc: error: ")
    assert all(line.startswith("credproc: hint: ") for line in lines[1:])
    assert says in stderr
    assert "Traceback" not in stderr
    assert BASE_SECRET not in stderr


def test_sts_unreachable_is_exit_3_well_under_a_minute(chain: AwsFiles) -> None:
    env = dict(os.environ, AWS_ENDPOINT_URL_STS="http://127.0.0.1:9")  # discard port: refused
    started = time.monotonic()
    done = run_credproc("credential-process", "--profile", "top", env=env)
    elapsed = time.monotonic() - started
    assert_clean_failure(done.returncode, done.stdout, done.stderr, 3, "could not reach AWS")
    assert elapsed < 30


def test_sts_refusal_is_exit_3_with_aws_message(chain: AwsFiles, sts: MotoSTS) -> None:
    sts.app.fail_with = 403
    done = run_credproc("credential-process", "--profile", "top")
    assert_clean_failure(done.returncode, done.stdout, done.stderr, 3, "AssumeRole arn:aws:iam::111111111111")


def test_debug_shows_the_traceback(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile other]\n")
    done = run_credproc("--debug", "credential-process", "--profile", "p")
    assert done.returncode == 1
    assert "Traceback" in done.stderr


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"credproc-cache/1 9999999999 0 10 0 beef\n{}",
        b"\x00\x01\x02" * 100,
        b"not an entry at all\n",
        b"credproc-cache/1 x y z w v\n",
    ],
    ids=["empty", "bad-checksum", "binary", "foreign", "non-numeric"],
)
def test_corrupt_cache_files_are_a_miss_that_gets_repaired(
    garbage: bytes, chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    first = run_in_process("credential-process", "--profile", "top", entry=True)
    assert first.returncode == 0
    cache = tmp_path / "cache"
    for entry in cache.glob("*.entry"):
        entry.write_bytes(garbage)
    again = run_in_process("credential-process", "--profile", "top", entry=True)
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""
    sts.app.reset()
    third = run_in_process("credential-process", "--profile", "top", entry=True)
    assert third.stdout == again.stdout
    assert sts.calls["AssumeRole"] == 0  # repaired: a hit again


def test_truncated_cache_file_is_a_miss(chain: AwsFiles, sts: MotoSTS, tmp_path: Path) -> None:
    run_credproc("credential-process", "--profile", "top")
    for entry in (tmp_path / "cache").glob("*.entry"):
        entry.write_bytes(entry.read_bytes()[:-7])
    sts.app.reset()
    done = run_credproc("credential-process", "--profile", "top")
    assert done.returncode == 0
    assert sts.calls["AssumeRole"] == 2


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A cache folder that exists, is ours and mode 0700, but cannot be written: a read-only tmpfs
    as root (CI runs as root, where chmod would not stop a write), else chmod 500."""
    target = tmp_path / "cache"
    target.mkdir(mode=0o700)
    if os.geteuid() != 0:
        target.chmod(0o500)
        yield target
        target.chmod(0o700)
        return
    with tmpfs.mounted(target, "ro,size=1m,mode=0700", "a read-only tmpfs") as mounted:
        yield mounted


def test_unwritable_cache_dir_succeeds_without_caching(
    chain: AwsFiles, sts: MotoSTS, read_only_dir: Path
) -> None:
    for _ in range(2):
        done = run_credproc("credential-process", "--profile", "top")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith('{"Version":1')
        assert "warning: could not write the cache" in done.stderr
    assert sts.calls["AssumeRole"] == 4
    assert list(read_only_dir.iterdir()) == []


def test_cache_dir_that_cannot_be_created_succeeds_with_a_warning(
    chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    env = dict(os.environ, CREDPROC_CACHE_DIR=str(blocker / "cache"))
    for _ in range(2):
        done = run_credproc("credential-process", "--profile", "top", env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith('{"Version":1')
        assert "warning: cache folder" in done.stderr and "continuing without a cache" in done.stderr
    assert sts.calls["AssumeRole"] == 4


def test_cache_dir_writable_by_others_is_not_trusted(chain: AwsFiles, sts: MotoSTS, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, 0o777)
    done = run_credproc("credential-process", "--profile", "top")
    assert done.returncode == 0
    assert "writable by other users" in done.stderr
    assert list(cache.iterdir()) == []


GOOD_PAYLOAD = b'{"Version":1,"AccessKeyId":"AKIAFORGED","SecretAccessKey":"forged","Expiration":"2999-01-01T00:00:00Z"}\n'
NESTED = b"[" * 100_000 + b"]" * 100_000
GOOD_META = b'{"kind":"credential-process","profile":"top"}'
# Entries with a valid checksum (a foreign writer can compute it) but values no credproc writes.
FORGED: dict[str, tuple[bytes, int, int, bytes, bytes]] = {
    "expiry past the year 9999": (GOOD_PAYLOAD, 10**30, 0, b"", GOOD_META),
    "negative issue time": (GOOD_PAYLOAD, 32503680000, -(10**30), b"", GOOD_META),
    "a dependency line of one word": (GOOD_PAYLOAD, 32503680000, 0, b"garbage\n", GOOD_META),
    "metadata nested 100,000 deep": (GOOD_PAYLOAD, 32503680000, 0, b"", NESTED),
    "payload nested 100,000 deep": (NESTED, 32503680000, 0, b"", GOOD_META),
}


def _forge(path: Path, payload: bytes, expires: int, issued: int, deps: bytes, meta: bytes) -> None:
    from credproc import cachefile

    body = payload + deps + meta
    header = b"%s %d %d %d %d %s\n" % (
        cachefile.MAGIC,
        expires,
        issued,
        len(payload),
        len(deps),
        cachefile.checksum(path.name[: -len(cachefile.ENTRY_SUFFIX)], body).encode(),
    )
    path.write_bytes(header + body)


@pytest.mark.parametrize("name", list(FORGED))
def test_a_forged_cache_entry_is_never_a_crash(
    name: str, chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    """Listed, explained and resolved past: a miss or an entry shown as it is, never exit 70."""
    assert run_in_process("credential-process", "--profile", "top").returncode == 0
    for entry in (tmp_path / "cache").glob("*.entry"):
        _forge(entry, *FORGED[name])
    listed = run_in_process("cache", "list")
    assert listed.returncode == 0, listed.stderr
    explained = run_in_process("doctor", "--profile", "top")
    assert explained.returncode in (0, 1), explained.stderr
    assert "unexpected" not in listed.stderr + explained.stderr
    resolved = run_in_process("credential-process", "--profile", "top")
    if name.startswith("payload"):  # its checksum holds, so it is no miss: one line says what to do
        assert_clean_failure(resolved.returncode, resolved.stdout, resolved.stderr, 1, "cache clear")
    else:  # a miss, answered afresh (or the forged answer whose only oddity is its metadata)
        assert resolved.returncode == 0, resolved.stderr
        assert resolved.stderr == ""


SSO_CONFIG = (
    "[profile p]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = R\n"
    "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
)


@pytest.mark.parametrize(
    "token",
    [
        b'{"accessToken": "t", "expiresAt": 1e400, "startUrl": "https://example.awsapps.com/start"}',
        b'{"accessToken": "t", "expiresAt": "99999-01-01T00:00:00Z"}',
        NESTED,
        b'{"accessToken": ' + NESTED + b"}",
    ],
    ids=["expiresAt 1e400", "expiresAt year 99999", "nested arrays", "nested token"],
)
def test_a_malformed_sso_token_file_asks_for_a_login(token: bytes, aws_files: AwsFiles) -> None:
    """A token file no login wrote is no token: exit 4 and the login to run (it replaces the file)."""
    from credproc.sources.sso import token_cache

    aws_files.write_config(SSO_CONFIG)
    path = Path(token_cache.token_path({"HOME": str(aws_files.home)}, "corp"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(token)
    done = run_in_process("credential-process", "--profile", "p")
    assert_clean_failure(done.returncode, done.stdout, done.stderr, 4, "credproc login --sso-session corp")
    doctor = run_in_process("doctor", "--profile", "p")
    assert "unexpected" not in doctor.stderr
