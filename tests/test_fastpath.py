"""The cache-hit path: what it imports, how it parses, and that it agrees with the slow path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from credproc import __version__, cachedir, cachefile, cachekey, fastpath
from tests.conftest import AwsFiles, run_credproc
from tests.support.moto_sts import MotoSTS

HEAVY = (
    "click",
    "boto3",
    "botocore",
    "keyring",
    "cryptography",
    "json",
    "hashlib",
    "platformdirs",
    "configparser",
    "dataclasses",
)
# The stdlib-only modules a hit may load, and no other of credproc's.
HIT_PATH = (
    "credproc",
    "credproc.entry",
    "credproc.fastpath",
    "credproc.flags",
    "credproc.cachekey",
    "credproc.cachedir",
    "credproc.cachefile",
    "credproc.durations",
    "credproc.paths",
    "credproc.smallfile",
)


def test_a_cache_hit_imports_no_heavy_module(chain: AwsFiles, sts: MotoSTS) -> None:
    assert run_credproc("credential-process", "--profile", "top").returncode == 0
    probe = (
        "import sys; sys.argv = ['credproc', 'credential-process', '--profile', 'top']\n"
        "from credproc.entry import main\n"
        "main()\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "ours = sorted(m for m in sys.modules if m.startswith('credproc'))\n"
        "sys.stderr.write(repr(heavy) + '\\n' + repr(ours))\n"
    )
    # Without coverage's subprocess hook: coverage itself imports json and friends.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Version"] == 1
    heavy, ours = done.stderr.splitlines()
    assert heavy == "[]"
    assert eval(ours) == sorted(HIT_PATH)  # noqa: S307 - our own repr of a list of names


def test_a_miss_falls_through_to_the_full_cli(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        "[profile p]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "s" * 40 + "\n"
    )
    done = run_credproc("credential-process", "--profile", "p")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data == {"Version": 1, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "s" * 40}


def test_long_term_keys_are_never_written_to_the_cache(aws_files: AwsFiles, tmp_path: Path) -> None:
    aws_files.write_config(
        "[profile p]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "s" * 40 + "\n"
    )
    assert run_credproc("credential-process", "--profile", "p").returncode == 0
    cache = tmp_path / "cache"
    assert not any(("s" * 40) in p.read_text(errors="replace") for p in cache.glob("*") if p.is_file())


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {}),
        (["--profile", "a"], {"profile": "a"}),
        (["-p", "a"], {"profile": "a"}),
        (["-pa"], {"profile": "a"}),
        (["-p=a"], {"profile": "=a"}),  # click's reading of a short option with "="
        (["--profile=a", "--auto-login"], {"profile": "a", "auto_login": "1"}),
        (
            ["--refresh-window", "60", "--region", "eu-west-1"],
            {"refresh_window": "60", "region": "eu-west-1"},
        ),
        (["--profile"], None),
        (["--no-cache"], None),
        (["--auto-login=1"], None),
        (["--bogus", "x"], None),
        (["positional"], None),
        (["--"], None),
    ],
)
def test_fast_parser_accepts_exactly_what_it_understands(
    argv: list[str], expected: dict[str, str] | None
) -> None:
    assert fastpath.parse_args(argv) == expected


@pytest.mark.parametrize("command", ["credential_process", "exec"])
def test_the_click_commands_take_their_options_from_the_flag_table(command: str) -> None:
    import importlib

    from credproc import flags

    table = {"credential_process": flags.CREDENTIAL_PROCESS, "exec": flags.EXEC}[command]
    click_command = importlib.import_module(f"credproc.commands.{command}").command
    # `--debug` is the group's, added to every command (credproc.cli), whether the table has it or not.
    dests = {f.dest for f in table}
    options = [
        p
        for p in click_command.params
        if p.param_type_name == "option" and (p.name != "debug" or "debug" in dests)
    ]
    assert [(p.name, sorted(p.opts), p.is_flag) for p in options] == [
        (f.dest, sorted([f.long, *([f.short] if f.short else [])]), not f.takes_value) for f in table
    ]


def test_a_short_option_with_equals_is_one_profile_on_a_cold_and_a_warm_cache(
    chain: AwsFiles, sts: MotoSTS
) -> None:
    # click reads `-p=top` as the profile "=top", which does not exist: a cold run fails, and a warm
    # cache (filled by `--profile top`) must not answer it as "top" either.
    assert run_credproc("credential-process", "--profile", "top").returncode == 0
    warm = run_credproc("credential-process", "-p=top")
    assert warm.returncode == 1, warm.stdout
    assert warm.stdout == ""
    assert "'=top'" in warm.stderr


def _key(tmp_path: Path, options: dict[str, str], env: dict[str, str]) -> str:
    base = {"HOME": str(tmp_path), **env}
    return cachekey.answer_key(options, base)


def test_key_changes_with_everything_that_changes_the_answer(tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir(exist_ok=True)
    config = tmp_path / ".aws" / "config"
    config.write_text("[profile a]\n")
    base = _key(tmp_path, {"profile": "a"}, {})
    assert _key(tmp_path, {"profile": "a"}, {}) == base
    assert _key(tmp_path, {"profile": "b"}, {}) != base
    assert _key(tmp_path, {"profile": "a"}, {"AWS_ENDPOINT_URL_STS": "http://x"}) != base
    assert _key(tmp_path, {"profile": "a", "role_arn": "arn"}, {}) != base
    # flags that do not change the answer, and credproc's own variables, leave the key alone
    assert _key(tmp_path, {"profile": "a", "refresh_window": "5", "mfa_token": "123456"}, {}) == base
    assert _key(tmp_path, {"profile": "a"}, {"CREDPROC_PROFILE": "x", "CREDPROC_REFRESH_WINDOW": "1"}) == base
    config.write_text("[profile a]\nregion = eu-west-1\n")
    assert _key(tmp_path, {"profile": "a"}, {}) != base
    (tmp_path / ".aws" / "credentials").write_text("[a]\n")
    assert _key(tmp_path, {"profile": "a"}, {}) != _key(tmp_path, {"profile": "b"}, {})


def test_key_covers_the_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _key(tmp_path, {}, {})
    monkeypatch.setattr(cachekey, "__version__", __version__ + ".dev1")
    assert _key(tmp_path, {}, {}) != before


KEY = "p-test"


def _entry(expires: int = 2_000_000_000, issued: int = 1_999_996_400) -> bytes:
    return cachefile.encode_entry(KEY, b'{"Version":1}\n', expires, issued, [], b'{"profile":"p"}')


def test_entry_round_trips() -> None:
    entry = cachefile.decode_entry(_entry(), KEY)
    assert entry is not None
    assert entry.payload == b'{"Version":1}\n'
    assert entry.meta == b'{"profile":"p"}'


@pytest.mark.parametrize("cut", [1, 5, 20, 40])
def test_any_truncation_or_flip_of_an_entry_is_rejected(cut: int) -> None:
    data = _entry()
    assert cachefile.decode_entry(data[:-cut], KEY) is None
    flipped = bytearray(data)
    flipped[-cut] ^= 0x01
    assert cachefile.decode_entry(bytes(flipped), KEY) is None


def test_window_scales_down_for_short_sessions() -> None:
    hour = cachefile.decode_entry(_entry(10_000, 10_000 - 3600), KEY)
    quarter = cachefile.decode_entry(_entry(10_000, 10_000 - 900), KEY)
    assert hour is not None and quarter is not None
    assert hour.window(1200) == 1200
    assert quarter.window(1200) == pytest.approx(630)  # refreshed after ~4.5 minutes, not every call
    assert quarter.is_fresh(10_000 - 700, 1200)
    assert not quarter.is_fresh(10_000 - 600, 1200)  # never hand out less than botocore's 10 minutes
    twelve = cachefile.decode_entry(_entry(10_000, 10_000 - 720), KEY)  # arrived with 12 minutes left
    assert twelve is not None
    assert twelve.window(1200) == 600  # not 0.7 * 720 = 504: botocore would refuse those
    assert twelve.window(300) == 300  # a window the user chose is theirs


def test_a_changed_dependency_file_invalidates_an_entry(tmp_path: Path) -> None:
    dep = tmp_path / "cert.pem"
    dep.write_text("one")
    data = cachefile.encode_entry(KEY, b"{}\n", 2_000_000_000, 0, [str(dep)], b"")
    entry = cachefile.decode_entry(data, KEY)
    assert entry is not None and entry.deps_unchanged()
    dep.write_text("two, longer")
    assert not entry.deps_unchanged()
    dep.unlink()
    assert not entry.deps_unchanged()


def test_an_entry_readable_by_others_is_ignored(chain: AwsFiles, sts: MotoSTS, tmp_path: Path) -> None:
    run_credproc("credential-process", "--profile", "top")
    entries = list((tmp_path / "cache").glob("p-*.entry"))
    assert len(entries) == 1
    entries[0].chmod(0o644)
    folder = cachedir.open_folder(str(tmp_path / "cache"), os.environ["HOME"])
    assert cachefile.read_entry(folder, entries[0].name[: -len(".entry")]) is None


@pytest.mark.parametrize("debug", [True, False])
def test_a_fast_path_surprise_is_shown_with_credproc_debug_and_the_full_cli_answers(
    aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], debug: bool
) -> None:
    from credproc import entry

    aws_files.write_config(
        "[profile p]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "s" * 40 + "\n"
    )

    def boom(argv: object, environ: object) -> bool:
        raise RuntimeError("fast path bug")

    monkeypatch.setattr(fastpath, "try_hit", boom)
    monkeypatch.setattr(sys, "argv", ["credproc", "credential-process", "--profile", "p"])
    if debug:
        monkeypatch.setenv("CREDPROC_DEBUG", "1")
    else:
        monkeypatch.delenv("CREDPROC_DEBUG", raising=False)
    with pytest.raises(SystemExit) as stop:
        entry.main()
    assert stop.value.code == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["AccessKeyId"] == "AKIAIOSFODNN7EXAMPLE"
    if debug:
        assert "credproc: debug: the fast path failed" in captured.err
        assert "RuntimeError: fast path bug" in captured.err
    else:
        assert captured.err == ""
