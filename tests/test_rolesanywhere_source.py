"""Roles Anywhere through the real `credproc credential-process`, in profile form and in
aws_signing_helper's flag form, with the cache and the contract's exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from credproc.aws.budget import MAX_ATTEMPTS
from tests.conftest import AwsFiles, run_credproc
from tests.support import ra_pki
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN
from tests.support.ra_world import RaWorld
from tests.support.runner import run_in_process

pytestmark = pytest.mark.usefixtures("no_machine_proxies")


def env_with(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def assert_credentials(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    assert data["Version"] == 1 and str(data["AccessKeyId"]).startswith("ASIARAEMU")
    assert data["SessionToken"] and data["Expiration"]
    assert result.stderr == ""
    return data


def assert_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("credproc: error: ")
    for fragment in fragments:
        assert fragment in result.stderr
    return result.stderr


@pytest.mark.parametrize("kind", ["rsa2048", "p256", "p384"])
@pytest.mark.parametrize("via_intermediate", [False, True], ids=["direct", "intermediate"])
def test_profile_form_is_accepted_and_cached(
    ra: RaWorld, aws_files: AwsFiles, kind: str, via_intermediate: bool
) -> None:
    files = ra.identity(kind, via_intermediate=via_intermediate)
    aws_files.write_config(
        ra.profile_block(
            files, extra="rolesanywhere_session_duration = 1800\nrolesanywhere_role_session_name = ci-run"
        )
    )
    env = env_with(AWS_ENDPOINT_URL_ROLESANYWHERE=ra.url)
    first = assert_credentials(run_in_process("credential-process", "--profile", "ra", env=env, entry=True))
    second = assert_credentials(run_in_process("credential-process", "--profile", "ra", env=env, entry=True))
    assert first == second
    assert ra.world.calls == 1
    body = ra.world.received[-1].body
    assert body == {
        "durationSeconds": 1800,
        "profileArn": PROFILE_ARN,
        "roleArn": ROLE_ARN,
        "trustAnchorArn": TRUST_ANCHOR_ARN,
        "roleSessionName": "ci-run",
    }


@pytest.mark.parametrize("fmt", ["pkcs8-encrypted", "p12"])
def test_flag_form_is_a_drop_in_for_aws_signing_helper(ra: RaWorld, fmt: str) -> None:
    files = ra.identity("rsa2048", fmt, via_intermediate=True, chain_in="p12" if fmt == "p12" else "file")
    args = [
        "credential-process",
        *ra.flags(files),
        "--session-duration",
        "900",
        "--role-session-name",
        "drop-in",
        "--region",
        "us-east-1",
        "--with-proxy",
    ]
    env = env_with(CREDPROC_PRIVATE_KEY_PASSPHRASE=ra_pki.PASSPHRASE)
    first = assert_credentials(run_credproc(*args, env=env))
    assert_credentials(run_credproc(*args, env=env))
    # The fast path knows every flag: a hit answers without starting the full CLI.
    from credproc import fastpath

    assert fastpath.parse_args(args[1:]) is not None
    assert ra.world.calls == 1
    assert ra.world.received[-1].body["durationSeconds"] == 900
    # --no-cache always calls.
    other = assert_credentials(run_credproc(*args, "--no-cache", env=env))
    assert other["AccessKeyId"] != first["AccessKeyId"] and ra.world.calls == 2


def test_parallel_cold_runs_make_one_create_session(ra: RaWorld, aws_files: AwsFiles) -> None:
    files = ra.identity("p256")
    aws_files.write_config(ra.profile_block(files))
    ra.world.delay = 0.3  # hold the first call so the others really overlap it
    env = env_with(AWS_ENDPOINT_URL_ROLESANYWHERE=ra.url)
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(
            pool.map(lambda _: run_credproc("credential-process", "--profile", "ra", env=env), range(32))
        )
    keys = {assert_credentials(r)["AccessKeyId"] for r in results}
    assert keys == {"ASIARAEMU00000000001"}
    assert ra.world.calls == 1


def test_a_rotated_certificate_is_not_served_from_the_cache(ra: RaWorld, aws_files: AwsFiles) -> None:
    files = ra.identity("p256")
    aws_files.write_config(ra.profile_block(files))
    env = env_with(AWS_ENDPOINT_URL_ROLESANYWHERE=ra.url)
    assert_credentials(run_in_process("credential-process", "--profile", "ra", env=env, entry=True))
    rotated = ra.identity("p256", name="rotated")  # same paths' contents replaced below
    files.certificate.write_bytes(rotated.certificate.read_bytes() + b"\n")
    second = assert_credentials(run_in_process("credential-process", "--profile", "ra", env=env, entry=True))
    assert ra.world.calls == 2 and second["AccessKeyId"] == "ASIARAEMU00000000002"
    assert ra.world.received[-1].serial == ra.root.serials[-1]


def test_an_untrusted_certificate_gets_aws_refusal_and_exit_3(ra: RaWorld) -> None:
    stranger = ra_pki.Ca.root("someone else's CA", index=3)
    k = ra_pki.key("p256")
    files = ra_pki.write_identity(ra.directory / "stranger", k, stranger.leaf(k.public_key()), [], "pkcs8")
    err = assert_error(
        run_in_process("credential-process", *ra.flags(files), entry=True),
        3,
        "AccessDeniedException",
        "Untrusted signing certificate",
    )
    assert len(err.splitlines()) == 1


def test_a_role_outside_the_profile_gets_exit_3(ra: RaWorld) -> None:
    files = ra.identity("p256")
    args = ra.flags(files)
    args[args.index(ROLE_ARN)] = "arn:aws:iam::123456789012:role/other"
    assert_error(run_in_process("credential-process", *args, entry=True), 3, "is not allowed by the profile")


def test_a_validation_error_is_bad_input(ra: RaWorld) -> None:
    ra.world.session_seconds_max = 3600
    files = ra.identity("p256")
    assert_error(
        run_in_process("credential-process", *ra.flags(files), "--session-duration", "7200", entry=True),
        1,
        "ValidationException",
        "durationSeconds",
    )


def test_throttling_is_retried_then_succeeds(ra: RaWorld) -> None:
    ra.world.fail_next = [(429, "ThrottlingException"), (503, "ServiceUnavailableException")]
    files = ra.identity("p256")
    assert_credentials(run_in_process("credential-process", *ra.flags(files), entry=True))
    assert list(ra.emulator.outcomes()) == ["ThrottlingException", "ServiceUnavailableException", "ok"]


def test_persistent_throttling_gives_up_with_exit_3(ra: RaWorld) -> None:
    ra.world.fail_next = [(429, "ThrottlingException")] * 10
    files = ra.identity("p256")
    result = run_in_process("credential-process", *ra.flags(files), entry=True)
    assert_error(result, 3, "ThrottlingException", "gave up after retries")
    assert len(ra.world.received) == MAX_ATTEMPTS  # bounded: the one retry rule


def test_expired_certificate_is_exit_1_and_never_sent(ra: RaWorld) -> None:
    files = ra.identity("p256", days=(-10, -1))
    assert_error(run_in_process("credential-process", *ra.flags(files), entry=True), 1, "expired on")
    assert ra.world.received == []


def test_an_encrypted_key_with_no_terminal_exits_4_fast(ra: RaWorld) -> None:
    files = ra.identity("p256", "pkcs8-encrypted")
    err = assert_error(
        run_in_process("credential-process", *ra.flags(files), entry=True),
        4,
        "no terminal",
        "CREDPROC_PRIVATE_KEY_PASSPHRASE",
    )
    assert ra_pki.PASSPHRASE not in err


def test_an_unreachable_endpoint_is_exit_3(ra: RaWorld) -> None:
    files = ra.identity("p256")
    result = run_in_process(
        "credential-process", *ra.flags(files, endpoint=False), "--endpoint", "http://127.0.0.1:9", entry=True
    )
    assert_error(result, 3, f"cannot reach http://127.0.0.1:9/sessions after {MAX_ATTEMPTS} attempts")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("--trust-anchor-arn", "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/nope"),
            "trust anchor ARN in the command line is malformed",
        ),
        (("--profile-arn", PROFILE_ARN.replace("us-east-1", "eu-west-1")), "different regions"),
        (("--role-arn", "arn:aws:iam::123456789012:user/bob"), "is not an IAM role ARN"),
        (("--session-duration", "60"), "between 900 and 43200"),
        (("--session-duration", "soon"), "not a number of seconds"),
        (("--region", "Virginia"), "is not an AWS region name"),
        (("--role-session-name", "has space"), "role session name"),
    ],
)
def test_malformed_input_is_exit_1_before_any_call(
    ra: RaWorld, change: tuple[str, str], message: str
) -> None:
    files = ra.identity("p256")
    args = ra.flags(files)
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += list(change)
    assert_error(run_in_process("credential-process", *args, entry=True), 1, message)
    assert ra.world.received == []


def test_signing_helper_flags_without_a_certificate_are_refused(chain: AwsFiles) -> None:
    assert_error(
        run_in_process("credential-process", "--profile", "top", "--role-arn", ROLE_ARN, entry=True),
        1,
        "--role-arn applies only to Roles Anywhere",
    )


def test_a_plain_profile_run_is_unaffected(chain: AwsFiles) -> None:
    result = run_credproc("credential-process", "--profile", "top")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"]


def test_unknown_profile_keys_are_reported(ra: RaWorld, aws_files: AwsFiles) -> None:
    files = ra.identity("p256")
    aws_files.write_config(ra.profile_block(files, extra="rolesanywhere_certificat = typo"))
    assert_error(
        run_in_process("credential-process", "--profile", "ra", entry=True), 1, "rolesanywhere_certificat"
    )


def test_a_profile_without_arns_names_what_is_missing(aws_files: AwsFiles, tmp_path: Path) -> None:
    aws_files.write_config(f"[profile ra]\nrolesanywhere_certificate = {tmp_path}/c.pem\n")
    assert_error(
        run_in_process("credential-process", "--profile", "ra", entry=True),
        1,
        "needs the trust anchor, profile, role ARN",
    )


def test_a_profile_without_a_certificate_is_refused(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        f"[profile ra]\nrolesanywhere_trust_anchor_arn = {TRUST_ANCHOR_ARN}\n"
        f"rolesanywhere_profile_arn = {PROFILE_ARN}\n"
        f"rolesanywhere_role_arn = {ROLE_ARN}\n"
    )
    assert_error(
        run_in_process("credential-process", "--profile", "ra", entry=True), 1, "needs a certificate"
    )


def test_a_relative_home_path_in_the_profile_is_expanded(ra: RaWorld, aws_files: AwsFiles) -> None:
    files = ra.identity("p256")
    home = Path(os.environ["HOME"])
    (home / "pki").mkdir()
    for path in (files.certificate, files.private_key):
        assert path is not None
        (home / "pki" / path.name).write_bytes(path.read_bytes())
    block = ra.profile_block(files).replace(str(files.certificate.parent), "~/pki")
    aws_files.write_config(block)
    assert_credentials(
        run_in_process(
            "credential-process", "--profile", "ra", env=env_with(AWS_ENDPOINT_URL=ra.url), entry=True
        )
    )


def test_building_the_source_does_not_import_cryptography(ra: RaWorld) -> None:
    """Only a real fetch pays for `cryptography`; a run served by the hop cache does not."""
    import sys

    files = ra.identity("p256")
    code = (
        "import sys\n"
        "from credproc.cache import NoCache\nfrom credproc.config import AwsConfig\n"
        "from credproc.sources.rolesanywhere import source as rolesanywhere\nfrom credproc.sources.base import Context\n"
        "from tests.support.terminals import ScriptedTerminal\n"
        "ctx = Context({}, AwsConfig({}), NoCache(), ScriptedTerminal(None), print)\n"
        f"args = {ra.flags(files)!r}\n"
        "opts = {args[i].lstrip('-').replace('-', '_'): args[i + 1] for i in range(0, len(args), 2)}\n"
        "source = rolesanywhere.from_flags(ctx, opts)\n"
        "assert source is not None and source.deps()\n"
        "print(sorted(m for m in sys.modules if m.startswith('cryptography')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_cache_list_names_the_role_and_certificate_but_no_secret(ra: RaWorld, aws_files: AwsFiles) -> None:
    files = ra.identity("p256")
    aws_files.write_config(ra.profile_block(files))
    env = env_with(AWS_ENDPOINT_URL_ROLESANYWHERE=ra.url)
    creds = assert_credentials(run_credproc("credential-process", "--profile", "ra", env=env))
    listing = run_credproc("cache", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    assert f"Roles Anywhere {ROLE_ARN} with certificate {files.certificate}" in listing.stdout
    assert str(creds["SecretAccessKey"]) not in listing.stdout + listing.stderr
    assert str(creds["SessionToken"]) not in listing.stdout + listing.stderr


def test_the_second_run_is_a_fast_path_hit_without_cryptography(ra: RaWorld) -> None:
    import sys

    files = ra.identity("rsa2048", "pkcs8-encrypted")
    args = ["credential-process", *ra.flags(files)]
    env = env_with(CREDPROC_PRIVATE_KEY_PASSPHRASE=ra_pki.PASSPHRASE)
    first = assert_credentials(run_credproc(*args, env=env))
    hit = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "credproc", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )
    assert hit.returncode == 0 and json.loads(hit.stdout) == first
    imported = {line.rsplit("|", 1)[-1].strip() for line in hit.stderr.splitlines()}
    assert "credproc.fastpath" in imported  # the import log was read right
    assert not {m for m in imported if m.split(".")[0] in ("cryptography", "click", "botocore", "keyring")}
    assert ra.world.calls == 1
