"""Another local user against the cache, for real: users made for the test, credproc run as each.

The attack of issue 12: an attacker who owns a non-sticky folder above the victim's cache folder
swaps folders (renameat2 RENAME_EXCHANGE, in a loop) and renames the victim's own entries inside
the folder it swapped in, so that a check of the folder by path and the read after it see two
different folders, and an entry written for one profile sits under another profile's name. Before
the fix this served profile ``slow``'s credentials for profile ``b``; now credproc refuses such a
folder outright, reads only through the handle it checked, and an entry under a wrong name is a
miss. Races are bounded: a fixed number of victim runs, an attacker with a deadline.

Needs root to make the users (tests/support/local_users.py): skipped on a laptop, a failure in CI.
"""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from credproc import cachekey
from tests.support import leaks
from tests.support.local_users import (
    SYSTEM_PYTHON,
    LocalUser,
    local_users,
    require_users,
    shared_folder,
    user_code,
    user_venv,
)

pytestmark = pytest.mark.slow
B_KEY_ID = "ASIABBBBBBBBBBBBBBBB"
SLOW_KEY_ID = "ASIASLOWSLOWSLOWSLOW"
VICTIM_RUNS = 150
CAPTURE_TRIES = 40  # before the fix, ~1 in 8 of these writes landed in the attacker's folder
ATTACK_SECONDS = 300  # the attacker's own deadline, should the test die without stopping it
VICTIM_TIMEOUT = 240

# The victim's credential_process for both profiles (`slow` takes its time): a shell script, so
# that a run costs milliseconds.
HELPER = f"""\
case "$1" in
  b) id={B_KEY_ID} ;;
  slow) id={SLOW_KEY_ID}; sleep 0.2 ;;
esac
printf '{{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"secret-of-%s","SessionToken":"token-of-%s",\
"Expiration":"%s"}}\\n' "$id" "$1" "$1" "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
"""

# Run by the attacker with Debian's python3. It swaps the victim's cache folder with a folder of
# its own (open to the victim, so the victim's writes land there while it is swapped in), and
# whenever the victim's entry for `slow` is in its folder, renames it to `b`'s name.
ATTACKER = """\
import ctypes, json, os, sys, time
shared, key_b, key_slow, seconds, status = sys.argv[1:6]
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
cache = os.path.join(shared, "cache").encode()
evil = os.path.join(shared, "evil").encode()
os.mkdir(evil)
os.chmod(evil, 0o777)
own = os.open(evil, os.O_RDONLY | os.O_DIRECTORY)  # our folder, wherever the swaps put it
deadline = time.monotonic() + float(seconds)
swaps = captured = n = 0
while time.monotonic() < deadline:
    n += 1
    if libc.renameat2(AT_FDCWD, cache, AT_FDCWD, evil, RENAME_EXCHANGE) == 0:
        swaps += 1
    try:
        os.rename(key_slow + ".entry", key_b + ".entry", src_dir_fd=own, dst_dir_fd=own)
    except OSError:
        pass
    else:
        captured += 1
        with open(status, "w") as fh:
            fh.write(str(captured))
    if n % 2000 == 0 and os.path.exists(os.path.join(os.path.dirname(status), "stop")):
        break
print(json.dumps({"swaps": swaps, "captured": captured}))
"""

# Run by the victim: `credproc credential-process --profile P` COUNT times, each a process of its
# own forked from one interpreter that imported credproc once (so a run costs milliseconds, not a
# second of imports), through the real entry point, fast path first; stops early once UNTIL exists.
VICTIM = """\
import json, os, sys
profile, count, until = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# What a credential-process run imports, imported once here (the runs fork from this interpreter).
import credproc.cli, credproc.entry, credproc.commands.credential_process, credproc.resolve
import credproc.sources.process, credproc.aws.client, credproc.cache

def one():
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        sys.argv = ["credproc", "credential-process", "--profile", profile]
        code = 0
        try:
            credproc.entry.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    os.close(out_w)
    os.close(err_w)
    with os.fdopen(out_r) as out, os.fdopen(err_r) as err:
        stdout, stderr = out.read(), err.read()
    return {"code": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), "stdout": stdout, "stderr": stderr}

runs = []
for _ in range(count):
    runs.append(one())
    if until and os.path.exists(until):
        break
sys.stdout.write(json.dumps(runs))
"""


@dataclass
class World:
    base: Path
    victim: LocalUser
    attacker: LocalUser
    python: Path
    code: Path
    home: Path

    def env(self, cache: Path, **extra: str) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "PYTHONPATH": str(self.code),
            "CREDPROC_CACHE_DIR": str(cache),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            **extra,
        }

    def credproc(
        self, user: LocalUser, cache: Path, *args: str, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        done = user.run([str(self.python), "-m", "credproc", *args], self.env(cache, **extra), self.base)
        leaks.runs.append(leaks.Run(tuple(args), done.stdout, done.stderr))
        return done

    def runs(
        self, cache: Path, profile: str, count: int, until: Path | None = None, **extra: str
    ) -> list[subprocess.CompletedProcess[str]]:
        """The victim's ``count`` runs of credential-process for ``profile`` (see VICTIM)."""
        command = [str(self.python), str(self.base / "victim.py"), profile, str(count), str(until or "")]
        done = self.victim.run(command, self.env(cache, **extra), self.base, timeout=VICTIM_TIMEOUT)
        assert done.returncode == 0, done.stderr
        runs = []
        for run in json.loads(done.stdout):
            argv = ("credential-process", "--profile", profile)
            runs.append(subprocess.CompletedProcess(argv, run["code"], run["stdout"], run["stderr"]))
            leaks.runs.append(leaks.Run(argv, run["stdout"], run["stderr"]))
        return runs

    def key(self, profile: str, cache: Path) -> str:
        return cachekey.answer_key({"profile": profile}, self.env(cache))


@pytest.fixture
def world() -> Iterator[World]:
    require_users()
    python = user_venv()
    with local_users(2) as (victim, attacker), shared_folder() as base:
        code = user_code(base, python)
        (base / "helper.sh").write_text(HELPER)
        (base / "attacker.py").write_text(ATTACKER)
        (base / "victim.py").write_text(VICTIM)
        home = victim.folder(base / "victim-home", 0o700)
        aws = victim.folder(home / ".aws", 0o700)
        (aws / "config").write_text(
            textwrap.dedent(f"""\
                [profile b]
                credential_process = /bin/sh {base / "helper.sh"} b

                [profile slow]
                credential_process = /bin/sh {base / "helper.sh"} slow
                """)
        )
        victim.own(aws / "config", 0o600)
        for script in ("helper.sh", "attacker.py", "victim.py"):
            (base / script).chmod(0o644)
        yield World(base, victim, attacker, python, code, home)


def _key_id(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["AccessKeyId"])


def test_a_folder_swapping_attacker_above_the_cache_gets_no_wrong_answer_and_a_clear_refusal(
    world: World,
) -> None:
    shared = world.attacker.folder(world.base / "shared", 0o777)  # a team folder: its owner attacks
    cache = world.victim.folder(shared / "cache", 0o700)
    key_b, key_slow = world.key("b", cache), world.key("slow", cache)
    # The victim used this folder before the attack: both answers cached (where credproc still
    # uses such a folder).
    assert _key_id(world.credproc(world.victim, cache, "credential-process", "--profile", "b")) == B_KEY_ID
    assert (
        _key_id(world.credproc(world.victim, cache, "credential-process", "--profile", "slow")) == SLOW_KEY_ID
    )
    status_dir = world.attacker.folder(world.base / "attacker", 0o755)
    status = status_dir / "captured"
    attacker = world.attacker.start(
        [
            SYSTEM_PYTHON,
            str(world.base / "attacker.py"),
            str(shared),
            key_b,
            key_slow,
            str(ATTACK_SECONDS),
            str(status),
        ],
        {"PATH": "/usr/bin:/bin"},
        world.base,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # The victim refreshes `slow` (a short session) while the folders swap: wherever a write
        # of it lands in the attacker's folder, the attacker gives it `b`'s name.
        refreshed = world.runs(cache, "slow", CAPTURE_TRIES, until=status, CREDPROC_REFRESH_WINDOW="86400")
        assert {_key_id(done) for done in refreshed} == {SLOW_KEY_ID}
        runs = world.runs(cache, "b", VICTIM_RUNS)
    finally:
        (status_dir / "stop").touch()
        try:
            out, err = attacker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            attacker.send_signal(signal.SIGKILL)
            out, err = attacker.communicate()
    assert attacker.returncode == 0, err
    report = json.loads(out)
    assert report["swaps"] > 0, report  # the attack ran: the test could have caught a wrong answer
    answers = [json.loads(done.stdout)["AccessKeyId"] if done.returncode == 0 else None for done in runs]
    wrong = answers.count(SLOW_KEY_ID)
    assert wrong == 0, f"{wrong} of {VICTIM_RUNS} answers for b were slow's (attacker: {report})"
    assert report["captured"] == 0, (
        f"the victim wrote {report['captured']} entries into the attacker's folder"
    )
    assert answers == [B_KEY_ID] * VICTIM_RUNS
    refusal = f"warning: cache folder {cache} is not used: {shared} above it belongs to another user"
    assert all(refusal in done.stderr for done in runs), runs[0].stderr


@pytest.mark.parametrize(
    ("owner", "mode", "why"),
    [
        ("attacker", 0o755, "belongs to another user"),
        ("attacker", 0o1777, "belongs to another user"),  # its owner may rename anything in it
        ("root", 0o777, "is writable by other users"),
        ("root", 0o1777, None),  # /tmp's shape: fine
    ],
    ids=["other-0755", "other-1777", "root-0777", "root-1777"],
)
def test_a_folder_above_the_cache_is_trusted_only_if_root_or_the_user_owns_it(
    world: World, owner: str, mode: int, why: str | None
) -> None:
    above = world.base / "above"
    above.mkdir()
    if owner == "attacker":
        world.attacker.own(above, mode)
    else:
        above.chmod(mode)
    cache = world.victim.folder(above / "cache", 0o700)
    runs = [world.credproc(world.victim, cache, "credential-process", "--profile", "b") for _ in range(2)]
    assert [_key_id(done) for done in runs] == [B_KEY_ID, B_KEY_ID]
    if why is None:
        assert [done.stderr for done in runs] == ["", ""]
        assert list(cache.glob("p-*.entry"))
    else:
        assert all(
            f"cache folder {cache} is not used: {above} above it {why}" in done.stderr for done in runs
        )
        assert list(cache.iterdir()) == []


@pytest.mark.parametrize("shared_group", [False, True], ids=["private-group", "group-with-another-user"])
def test_a_group_writable_folder_above_the_cache_is_trusted_only_for_a_private_group(
    world: World, shared_group: bool
) -> None:
    above = world.victim.folder(world.home / "umask-002", 0o775)  # what a umask of 002 makes
    cache = world.victim.folder(above / "cache", 0o700)
    if shared_group:
        added = subprocess.run(
            ["usermod", "-a", "-G", world.victim.name, world.attacker.name], capture_output=True, text=True
        )
        assert added.returncode == 0, added.stderr
    runs = [world.credproc(world.victim, cache, "credential-process", "--profile", "b") for _ in range(2)]
    assert [_key_id(done) for done in runs] == [B_KEY_ID, B_KEY_ID]
    if shared_group:
        assert all(f"is not used: {above} above it is writable by other users" in d.stderr for d in runs)
        assert list(cache.iterdir()) == []
    else:
        assert [done.stderr for done in runs] == ["", ""]
        assert list(cache.glob("p-*.entry"))


def test_a_symlink_another_user_made_to_the_cache_folder_is_refused(world: World) -> None:
    sticky = world.base / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    real = world.victim.folder(world.home / "cache", 0o700)
    theirs = sticky / "their-link"
    made = world.attacker.run(["ln", "-s", str(real), str(theirs)], {"PATH": "/usr/bin:/bin"}, world.base)
    assert made.returncode == 0, made.stderr
    done = world.credproc(world.victim, theirs, "credential-process", "--profile", "b")
    assert _key_id(done) == B_KEY_ID
    assert f"cache folder {theirs} is not used: it is a symlink made by another user" in done.stderr
    assert list(real.iterdir()) == []
    mine = sticky / "my-link"
    made = world.victim.run(["ln", "-s", str(real), str(mine)], {"PATH": "/usr/bin:/bin"}, world.base)
    assert made.returncode == 0, made.stderr
    ok = [world.credproc(world.victim, mine, "credential-process", "--profile", "b") for _ in range(2)]
    assert [_key_id(done) for done in ok] == [B_KEY_ID, B_KEY_ID]
    assert [done.stderr for done in ok] == ["", ""]
    assert list(real.glob("p-*.entry"))


def test_a_cache_folder_another_user_made_in_a_shared_place_is_not_used(world: World) -> None:
    sticky = world.base / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    squatted = world.attacker.folder(sticky / "credproc-victim", 0o755)
    done = world.credproc(world.victim, squatted, "credential-process", "--profile", "b")
    assert _key_id(done) == B_KEY_ID
    assert f"cache folder {squatted} is not used: it is not yours" in done.stderr


def test_the_user_venv_runs_this_checkouts_code(world: World) -> None:
    probe = world.victim.run(
        [str(world.python), "-c", "import credproc.cachedir, sys; print(credproc.cachedir.__file__)"],
        world.env(world.home / "cache"),
        world.base,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == str(world.code / "credproc" / "cachedir.py")
