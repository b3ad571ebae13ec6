"""``configure PROFILE`` judged by botocore itself: every profile of the files is resolved by a
botocore Session before and after the edit; only the edited profile's answer may change, it must
then come from credproc (botocore's process provider running the written line), and its keys and
session token must be the ones botocore gave before wherever credproc resolves the same source."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import BotoCoreError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credproc.commands import configure as configure_cmd
from tests.conftest import AwsFiles, run_credproc

CREDPROC = [sys.executable, "-m", "credproc"]
Answer = tuple[str, ...]


def botocore_session(config: Path, credentials: Path | None = None) -> botocore.session.Session:
    """A botocore Session reading these files. Without the built-in handlers: they are ~600 event
    registrations for making API requests (most of a Session's cost, and of the generated test's),
    and nothing in loading the files or resolving credentials emits an event."""
    session = botocore.session.Session(include_builtin_handlers=False)
    session.set_config_variable("config_file", str(config))
    if credentials is not None:
        session.set_config_variable("credentials_file", str(credentials))
    return session


def botocore_answer(files: AwsFiles, profile: str) -> Answer:
    """What ``aws --profile PROFILE`` gets: its provider's method and the keys, or the refusal."""
    session = botocore_session(files.config, files.credentials)
    session.set_config_variable("profile", profile)
    try:
        creds = session.get_credentials()
    except BotoCoreError as exc:
        return ("refused", type(exc).__name__)
    if creds is None:
        return ("none",)
    if creds.method == "assume-role":  # deferred: its AssumeRole is made on first use, not here
        return (creds.method,)
    frozen = creds.get_frozen_credentials()
    return (creds.method, frozen.access_key, frozen.secret_key, frozen.token or "")


def profile_names(files: AwsFiles) -> list[str]:
    session = botocore_session(files.config, files.credentials)
    try:
        return sorted(session.available_profiles)
    except BotoCoreError:
        return []


def answers(files: AwsFiles, names: list[str]) -> dict[str, Answer]:
    return {name: botocore_answer(files, name) for name in names}


def configure_in_process(profile: str) -> str:
    """configure's own plan and write (the CLI around them is tested in test_configure.py); the
    line runs this worktree's credproc, so botocore's process provider really runs it. Returns
    the warnings, one per line."""
    planned = configure_cmd.plan(dict(os.environ), profile, {}, command=CREDPROC)
    configure_cmd.write(planned)
    return "\n".join(planned.warnings)


TOKEN_FILES = [
    # (config, credentials): the edited profile "dev" keeps its keys and token through credproc
    (
        "[profile dev]\naws_access_key_id = AKIACONFIGDEV0000000\naws_secret_access_key = s-c\n"
        "aws_session_token = tok-session\n",
        "",
    ),
    (
        "[profile dev]\naws_access_key_id = AKIACONFIGDEV0000000\naws_secret_access_key = s-c\n"
        "aws_security_token = tok-security\naws_session_token = tok-session\n",
        "",
    ),
    (
        "[profile dev]\nregion = eu-west-1\n",
        "[dev]\naws_access_key_id = AKIACREDSDEV00000000\naws_secret_access_key = s-k\naws_security_token = t\n",
    ),
    (
        '[profile "my profile"]\naws_access_key_id = AKIACONFIGMY00000000\naws_secret_access_key = s-m\n'
        "aws_session_token = tok-my\n",
        "",
    ),
]


@pytest.mark.parametrize(("config", "credentials"), TOKEN_FILES)
def test_only_the_edited_profile_changes_and_it_keeps_its_keys_and_token(
    aws_files: AwsFiles, config: str, credentials: str
) -> None:
    others = (
        "\n[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = s-d\n"
        "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = missing\n"
        '[profile "other one"]\naws_access_key_id = AKIAOTHER00000000000\naws_secret_access_key = s-o\n'
        "aws_security_token = tok-o\n"
    )
    aws_files.config.write_text(config + others)
    aws_files.credentials.write_text(credentials)
    profile = "my profile" if "my profile" in config else "dev"
    names = profile_names(aws_files)
    before = answers(aws_files, names)
    warnings = configure_in_process(profile)
    after = answers(aws_files, names)
    for name in names:
        if name != profile:
            assert after[name] == before[name], name
    if credentials:  # botocore takes credentials-file keys first: the line is never run, and said so
        assert after[profile] == before[profile]
        assert "shared-credentials-file provider" in warnings
        return
    assert warnings == ""  # botocore does run a line beside config-file keys
    assert after[profile][0] == "custom-process"
    assert after[profile][1:] == before[profile][1:], "the keys or the session token changed"


def test_a_profile_with_a_space_in_its_name_is_edited_in_place(aws_files: AwsFiles) -> None:
    aws_files.config.write_text('[profile "my profile"]\nregion = eu-west-1\n')
    done = run_credproc("configure", "my profile", "--credproc-path", "/opt/credproc")
    assert done.returncode == 0, done.stderr
    assert aws_files.config.read_text() == (
        '[profile "my profile"]\nregion = eu-west-1\n'
        "credential_process = /opt/credproc credential-process --profile 'my profile'\n"
    )


@pytest.mark.parametrize("name", ["new profile", "it's", 'say "hi"', "a]b", " lead"])
def test_a_new_awkward_name_is_written_so_botocore_reads_it_back(aws_files: AwsFiles, name: str) -> None:
    done = run_credproc("configure", name, "--credproc-path", "/opt/credproc")
    assert done.returncode == 0, done.stderr
    assert profile_names(aws_files) == [name]
    session = botocore_session(aws_files.config)
    config = session.full_config["profiles"][name]
    assert config["credential_process"].endswith(" --profile " + configure_cmd.quote_posix([name]))


# ---- generated files: configure never changes another profile's answer ----------------------

NAMES = ["default", "a", "b", "my profile"]
KEY_IDS = {"default": "AKIADEF", "a": "AKIAA", "b": "AKIAB", "my profile": "AKIAMY"}


def _header(name: str, in_config: bool) -> str:
    if not in_config:
        return f"[{name}]"
    if name == "default":
        return "[default]"
    return f'[profile "{name}"]' if " " in name else f"[profile {name}]"


def _spellings(name: str) -> list[str]:
    """Headers botocore reads as profile ``name`` in the config file."""
    if name == "default":
        return ["[default]", "[profile default]", '[profile "default"]']
    quoted = [f'[profile "{name}"]', f"[profile  '{name}']"]
    return quoted if " " in name else [f"[profile {name}]", f"[profile   {name}]", *quoted]


@st.composite
def files(draw: st.DrawFn) -> tuple[str, str, str]:
    config: list[str] = []
    credentials: list[str] = []
    # A name may get two sections (spelt alike: botocore refuses the file; spelt apart: the later wins).
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6)):
        for in_config, out in ((True, config), (False, credentials)):
            if not draw(st.booleans()):
                continue
            lines = []
            tag = ("C" if in_config else "K") + KEY_IDS[name][4:]
            if draw(st.booleans()):
                lines.append(f"aws_access_key_id = AKIA{tag}".ljust(40))
            if draw(st.booleans()):
                lines.append(f"aws_secret_access_key = s-{tag}")
            for token in draw(st.sets(st.sampled_from(["aws_session_token", "aws_security_token"]))):
                lines.append(f"{token} = {token}-{tag}")
            if in_config and draw(st.booleans()):
                other = draw(st.sampled_from(NAMES))
                lines.append("role_arn = arn:aws:iam::123456789012:role/r")
                lines.append(f"source_profile = {other}")
            if in_config and draw(st.booleans()):
                lines.append("region = eu-west-1")
            header = draw(st.sampled_from(_spellings(name))) if in_config else _header(name, False)
            out.append(header + "\n" + "".join(line.rstrip() + "\n" for line in lines))
    return "\n".join(config), "\n".join(credentials), draw(st.sampled_from(NAMES))


def files_parse(files: AwsFiles) -> bool:
    session = botocore_session(files.config, files.credentials)
    try:
        session.full_config  # noqa: B018 - parsing both files is the point
    except BotoCoreError:
        return False
    return True


def reaching(files: AwsFiles, profile: str) -> set[str]:
    """The profiles whose source_profile chain passes through ``profile`` (as botocore reads them)."""
    session = botocore_session(files.config)
    try:
        sources = {n: p.get("source_profile") for n, p in session.full_config["profiles"].items()}
    except BotoCoreError:
        return set()
    found: set[str] = set()
    for name in sources:
        seen, here = set(), name
        while here in sources and here not in seen:
            seen.add(here)
            here = sources[here]
            if here == profile:
                found.add(name)
                break
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=files())
# Two sections botocore reads as one profile, the later winning: the edit must land in that one.
@example(world=("[profile a]\nregion = x\n\n[profile   a]\n", "", "a"))
@example(world=("[profile default]\nregion = x\n[default]\naws_access_key_id = AKIAD\n", "", "default"))
def test_configure_never_changes_another_profiles_answer(
    aws_files: AwsFiles, world: tuple[str, str, str]
) -> None:
    config, credentials, profile = world
    aws_files.config.write_text(config)
    aws_files.credentials.write_text(credentials)
    names = sorted(set(profile_names(aws_files)) | {profile})
    # A profile that uses the edited one as its source may see it through credproc now; botocore
    # signs with the same keys then only if credproc gives them, which running it would show. The
    # others must not change at all, and they are resolved without running any process.
    uses_it = reaching(aws_files, profile)
    readable = files_parse(aws_files)
    before = answers(aws_files, [n for n in names if n != profile and n not in uses_it])
    configure_in_process(profile)
    assert answers(aws_files, list(before)) == before
    if readable:  # the edited profile exists now, and botocore reads the written line in it
        session = botocore_session(aws_files.config)
        written = session.full_config["profiles"][profile]["credential_process"]
        assert written == configure_cmd.credential_process_line(CREDPROC, profile, windows=False)


def _process_script(folder: Path, key_id: str) -> str:
    script = folder / f"{key_id}.py"
    body = {"Version": 1, "AccessKeyId": key_id, "SecretAccessKey": "s-p", "SessionToken": "tok-p"}
    script.write_text(f"import json\nprint(json.dumps({body!r}))\n")
    return configure_cmd.quote_posix([sys.executable, str(script)])


def test_replacing_a_command_that_is_not_credproc_says_the_answer_changes(
    aws_files: AwsFiles, tmp_path: Path
) -> None:
    line = _process_script(tmp_path, "AKIAPROCESS000000000")
    aws_files.config.write_text(
        f"[profile dev]\ncredential_process = {line}\n"
        "aws_access_key_id = AKIACONFIGDEV0000000\naws_secret_access_key = s-c\naws_session_token = t\n"
    )
    before = botocore_answer(aws_files, "dev")
    assert before == ("custom-process", "AKIAPROCESS000000000", "s-p", "tok-p")  # botocore runs it
    warnings = configure_in_process("dev")
    assert warnings.startswith("profile 'dev' had a credential_process line that is not credproc")
    assert "never run" not in warnings  # the old false claim
    assert line not in warnings
    assert botocore_answer(aws_files, "dev") == ("custom-process", "AKIACONFIGDEV0000000", "s-c", "t")


def test_a_credential_process_in_the_credentials_file_overrides_the_written_line(
    aws_files: AwsFiles, tmp_path: Path
) -> None:
    line = _process_script(tmp_path, "AKIACREDSPROCESS0000")
    aws_files.credentials.write_text(f"[dev]\ncredential_process = {line}\n")
    aws_files.config.write_text("[profile dev]\nregion = eu-west-1\n")
    before = botocore_answer(aws_files, "dev")
    warnings = configure_in_process("dev")
    assert "credentials file overrides this one" in warnings
    assert botocore_answer(aws_files, "dev") == before
