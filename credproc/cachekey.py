"""The cache keys: where an answer lives. The fast paths and the full CLI call these same functions.

Stdlib only (``_blake2`` is builtin; ``import hashlib`` costs ~2.5 ms on every hit). Keys are hashed,
so no secret and no ARN is recoverable from a file name.
"""

from __future__ import annotations

from _blake2 import blake2b

from credproc import __version__, paths, smallfile
from credproc.flags import CREDENTIAL_PROCESS

TYPE_CHECKING = False  # see credproc/flags.py: no typing import on the hit path
if TYPE_CHECKING:
    from collections.abc import Mapping

ANSWER_PREFIX = "p-"
EXEC_PREFIX = "x-"
HOP_PREFIX = "h-"
# The destinations of credential-process flags that never change the answer (the flag table says).
NON_ANSWER = frozenset(f.dest for f in CREDENTIAL_PROCESS if not f.answer)


def _relevant_env(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    # Every AWS_* variable may change an answer (endpoints, regions, credential_source =
    # Environment); over-including only costs a miss. CREDPROC_* variables never do: they set the
    # cache folder, the refresh window, the loop guard or the shell prompt's profile name.
    return sorted((k, v) for k, v in environ.items() if k.startswith("AWS_"))


def _read_or_marker(path: str) -> bytes:
    try:
        return smallfile.read(path, smallfile.CONFIG_LIMIT)
    except smallfile.NotASmallFile:  # a FIFO must not hang the hit path; the slow path refuses it
        return b"\0unreadable"
    except OSError:
        return b"\0missing"


def _digest(options: Mapping[str, str], environ: Mapping[str, str]) -> str:
    h = blake2b(digest_size=20, person=b"credproc-key")
    parts: list[bytes] = [__version__.encode()]
    for name in sorted(options):
        if name not in NON_ANSWER:
            parts.append(f"opt:{name}={options[name]}".encode())
    for name, value in _relevant_env(environ):
        parts.append(f"env:{name}={value}".encode("utf-8", "surrogateescape"))
    parts.append(_read_or_marker(paths.aws_config_file(environ)))
    parts.append(_read_or_marker(paths.aws_credentials_file(environ)))
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def answer_key(options: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """The key of a credential-process answer (``options``: flags.parse's reading): changes whenever
    the answer could. It covers credproc's version, the answer-changing flags, every AWS_* variable
    and the full contents of the config and credentials files."""
    return ANSWER_PREFIX + _digest(options, environ)


def exec_key(profile: str, region: str | None, environ: Mapping[str, str]) -> str:
    """The key of exec's answer: built like the answer key, from the profile (already chosen by the
    profile-name rule) and ``--region``."""
    options = {"profile": profile, **({"region": region} if region else {})}
    return EXEC_PREFIX + _digest(options, environ)


def hop_key(identity: str) -> str:
    """The key of one hop of a chain, from the hop's identity string (hashed: ARNs stay private)."""
    material = f"{__version__}\0{identity}".encode()
    return HOP_PREFIX + blake2b(material, digest_size=20, person=b"credproc-hop").hexdigest()
