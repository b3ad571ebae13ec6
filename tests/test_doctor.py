"""``credproc doctor``: explains resolution and finds each planted mistake (exit 1), else exit 0."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from credproc.commands import doctor
from credproc.config import AwsConfig
from tests.conftest import BASE_KEY_ID, BASE_SECRET, AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS

STATIC = f"""\
    [default]
    region = us-east-1
    aws_access_key_id = {BASE_KEY_ID}
    aws_secret_access_key = {BASE_SECRET}

    [profile dev]
    region = eu-west-1
    aws_access_key_id = {BASE_KEY_ID}
    aws_secret_access_key = {BASE_SECRET}
"""


def _fails(lines: str, *needles: str) -> bool:
    return any(line.startswith(" FAIL ") and all(n in line for n in needles) for line in lines.splitlines())


def _doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    done = run_credproc("doctor", *args, env=env)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout, done.stderr


def test_a_healthy_profile_exits_0_and_says_how_it_resolves(aws_files: AwsFiles) -> None:
    aws_files.write_config(STATIC)
    code, out, err = _doctor("--profile", "dev", "--offline")
    assert code == 0, out + err
    assert err == ""
    assert "resolution         profile 'dev' resolves in 1 step(s):" in out
    assert "1. static keys AKIA… from the config file" in out
    assert "region             eu-west-1" in out
    assert out.rstrip().endswith("healthy")
    assert BASE_SECRET not in out


def test_a_chain_is_explained_hop_by_hop_with_cached_minutes_left(chain: AwsFiles, sts: MotoSTS) -> None:
    first = run_credproc("credential-process", "--profile", "top")
    assert first.returncode == 0, first.stderr
    code, out, err = _doctor("--profile", "top")
    assert code == 0, out + err
    assert "1. assume arn:aws:iam::222222222222:role/top" in out
    assert "2. assume arn:aws:iam::111111111111:role/middle" in out
    assert "3. static keys AKIA… from the credentials file" in out
    cached = [line for line in out.splitlines() if "cache" in line and "min left" in line]
    assert cached, out
    assert any("answer assume-role" in line and "role/top" in line for line in cached)
    minutes = [int(line.rsplit(", ", 1)[1].split()[0]) for line in cached]
    assert all(50 <= m <= 60 for m in minutes), minutes
    # moto's Date header is this machine's own clock: no skew.
    assert any(line.startswith("  ok   clock") and sts.url in line for line in out.splitlines()), out
    assert json.loads(first.stdout)["SecretAccessKey"] not in out


def test_an_unknown_profile_fails(aws_files: AwsFiles) -> None:
    aws_files.write_config(STATIC)
    code, out, err = _doctor("--profile", "nope", "--offline")
    assert code == 1
    assert _fails(out, "profile 'nope' is not in the config")
    assert err == "credproc: error: doctor found 1 problem\ncredproc: hint: see the lines marked FAIL above\n"


def test_a_credential_process_pointing_at_a_missing_binary_is_found(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        STATIC + "\n[profile old]\ncredential_process = /opt/gone/aws-helper --x\n"
        "[profile notonpath]\ncredential_process = no-such-helper-xyz get\n"
    )
    code, out, _ = _doctor("--profile", "dev", "--offline")
    assert code == 1
    assert _fails(out, "profile 'old'", "'/opt/gone/aws-helper'", "does not exist")
    assert _fails(out, "profile 'notonpath'", "'no-such-helper-xyz'", "not on PATH")


def test_a_self_loop_is_found(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile me]\ncredential_process = credproc credential-process --profile me\n")
    code, out, _ = _doctor("--profile", "me", "--offline", env=_with_credproc_on_path())
    assert code == 1
    assert _fails(out, "self-loop", "'me'")


def test_a_loop_between_profiles_is_found(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        STATIC + "\n[profile a]\n"
        "credential_process = credproc credential-process --profile b\n"
        "[profile b]\ncredential_process = credproc credential-process -p a\n"
    )
    code, out, _ = _doctor("--profile", "dev", "--offline", env=_with_credproc_on_path())
    assert code == 1
    assert _fails(out, "profile loop: a → b → a")


def _with_credproc_on_path() -> dict[str, str]:
    # The planted lines say `credproc`; it must be found, or the check reports "not on PATH" instead.
    from tests.support.shells import env_with, install_credproc

    bin_dir = Path(os.environ["HOME"]).parent / "bin"
    install_credproc(bin_dir)
    return env_with(bin_dir)


def test_a_default_profile_shadowing_the_container_endpoint_is_found(aws_files: AwsFiles) -> None:
    aws_files.write_config(STATIC)
    env = dict(os.environ, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:9/creds")
    code, out, _ = _doctor("--offline", env=env)
    assert code == 1
    assert _fails(out, "AWS_CONTAINER_CREDENTIALS_FULL_URI is set", "[default] profile has aws_access_key_id")
    aws_files.write_config("[profile dev]\naws_access_key_id = A\naws_secret_access_key = B\n")
    code, out, _ = _doctor("--profile", "dev", "--offline", env=env)
    assert code == 0, out


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX modes")
@pytest.mark.parametrize(
    ("mode", "needle"), [(0o777, "writable by other users"), (0o755, "open to other users")]
)
def test_a_cache_folder_with_wrong_modes_is_found(aws_files: AwsFiles, mode: int, needle: str) -> None:
    aws_files.write_config(STATIC)
    cache = Path(os.environ["CREDPROC_CACHE_DIR"])
    cache.mkdir()
    cache.chmod(mode)
    code, out, _ = _doctor("--profile", "dev", "--offline")
    assert code == 1
    assert _fails(out, str(cache), needle, f"{mode:04o}")


def test_a_cache_entry_readable_by_others_is_found(chain: AwsFiles, sts: MotoSTS) -> None:
    assert run_credproc("credential-process", "--profile", "top").returncode == 0
    cache = Path(os.environ["CREDPROC_CACHE_DIR"])
    entry = sorted(cache.glob("*.entry"))[0]
    entry.chmod(0o644)
    code, out, _ = _doctor("--profile", "top", "--offline")
    assert code == 1
    assert _fails(out, entry.name, "0644", "expected 0600")


class _DateServer:
    """An HTTP server on 127.0.0.1 whose Date header is ``offset`` seconds off this machine's clock."""

    def __init__(self, offset: float) -> None:
        offset_ = offset

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(403)  # an unsigned request: refused, with a Date header as AWS does
                self.send_header("Content-Length", "0")
                self.end_headers()

            def date_time_string(self, timestamp: float | None = None) -> str:
                return formatdate(time.time() + offset_, usegmt=True)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> _DateServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def skewed() -> Iterator[_DateServer]:
    with _DateServer(offset=-3600) as server:
        yield server


def test_a_clock_far_off_is_found(aws_files: AwsFiles, skewed: _DateServer) -> None:
    aws_files.write_config(STATIC)
    env = dict(os.environ, AWS_ENDPOINT_URL_STS=skewed.url)
    code, out, _ = _doctor("--profile", "dev", env=env)
    assert code == 1
    # The Date header has whole seconds, and a moment passes between the two readings.
    assert _fails(out, "this machine's clock is 36", " s ahead of", skewed.url)


def test_an_unreachable_clock_source_is_a_warning_not_a_failure(aws_files: AwsFiles) -> None:
    aws_files.write_config(STATIC)
    with _DateServer(offset=0) as server:
        url = server.url  # closed below: nothing listens there any more
    env = dict(os.environ, AWS_ENDPOINT_URL_STS=url)
    code, out, _ = _doctor("--profile", "dev", env=env)
    assert code == 0, out
    assert f" warn  clock              could not read the time from {url}" in out


def test_a_missing_keyring_backend_is_a_warning(aws_files: AwsFiles) -> None:
    aws_files.write_config(STATIC)
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    code, out, _ = _doctor("--profile", "dev", "--offline", env=env)
    assert code == 0, out
    assert " warn  keyring            no OS keyring is available to keep secrets in" in out


def test_a_plaintext_keyring_backend_is_reported_as_refused(aws_files: AwsFiles) -> None:
    """`keys add` refuses a plaintext backend; doctor must not call the same backend healthy."""
    aws_files.write_config(STATIC)
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring")
    _, out, _ = _doctor("--profile", "dev", "--offline", env=env)
    assert (
        " warn  keyring            the keyring backend keyrings.alt.file.PlaintextKeyring keeps secrets "
        "in a plaintext file; credproc refuses it" in out
    )


def test_the_keyring_backend_in_use_is_named(aws_files: AwsFiles, tmp_path: Path) -> None:
    aws_files.write_config(STATIC)
    env = dict(
        os.environ,
        PYTHON_KEYRING_BACKEND="tests.support.keyrings.FileKeyring",
        TEST_KEYRING_FILE=str(tmp_path / "keyring.json"),
    )
    _, out, _ = _doctor("--profile", "dev", "--offline", env=env)
    assert "  ok   keyring            tests.support.keyrings.FileKeyring" in out


# SSO token state, checked in-process against files in the AWS CLI's cache format.
SSO_CONFIG = AwsConfig(
    profiles={
        "corp": {"sso_session": "corp", "sso_account_id": "1", "sso_role_name": "R"},
        "legacy": {"sso_start_url": "https://legacy.awsapps.com/start"},
        "chained": {"role_arn": "arn:aws:iam::123456789012:role/x", "source_profile": "corp"},
        "plain": {"region": "us-east-1"},
    },
    sso_sessions={"corp": {"sso_start_url": "https://corp.awsapps.com/start", "sso_region": "us-east-1"}},
)
NOW = 1_800_000_000.0


def _world() -> doctor.World:
    return doctor.World(environ=dict(os.environ), platform="linux", clock=lambda: NOW, offline=True)


def _write_token(name: str, expires_in: float, refresh: bool = False) -> Path:
    path = Path(doctor.sso_token_path(os.environ, name))
    path.parent.mkdir(parents=True, exist_ok=True)
    expires = datetime.fromtimestamp(NOW + expires_in, tz=timezone.utc)
    token = {"accessToken": "secret-access-token", "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if refresh:  # refreshable: a refresh token and a client registration that is still valid
        token.update(
            refreshToken="secret-refresh-token",
            clientId="client-1",
            clientSecret="secret-client",
            registrationExpiresAt=datetime.fromtimestamp(NOW + 86400, tz=timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        )
    path.write_text(json.dumps(token))
    return path


def test_sso_token_file_is_named_as_the_aws_cli_names_it() -> None:
    expected = hashlib.sha1(b"corp").hexdigest() + ".json"
    home = Path(os.environ["HOME"])
    assert doctor.sso_token_path(os.environ, "corp") == str(home / ".aws" / "sso" / "cache" / expected)


@pytest.mark.parametrize(
    ("profile", "expires_in", "refresh", "level", "needle"),
    [
        ("corp", 3 * 3600 + 30, False, doctor.OK, "sso-session 'corp': valid, 180 min left"),
        ("chained", 600, False, doctor.OK, "valid, 10 min left"),
        ("corp", -120, True, doctor.WARN, "expired; it has a refresh token"),
        ("corp", -120, False, doctor.PROBLEM, "expired 2 min ago"),
        ("corp", None, False, doctor.PROBLEM, "no SSO token for sso-session 'corp'"),
    ],
)
def test_sso_token_state_is_reported(
    profile: str, expires_in: float | None, refresh: bool, level: str, needle: str
) -> None:
    if expires_in is not None:
        _write_token("corp", expires_in, refresh)
    [finding] = doctor.check_sso(_world(), SSO_CONFIG, profile)
    assert finding.level == level
    assert needle in finding.text
    assert "secret" not in finding.text


def test_legacy_sso_profiles_use_the_start_url_token_file() -> None:
    _write_token("https://legacy.awsapps.com/start", 3600)
    [finding] = doctor.check_sso(_world(), SSO_CONFIG, "legacy")
    assert finding.level == doctor.OK


def test_an_unreadable_sso_token_file_is_a_problem() -> None:
    _write_token("corp", 3600).write_text("{not json")
    [finding] = doctor.check_sso(_world(), SSO_CONFIG, "corp")
    assert finding.level == doctor.PROBLEM
    assert "unreadable" in finding.text


def test_profiles_without_sso_say_so() -> None:
    [finding] = doctor.check_sso(_world(), SSO_CONFIG, "plain")
    assert finding.level == doctor.INFO


def test_an_unparsable_config_is_a_problem_not_a_crash(aws_files: AwsFiles) -> None:
    aws_files.config.write_text("[profile dev]\nregion = a\nregion = b\n")
    code, out, _ = _doctor("--profile", "dev", "--offline")
    assert code == 1
    assert _fails(out, "cannot parse")


def test_render_marks_problems_and_counts_them() -> None:
    report = doctor.Report(
        "p", (doctor.Finding(doctor.PROBLEM, "t", "bad", "fix it"), doctor.Finding(doctor.OK, "t", "good"))
    )
    text = doctor.render(report)
    assert " FAIL  t                  bad\n" in text
    assert "→ fix it" in text
    assert text.endswith("1 problem found\n")
    assert not report.healthy


def _shell_world(**env: str) -> doctor.World:
    return doctor.World(environ=env, platform="linux", clock=lambda: NOW, offline=True)


def _stamp(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(NOW + seconds_from_now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_credentials_left_in_the_shell_are_reported_with_minutes_left() -> None:
    [finding] = doctor.check_shell_credentials(
        _shell_world(
            AWS_ACCESS_KEY_ID="ASIAX", CREDPROC_PROFILE="dev", AWS_CREDENTIAL_EXPIRATION=_stamp(1800)
        )
    )
    assert (finding.level, finding.text) == (
        doctor.INFO,
        "this shell carries credentials of profile 'dev', 30 min left",
    )


def test_expired_credentials_in_the_shell_are_a_warning() -> None:
    [finding] = doctor.check_shell_credentials(
        _shell_world(
            AWS_ACCESS_KEY_ID="ASIAX", CREDPROC_PROFILE="dev", AWS_CREDENTIAL_EXPIRATION=_stamp(-600)
        )
    )
    assert finding.level == doctor.WARN
    assert "expired 10 min ago" in finding.text


def test_keys_and_aws_profile_together_are_a_warning() -> None:
    found = doctor.check_shell_credentials(_shell_world(AWS_ACCESS_KEY_ID="AKIAX", AWS_PROFILE="prod"))
    assert [f.level for f in found] == [doctor.INFO, doctor.WARN]
    assert "AWS_PROFILE=prod is set, but SDKs use the keys" in found[1].text
    assert doctor.check_shell_credentials(_shell_world(AWS_PROFILE="prod")) == []


def _process_findings(command: str) -> list[doctor.Finding]:
    cfg = AwsConfig(profiles={"p": {"credential_process": command}})
    return doctor.check_credential_processes(_shell_world(PATH=os.defpath), cfg)


def test_a_credential_process_that_cannot_be_parsed_is_a_problem() -> None:
    [finding] = _process_findings('"/opt/unterminated --x')
    assert finding.level == doctor.PROBLEM
    assert "cannot parse credential_process" in finding.text


def test_a_credential_process_that_is_not_executable_is_a_problem(tmp_path: Path) -> None:
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\n")
    helper.chmod(0o644)
    [finding] = _process_findings(f"{helper} --x")
    assert finding.level == doctor.PROBLEM
    assert "is not executable" in finding.text
    helper.chmod(0o755)
    assert _process_findings(f"{helper} --x") == []
    assert "is not executable" in _process_findings(f"{tmp_path} --x")[0].text  # a folder


def test_the_clock_is_only_asked_over_http() -> None:
    assert doctor.server_date("file:///etc/passwd", {}) is None
    assert doctor.server_date("ftp://127.0.0.1/", {}) is None


SSO_FILE_CONFIG = """\
    [profile corp]
    sso_session = corp
    sso_account_id = 111111111111
    sso_role_name = Admin
    region = us-east-1

    [sso-session corp]
    sso_start_url = https://corp.awsapps.com/start
    sso_region = us-east-1
"""


def test_an_sso_profile_is_explained_and_its_login_state_decides_health(aws_files: AwsFiles) -> None:
    aws_files.write_config(SSO_FILE_CONFIG)
    code, out, _ = _doctor("--profile", "corp", "--offline")
    assert code == 1
    assert "1. IAM Identity Center role Admin in 111111111111 via sso-session corp" in out
    assert _fails(out, "no SSO token for sso-session 'corp'")
    assert "→ run `credproc login --profile corp`" in out

    path = Path(doctor.sso_token_path(os.environ, "corp"))
    path.parent.mkdir(parents=True)
    expires = datetime.now(timezone.utc) + timedelta(hours=2)
    path.write_text(
        json.dumps(
            {
                "startUrl": "https://corp.awsapps.com/start",
                "region": "us-east-1",
                "accessToken": "secret-token",
                "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    )
    code, out, _ = _doctor("--profile", "corp", "--offline")
    assert code == 0, out
    assert "  ok   sso                SSO token for sso-session 'corp': valid, 1" in out
    assert "secret-token" not in out


class _BadDateHandler(BaseHTTPRequestHandler):
    date: str | None = None  # the Date header sent, if any

    def do_GET(self) -> None:
        self.send_response_only(403)  # without the automatic Date header
        if self.date is not None:
            self.send_header("Date", self.date)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("date", [None, "", "yesterday at noon"])
def test_an_answer_without_a_readable_date_tells_nothing_about_the_clock(date: str | None) -> None:
    handler = type("Handler", (_BadDateHandler,), {"date": date})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert doctor.server_date(f"http://127.0.0.1:{server.server_address[1]}/", {}) is None
    finally:
        server.shutdown()
        server.server_close()


def test_a_keyring_backend_that_breaks_is_a_warning_not_a_crash() -> None:
    def broken() -> str:
        raise RuntimeError("D-Bus went away")

    world = doctor.World(environ={}, platform="linux", offline=True, keyring_backend=broken)
    [finding] = doctor.check_keyring(world)
    assert (finding.level, finding.text) == (doctor.WARN, "no usable keyring backend (RuntimeError)")


def test_shell_credentials_with_an_unreadable_expiration_are_reported_without_minutes() -> None:
    world = _shell_world(AWS_ACCESS_KEY_ID="ASIAX", CREDPROC_PROFILE="dev", AWS_CREDENTIAL_EXPIRATION="soon")
    [finding] = doctor.check_shell_credentials(world)
    assert (finding.level, finding.text) == (doctor.INFO, "this shell carries credentials of profile 'dev'")


@pytest.mark.parametrize(
    ("profiles", "says"),
    [
        ({"p": {"region": "eu-west-1"}}, "profile 'p' has no credentials"),
        # p hands over to q, and it is q that has none: not a self-loop of p.
        (
            {
                "p": {"credential_process": "credproc credential-process --profile q"},
                "q": {"region": "eu-west-1"},
            },
            "profile 'q' has no credentials",
        ),
    ],
)
def test_a_profile_without_credentials_is_not_called_a_self_loop(
    profiles: dict[str, dict[str, object]], says: str
) -> None:
    [finding] = doctor.check_resolution(_shell_world(), AwsConfig(profiles=profiles), "p")
    assert finding.level == doctor.PROBLEM
    assert finding.text.startswith(says) and "self-loop" not in finding.text


def test_a_credproc_line_for_a_profile_that_fails_otherwise_is_left_to_the_resolution(tmp_path: Path) -> None:
    program = tmp_path / "credproc"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    cfg = AwsConfig(profiles={"p": {"credential_process": f"{program} credential-process --profile nowhere"}})
    assert doctor.check_credential_processes(_shell_world(), cfg) == []  # not a loop: not this check's


def test_nothing_cached_for_the_profile_is_said(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    world = doctor.World(environ={"CREDPROC_CACHE_DIR": str(cache)}, platform="linux", offline=True)
    assert [f.text for f in doctor.check_cache(world, "dev")] == [
        f"{cache} (mode 0700)",
        "nothing cached for profile 'dev'",
    ]
