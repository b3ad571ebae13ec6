"""What a ``configure PROFILE`` edit does for botocore, judged by credproc's own resolution.

``configure`` warns from here only, and each warning is a question put to ``resolve`` (whose
``chain`` follows botocore's provider order), never a list of keys kept beside it:

- does botocore run the profile's new ``credential_process`` line? The edited config is built
  once more with that line swapped for one that is not credproc; if the process provider then
  wins, botocore runs the line. Otherwise the winner (or the refusal) comes first for botocore too.
- does credproc find a source behind the line? The line calls credproc for the profile itself, so
  credproc skips it; the providers after it (credproc's own ones included) must give one before
  the keyring, which is the last place credproc looks and cannot be judged without reading it.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping

from credproc import config as config_mod
from credproc import resolve
from credproc.cache import NoCache
from credproc.config import AwsConfig
from credproc.errors import ConfigError
from credproc.sources.base import Context
from credproc.sources.process import credproc_target, guard_stack, split_command
from credproc.terminal import Terminal

# A credential_process line that is not credproc (see botocore_skips_the_line).
PROBE_COMMAND = "credproc-configure-probe"


def edited_config(environ: Mapping[str, str], config_text: str, display_path: str) -> AwsConfig:
    """The files as botocore will read them once ``config_text`` is written (parsed by botocore's
    own parser, through a private temporary copy)."""
    with tempfile.TemporaryDirectory(prefix="credproc-configure-") as folder:
        path = os.path.join(folder, "config")
        # The copy may hold keys: 0600 in mkdtemp's 0700 folder, removed on the way out.
        with open(
            os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8", newline=""
        ) as fh:
            fh.write(config_text)
        loaded = config_mod.load({**environ, "AWS_CONFIG_FILE": path})
    return dataclasses.replace(loaded, config_file=display_path)


def _context(environ: Mapping[str, str], cfg: AwsConfig) -> Context:
    return Context(
        environ=environ,
        config=cfg,
        cache=NoCache(),
        terminal=Terminal(),
        warn=lambda message: None,
        stack=guard_stack(environ),
    )


def botocore_skips_the_line(environ: Mapping[str, str], cfg: AwsConfig, name: str) -> str | None:
    """Why botocore would not run profile ``name``'s credential_process line (None: it runs it)."""
    if "credential_process" in cfg.credentials_profiles.get(name, {}):
        # botocore lays the credentials file's lines over the config file's (Session.full_config)
        return (
            "its credential_process line in the credentials file overrides this one for the AWS CLI "
            "and SDKs, so this line never runs"
        )
    ctx = _context(environ, cfg.with_credential_process(name, PROBE_COMMAND))
    try:
        source = resolve.build_source(ctx, name)
    except ConfigError as exc:
        return f"the AWS CLI and SDKs refuse it before they get to its credential_process: {exc.message}"
    if source.kind == "credential-process" and source.profile == name:
        return None
    method = source.botocore_method() or source.kind
    return (
        f"the AWS CLI and SDKs resolve it with botocore's {method} provider, which comes before "
        "credential_process, and never run this line"
    )


def no_source_behind_the_line(environ: Mapping[str, str], cfg: AwsConfig, name: str) -> str | None:
    """The warning when credproc, run by the line for profile ``name`` itself, finds no source in
    the files or refuses the profile (None: it finds one)."""
    ctx = _context(environ, cfg)
    record = config_mod.read_profile(cfg, name)
    for provider in resolve.chain():
        if provider is resolve.keyring_provider:
            return (
                f"profile {name!r} has no source of credentials besides this line: credproc will look "
                f"for keys in the keyring (`credproc keys add {name}`), or add a source with --set"
            )
        try:
            if provider(ctx, record, (name,)) is not None:
                return None
        except ConfigError as exc:
            return f"credproc, run by this line, will refuse profile {name!r}: {exc.message}"
    return None  # (chain always ends with the keyring)


def replaced_command(environ: Mapping[str, str], before: AwsConfig, name: str) -> str | None:
    """The warning when the edit replaces a credential_process line of profile ``name`` that is
    not credproc: botocore ran that command, credproc will not (the command is not repeated: it
    may hold a secret)."""
    command = config_mod.get_str(before.config_profiles.get(name, {}), "credential_process")
    if not command:
        return None
    try:
        target = credproc_target(split_command(command), environ)
    except ConfigError:
        target = None
    if target is not None:
        return None
    return (
        f"profile {name!r} had a credential_process line that is not credproc; it is replaced, and "
        "credproc does not run that command, so the profile's credentials change (to keep them, put "
        "that line in another profile and use --resolve OTHER)"
    )
