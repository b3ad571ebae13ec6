"""``credential_source`` and web identity, against moto and small loopback metadata servers."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS
from tests.support.runner import run_in_process

ROLE = "arn:aws:iam::444444444444:role/from-source"
META_CREDS = {
    "AccessKeyId": "ASIAMETADATAEXAMPLE1",
    "SecretAccessKey": "m" * 40,
    "Token": "metadata-token",
    "Expiration": "2099-01-01T00:00:00Z",
}


class MetadataHandler(BaseHTTPRequestHandler):
    """Answers like the ECS agent (container endpoint) and like IMDSv2 (token, role, creds)."""

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        if self.path == "/latest/api/token":
            self._send(200, "imds-session-token")
        else:
            self._send(404, "")

    def do_GET(self) -> None:
        if self.path == "/ecs/creds":
            ok = self.headers.get("Authorization") == "ecs-auth"
            self._send(200 if ok else 401, json.dumps(META_CREDS) if ok else "")
        elif self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
            self._send(401, "")
        elif self.path == "/latest/meta-data/iam/security-credentials/":
            self._send(200, "instance-role")
        elif self.path == "/latest/meta-data/iam/security-credentials/instance-role":
            self._send(200, json.dumps({"Code": "Success", **META_CREDS}))
        else:
            self._send(404, "")


@pytest.fixture
def metadata() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), MetadataHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _role_config(aws_files: AwsFiles, source: str) -> None:
    aws_files.write_config(f"[profile p]\nrole_arn = {ROLE}\ncredential_source = {source}\n")


def test_environment_source_assumes_the_role(aws_files: AwsFiles, sts: MotoSTS) -> None:
    _role_config(aws_files, "Environment")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAENVIRONEXAMPLE01", AWS_SECRET_ACCESS_KEY="e" * 40)
    done = run_credproc("credential-process", "--profile", "p", env=env)
    assert done.returncode == 0, done.stderr
    assert sts.calls["AssumeRole"] == 1


def test_ecs_container_source_assumes_the_role(aws_files: AwsFiles, sts: MotoSTS, metadata: str) -> None:
    _role_config(aws_files, "EcsContainer")
    env = dict(
        os.environ,
        AWS_CONTAINER_CREDENTIALS_FULL_URI=metadata + "/ecs/creds",
        AWS_CONTAINER_AUTHORIZATION_TOKEN="ecs-auth",
    )
    done = run_credproc("credential-process", "--profile", "p", env=env)
    assert done.returncode == 0, done.stderr
    assert sts.calls["AssumeRole"] == 1


def test_ec2_instance_metadata_source_assumes_the_role(
    aws_files: AwsFiles, sts: MotoSTS, metadata: str
) -> None:
    _role_config(aws_files, "Ec2InstanceMetadata")
    env = dict(os.environ, AWS_EC2_METADATA_SERVICE_ENDPOINT=metadata + "/")
    env.pop("AWS_EC2_METADATA_DISABLED", None)
    done = run_credproc("credential-process", "--profile", "p", env=env)
    assert done.returncode == 0, done.stderr
    assert sts.calls["AssumeRole"] == 1


def test_unreachable_container_endpoint_is_exit_3(aws_files: AwsFiles, sts: MotoSTS) -> None:
    _role_config(aws_files, "EcsContainer")
    env = dict(os.environ, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:9/creds")
    done = run_in_process("credential-process", "--profile", "p", env=env, entry=True)
    assert done.returncode == 3
    assert done.stdout == ""
    assert "EcsContainer credentials unavailable" in done.stderr


def test_web_identity_token_file_assumes_the_role(
    aws_files: AwsFiles, sts: MotoSTS, tmp_path: object
) -> None:
    token = aws_files.home / "token.jwt"
    token.write_text("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln\n")
    aws_files.write_config(
        f"[profile p]\nrole_arn = {ROLE}\nweb_identity_token_file = ~/token.jwt\nrole_session_name = ci\n"
    )
    done = run_credproc("credential-process", "--profile", "p")
    assert done.returncode == 0, done.stderr
    assert sts.calls["AssumeRoleWithWebIdentity"] == 1
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")
    again = run_credproc("credential-process", "--profile", "p")
    assert again.stdout == done.stdout
    assert sts.calls["AssumeRoleWithWebIdentity"] == 1


def test_web_identity_ignores_duration_seconds_as_botocore_does(aws_files: AwsFiles, sts: MotoSTS) -> None:
    """botocore's AssumeRoleWithWebIdentity fetcher sends no DurationSeconds from the profile (its
    duration_seconds applies to AssumeRole only): the session lasts STS's default hour, as for the AWS CLI."""
    from datetime import datetime, timezone

    (aws_files.home / "token.jwt").write_text("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln\n")
    aws_files.write_config(
        f"[profile p]\nrole_arn = {ROLE}\nweb_identity_token_file = ~/token.jwt\nduration_seconds = 1800\n"
    )
    done = run_in_process("credential-process", "--profile", "p", "--no-cache", entry=True)
    assert done.returncode == 0, done.stderr
    expires = datetime.fromisoformat(json.loads(done.stdout)["Expiration"].replace("Z", "+00:00"))
    left = expires.timestamp() - datetime.now(timezone.utc).timestamp()
    assert 3600 - 300 < left <= 3600  # the default hour, not the half hour the line asks for
