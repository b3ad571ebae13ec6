"""Optional encryption of the disk cache at rest, with a key held in the OS keyring.

Off by default; on with ``CREDPROC_CACHE_ENCRYPTION=keyring`` (also 1/true/yes/on). When on, each
entry's payload (the credential JSON) is sealed with AES-256-GCM under a random 256-bit key stored
in the keyring as ``cache-key`` (service ``credproc``); the entry's own cache key is the associated
data, so a sealed payload cannot be moved to another entry. Headers and the ``cache list`` metadata
stay readable: they hold no secret.

Cost: the plain hit path stays stdlib-only and only learns to step aside for a sealed payload.
A sealed hit is served here instead, which must import ``keyring`` and ``cryptography`` and ask
the keyring for the key (the README section on the keyring has the measured numbers). Anything wrong
(no key, a wrong key, a damaged entry) is a miss: the slow path refreshes, never a wrong answer.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Mapping, Sequence

from credproc import cachefile, fastpath

ENV = "CREDPROC_CACHE_ENCRYPTION"
KEY_USERNAME = "cache-key"
NONCE_BYTES = 12
ON = frozenset({"1", "true", "yes", "on", "keyring"})


def enabled(environ: Mapping[str, str]) -> bool:
    return environ.get(ENV, "").strip().lower() in ON


def _key(create: bool) -> bytes | None:
    from credproc import keystore

    raw = keystore.get_secret(KEY_USERNAME)
    if raw is None and create:
        keystore.set_secret(KEY_USERNAME, base64.b64encode(os.urandom(32)).decode())
        raw = keystore.get_secret(KEY_USERNAME)  # re-read: a concurrent creator may have won
    if raw is None:
        return None
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        return None
    return key if len(key) == 32 else None


def seal(cache_key: str, payload: bytes) -> bytes:
    """The sealed form of ``payload`` for the entry named ``cache_key`` (creates the key once)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from credproc.errors import ConfigError

    key = _key(create=True)
    if key is None:
        raise ConfigError(
            f"the cache key in the keyring is damaged; {ENV} cannot seal the cache",
            "remove it: `credproc cache clear` then delete the keyring entry credproc/cache-key",
        )
    nonce = os.urandom(NONCE_BYTES)
    return cachefile.SEALED + nonce + AESGCM(key).encrypt(nonce, payload, cache_key.encode())


def unseal(cache_key: str, payload: bytes) -> bytes | None:
    """The plaintext of a sealed payload, or None when it cannot be opened (treated as a miss)."""
    if not payload.startswith(cachefile.SEALED):
        return None
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from credproc.errors import CredprocError

    try:
        key = _key(create=False)
    except CredprocError:
        return None
    body = payload[len(cachefile.SEALED) :]
    if key is None or len(body) <= NONCE_BYTES:
        return None
    try:
        return AESGCM(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], cache_key.encode())
    except InvalidTag:
        return None


def try_hit(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """The hit path for a sealed entry: as ``fastpath.try_hit``, plus the keyring and AES-GCM."""
    found = fastpath.lookup(argv, environ)
    if found is None:
        return False
    cache_key, entry = found
    plain = unseal(cache_key, entry.payload)
    if plain is None:
        return False
    out = sys.stdout.buffer
    out.write(plain)
    out.flush()
    return True
