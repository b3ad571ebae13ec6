"""Odd files where credproc expects a small regular file: a FIFO (opening it waits for a writer for
ever), a device (``/dev/zero`` never ends), a folder, or a file past the size cap. Each is one clear
line and exit 1 (125 for exec), never a hang or a MemoryError; the cache, being optional, treats
them as a miss or as no cache at all (credproc.smallfile)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from credproc import smallfile
from credproc.sources.sso import token_cache
from tests.conftest import BASE_SECRET, AwsFiles, run_credproc
from tests.support import ra_pki
from tests.support.moto_sts import MotoSTS
from tests.support.ra_world import RaWorld
from tests.support.runner import run_in_process

ROLE = "arn:aws:iam::111111111111:role/r"
KINDS = {
    "fifo": "it is a FIFO (named pipe), not a regular file",
    "device": "it is a character device, not a regular file",
    "folder": "it is a folder, not a regular file",
    "huge": "it is larger than",
}
# A credproc that wrongly waits on a FIFO is freed after this long (a writer opens and closes it),
# so a regression fails its assertions instead of hanging the suite.
WATCHDOG_SECONDS = 10.0


@dataclass
class Odd:
    """Makes the odd thing of a kind at a path."""

    tmp_path: Path
    stop: threading.Event

    def make(self, kind: str, limit: int, where: Path | None = None) -> Path:
        path = where or self.tmp_path / f"odd-{kind}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "fifo":
            os.mkfifo(path)
            threading.Thread(target=_free_readers, args=(path, self.stop), daemon=True).start()
        elif kind == "device":
            if where is None:
                return Path("/dev/zero")
            path.symlink_to("/dev/zero")  # a file credproc reads through links, as people link them
        elif kind == "folder":
            path.mkdir()
        else:
            with open(path, "wb") as fh:
                fh.truncate(limit + 1)  # sparse: no disk, but stat says it is over the cap
        return path


def _free_readers(path: Path, stop: threading.Event) -> None:
    if stop.wait(WATCHDOG_SECONDS):
        return
    while not stop.is_set():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: nobody is reading
            stop.wait(0.05)
            continue
        os.close(fd)


@pytest.fixture
def odd(tmp_path: Path) -> Iterator[Odd]:
    stop = threading.Event()
    yield Odd(tmp_path, stop)
    stop.set()


@dataclass(frozen=True)
class Target:
    """One file credproc reads: ``arrange`` puts the odd thing where credproc looks and returns
    the command line and the environment's changes; ``says`` is the start of the error, with
    ``{path}`` for where the odd thing is."""

    limit: int
    arrange: Callable[[Odd, str, AwsFiles, pytest.FixtureRequest], tuple[list[str], dict[str, str], Path]]
    says: str


def _config_file(
    odd: Odd, kind: str, files: AwsFiles, _: pytest.FixtureRequest
) -> tuple[list[str], dict[str, str], Path]:
    path = odd.make(kind, smallfile.CONFIG_LIMIT)
    return ["credential-process", "--profile", "p"], {"AWS_CONFIG_FILE": str(path)}, path


def _credentials_file(
    odd: Odd, kind: str, files: AwsFiles, _: pytest.FixtureRequest
) -> tuple[list[str], dict[str, str], Path]:
    files.write_config("[profile p]\nregion = us-east-1\n")
    path = odd.make(kind, smallfile.CONFIG_LIMIT)
    return ["credential-process", "--profile", "p"], {"AWS_SHARED_CREDENTIALS_FILE": str(path)}, path


def _web_identity(
    odd: Odd, kind: str, files: AwsFiles, _: pytest.FixtureRequest
) -> tuple[list[str], dict[str, str], Path]:
    path = odd.make(kind, smallfile.TOKEN_LIMIT)
    files.write_config(f"[profile p]\nrole_arn = {ROLE}\nweb_identity_token_file = {path}\n")
    return ["credential-process", "--profile", "p"], {}, path


def _sso_token(
    odd: Odd, kind: str, files: AwsFiles, _: pytest.FixtureRequest
) -> tuple[list[str], dict[str, str], Path]:
    files.write_config(
        "[profile p]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = R\n"
        "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
    )
    where = Path(token_cache.token_path({"HOME": str(files.home)}, "corp"))
    path = odd.make(kind, smallfile.TOKEN_LIMIT, where)
    return ["credential-process", "--profile", "p"], {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, path


def _certificate(
    odd: Odd, kind: str, files: AwsFiles, request: pytest.FixtureRequest
) -> tuple[list[str], dict[str, str], Path]:
    ra: RaWorld = request.getfixturevalue("ra")
    real = ra.identity("p256")
    path = odd.make(kind, smallfile.TOKEN_LIMIT)
    return ["credential-process", *ra.flags(ra_pki.Files(path, real.private_key, None))], {}, path


def _private_key(
    odd: Odd, kind: str, files: AwsFiles, request: pytest.FixtureRequest
) -> tuple[list[str], dict[str, str], Path]:
    ra: RaWorld = request.getfixturevalue("ra")
    real = ra.identity("p256")
    path = odd.make(kind, smallfile.TOKEN_LIMIT)
    return ["credential-process", *ra.flags(ra_pki.Files(real.certificate, path, None))], {}, path


def _container_token(
    odd: Odd, kind: str, files: AwsFiles, _: pytest.FixtureRequest
) -> tuple[list[str], dict[str, str], Path]:
    """A file botocore reads (for credential_source = EcsContainer): credproc checks it first."""
    path = odd.make(kind, smallfile.TOKEN_LIMIT)
    files.write_config(f"[profile p]\nrole_arn = {ROLE}\ncredential_source = EcsContainer\n")
    env = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(path),
    }
    return ["credential-process", "--profile", "p"], env, path


def _ca_bundle(
    odd: Odd, kind: str, files: AwsFiles, _: pytest.FixtureRequest
) -> tuple[list[str], dict[str, str], Path]:
    """A file OpenSSL reads, under botocore and Roles Anywhere's transport: credproc checks it first."""
    token = odd.tmp_path / "web-identity-token"
    token.write_text("a-token")
    files.write_config(f"[profile p]\nrole_arn = {ROLE}\nweb_identity_token_file = {token}\n")
    path = odd.make(kind, smallfile.CONFIG_LIMIT)
    env = {"AWS_CA_BUNDLE": str(path), "AWS_ENDPOINT_URL_STS": "https://127.0.0.1:9"}  # never the network
    return ["credential-process", "--profile", "p"], env, path


TARGETS: dict[str, Target] = {
    "CA bundle": Target(smallfile.CONFIG_LIMIT, _ca_bundle, "cannot read AWS_CA_BUNDLE {path}: "),
    "container token file": Target(
        smallfile.TOKEN_LIMIT, _container_token, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: "
    ),
    "config file": Target(smallfile.CONFIG_LIMIT, _config_file, "cannot read {path}: "),
    "credentials file": Target(smallfile.CONFIG_LIMIT, _credentials_file, "cannot read {path}: "),
    "web identity token file": Target(
        smallfile.TOKEN_LIMIT, _web_identity, "cannot read web_identity_token_file {path} of profile 'p': "
    ),
    "SSO token": Target(smallfile.TOKEN_LIMIT, _sso_token, "SSO cache file {path} cannot be used: "),
    "certificate": Target(smallfile.TOKEN_LIMIT, _certificate, "certificate file {path} cannot be used: "),
    "private key": Target(smallfile.TOKEN_LIMIT, _private_key, "private key file {path} cannot be used: "),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_an_odd_file_is_one_clear_line_and_exit_1(
    target: str, kind: str, odd: Odd, aws_files: AwsFiles, request: pytest.FixtureRequest
) -> None:
    argv, env, path = TARGETS[target].arrange(odd, kind, aws_files, request)
    done = run_in_process(*argv, env={**os.environ, **env})
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert 1 <= len(lines) <= 2 and all(line.startswith("credproc: ") for line in lines), done.stderr
    assert lines[0].startswith("credproc: error: " + TARGETS[target].says.format(path=path)), done.stderr
    assert KINDS[kind] in lines[0]


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["credential-process", "--profile", "p"], 1),
        (["exec", "--profile", "p", "--", "true"], 125),
        (["env", "--profile", "p"], 1),
        (["serve", "--profile", "p"], 1),
        (["configure", "p", "--set", "region=eu-west-1"], 1),
        (["login", "--profile", "p"], 1),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else str(v),
)
def test_a_fifo_config_file_ends_every_command_at_once(
    command: list[str], code: int, odd: Odd, tmp_path: Path
) -> None:
    """A real process, the fast paths included (the cache folder exists, so the hit path computes
    its key from the config files first)."""
    (tmp_path / "cache").mkdir(mode=0o700)
    fifo = odd.make("fifo", 0)
    done = run_credproc(*command, env={**os.environ, "AWS_CONFIG_FILE": str(fifo)}, timeout=30)
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines()[0] == (
        f"credproc: error: cannot read {fifo}: it is a FIFO (named pipe), not a regular file"
    )


def test_doctor_reports_a_fifo_config_file(odd: Odd) -> None:
    fifo = odd.make("fifo", 0)
    done = run_credproc(
        "doctor", "--profile", "p", env={**os.environ, "AWS_CONFIG_FILE": str(fifo)}, timeout=30
    )
    assert done.returncode == 1
    assert "it is a FIFO (named pipe), not a regular file" in done.stdout + done.stderr
    assert "unexpected" not in done.stderr


@pytest.mark.parametrize("kind", ["fifo", "folder", "huge", "device"])
def test_an_odd_file_under_a_cache_entrys_name_is_a_miss(
    kind: str, odd: Odd, chain: AwsFiles, sts: MotoSTS, tmp_path: Path
) -> None:
    first = run_credproc("credential-process", "--profile", "top")
    assert first.returncode == 0, first.stderr
    entries = sorted((tmp_path / "cache").glob("*.entry"))
    assert entries
    for entry in entries:
        entry.unlink()
        if kind == "device":
            require_mknod(entry)
        else:
            odd.make(kind, smallfile.TOKEN_LIMIT, entry)
    sts.app.reset()
    again = run_credproc("credential-process", "--profile", "top", timeout=30)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["AccessKeyId"]
    assert "Traceback" not in again.stderr and BASE_SECRET not in again.stderr
    assert sts.calls["AssumeRole"] == 2  # a miss: asked upstream again


def require_mknod(path: Path) -> None:
    """/dev/zero's own device node under the entry's name (a symlink would be refused unread)."""
    try:
        os.mknod(path, 0o600 | 0o020000, os.makedev(1, 5))
    except OSError as exc:
        pytest.skip(f"cannot make a device node here: {exc.strerror}")


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_an_odd_cache_folder_means_no_cache(kind: str, odd: Odd, chain: AwsFiles, sts: MotoSTS) -> None:
    where = odd.make(kind, 0)
    env = {**os.environ, "CREDPROC_CACHE_DIR": str(where)}
    done = run_credproc("credential-process", "--profile", "top", env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"]
    assert "continuing without a cache" in done.stderr


def test_the_open_file_is_checked_again(tmp_path: Path) -> None:
    """stat said small, the file grew after it was opened: fstat of the open file refuses it."""
    path = tmp_path / "growing"
    path.write_bytes(b"x" * 10)
    fd = os.open(path, smallfile.OPEN_FLAGS)
    try:
        path.write_bytes(b"x" * 5000)
        # fstat now says 5000: refused by size before reading.
        with pytest.raises(smallfile.NotASmallFile, match="larger than"):
            smallfile.read_fd(fd, 4096, str(path))
    finally:
        os.close(fd)
    assert smallfile.read(str(path), 5000) == b"x" * 5000


def test_a_symlink_is_refused_where_links_are_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.write_bytes(b"data")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert smallfile.read(str(link), 100) == b"data"
    with pytest.raises(OSError):
        smallfile.read(str(link), 100, follow=False)
