"""What the SSO code needs from its surroundings, injected: env, clock, TLS choice, and where
messages for a person go (the terminal for a credential_process, stderr for `credproc login`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


def _quiet(text: str) -> None:
    pass


@dataclass(frozen=True)
class Runtime:
    environ: Mapping[str, str]
    clock: Callable[[], float] = time.time
    verify_ssl: bool = True
    say: Callable[[str], None] = _quiet  # one line for a person: URL, code, progress
    warn: Callable[[str], None] = _quiet
    tick: Callable[[str], None] = _quiet  # called ~10 times a second while waiting (a spinner)
    sleep: Callable[[float], None] = field(default=time.sleep)

    def client(self, service: str, region: str, endpoint: str | None) -> object:
        from credproc import aws

        return aws.client(
            service,
            region=region,
            endpoint=endpoint,
            creds=None,
            environ=self.environ,
            verify_ssl=self.verify_ssl,
        )
