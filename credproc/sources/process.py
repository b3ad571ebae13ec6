"""Another ``credential_process`` as a source, run without a shell, with a loop guard.

A command that runs credproc itself for a profile is recognised and resolved in this process
instead (no fork, and loops are seen directly). Any other command gets ``CREDPROC_RESOLVING`` in
its environment, so a credproc it starts further down can still see the loop.
"""

from __future__ import annotations

import json
import ntpath
import os
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from credproc.credentials import Credentials, from_process_dict
from credproc.errors import ConfigError, NeedsHumanError, UpstreamError
from credproc.platform import is_windows
from credproc.sources.base import Context, SourceDefaults

GUARD_VAR = "CREDPROC_RESOLVING"
GUARD_SEP = "\x1f"
TIMEOUT_SECONDS = 55  # under the Go SDK's 60 s limit for the whole credential_process


def split_command(command: str, windows: bool | None = None) -> list[str]:
    windows = is_windows() if windows is None else windows
    try:
        parts = shlex.split(command, posix=not windows)
    except ValueError as exc:
        raise ConfigError(f"cannot parse credential_process {command!r}: {exc}") from None
    # posix=False keeps a token's double quotes; Windows (and botocore there) drops them.
    return [p[1:-1] if windows and len(p) > 1 and p[0] == p[-1] == '"' else p for p in parts]


def credproc_target(argv: list[str], environ: Mapping[str, str]) -> str | None:
    """The profile a command asks credproc for, or None when it is not ``credproc credential-process``
    with nothing but a profile (and flags that do not change the answer)."""
    if not argv:
        return None
    prog = (ntpath if is_windows() else os.path).basename(argv[0]).lower()
    rest: list[str]
    if prog in ("credproc", "credproc.exe"):
        rest = argv[1:]
    elif prog.startswith("python") and argv[1:3] == ["-m", "credproc"]:
        rest = argv[3:]
    else:
        return None
    if not rest or rest[0] != "credential-process":
        return None
    from credproc import cachekey, fastpath
    from credproc.profiles import selected_profile

    options = fastpath.parse_args(rest[1:])
    if options is None or set(options) - {"profile"} - cachekey.NON_ANSWER:
        return None
    return selected_profile(options.get("profile"), environ)


def guard_stack(environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = environ.get(GUARD_VAR, "")
    return tuple(p for p in raw.split(GUARD_SEP) if p)


@dataclass(frozen=True)
class ProcessSource(SourceDefaults):
    profile: str
    command: str
    path: tuple[str, ...] = ()  # the profiles resolved above and including this one
    kind = "credential-process"

    @property
    def identity(self) -> str:
        return f"process\0{self.profile}\0{self.command}"

    def fetch(self, ctx: Context) -> Credentials:
        argv = split_command(self.command)
        env = dict(ctx.environ)
        # Everything being resolved, so a credproc started below sees the loop before it locks.
        env[GUARD_VAR] = GUARD_SEP.join((*ctx.stack, *(self.path or (self.profile,))))
        what = f"credential_process of profile {self.profile!r}"
        try:
            done = subprocess.run(
                argv, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                timeout=TIMEOUT_SECONDS, check=False,
            )
        except FileNotFoundError:
            raise ConfigError(f"{what}: command not found: {argv[0]}") from None
        except PermissionError:
            raise ConfigError(f"{what}: not executable: {argv[0]}") from None
        except subprocess.TimeoutExpired:
            raise UpstreamError(f"{what} did not answer within {TIMEOUT_SECONDS}s") from None
        if done.returncode == NeedsHumanError.exit_code:
            raise NeedsHumanError(f"{what} needs a person to act (exit 4)")
        if done.returncode == ConfigError.exit_code:
            raise ConfigError(f"{what} failed with exit code 1 (bad input, see above)")
        if done.returncode != 0:
            raise UpstreamError(f"{what} failed with exit code {done.returncode}")
        try:
            data = json.loads(done.stdout)
        except ValueError:
            raise UpstreamError(f"{what} printed something that is not JSON") from None
        return from_process_dict(data, what)

    def describe(self) -> list[str]:
        return [f"run credential_process: {self.command}"]
