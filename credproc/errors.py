"""The one error hierarchy. Each class carries its exit code (the README's "Exit codes" table).

Core code raises these; exactly one place (credproc.cli.run) turns them into a message on
stderr and a process exit status. Messages never contain secrets: callers pass ARNs, profile
names and paths, never key material.
"""

from __future__ import annotations


class CredprocError(Exception):
    """A failure the user can act on. ``hint`` is an optional second line saying what to do."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(CredprocError):
    """Bad input: config, profile, file, key, certificate, flag value."""

    exit_code = 1


class UsageError(CredprocError):
    """Command-line usage error."""

    exit_code = 2


class UpstreamError(CredprocError):
    """AWS refused the request, or could not be reached after bounded retries."""

    exit_code = 3


class NeedsHumanError(CredprocError):
    """A person must act (SSO login, MFA code) and this run may not ask."""

    exit_code = 4


class LaunchError(CredprocError):
    """`exec` failed before or while launching the child (125, 126 not executable, 127 not found)."""

    def __init__(self, message: str, exit_code: int = 125, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code


class Interrupted(CredprocError):
    exit_code = 130


class InternalError(CredprocError):
    """A bug: an exception nobody expected. Its own code (sysexits' EX_SOFTWARE), never 1 (bad input),
    so a script can tell "fix your config" from "report this"."""

    exit_code = 70
