"""credproc.config_edit: one section changes, every other byte of a messy real-world file stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore import configloader

from credproc import config_edit
from credproc.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "configs"


def _read(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")


def _parse(text: str, tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "parsed.config"
    path.write_bytes(text.encode("utf-8"))
    return dict(configloader.load_config(str(path)))


def _block_bounds(text: str, header: str) -> tuple[int, int]:
    """Offsets of the last ``header`` line and of the next section header (found without credproc)."""
    starts, offset = [], 0
    lines = text.split("\n")
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    index = max(i for i, line in enumerate(lines) if line.rstrip("\r") == header)
    stop = next(
        (starts[j] for j in range(index + 1, len(lines)) if lines[j].strip().startswith("[")), len(text)
    )
    return starts[index], stop


def assert_only_block_changed(before: str, after: str, header: str) -> str:
    start, stop = _block_bounds(before, header)
    tail = len(before) - stop
    assert after[:start] == before[:start], "bytes before the edited block changed"
    assert after[len(after) - tail :] == before[stop:], "bytes after the edited block changed"
    middle = after[start : len(after) - tail]
    assert middle.split("\n")[0].rstrip("\r") == header, "the block's header changed"
    return middle


EDITS = [
    # fixture, profile, header as written in the file, updates, removals
    (
        "windows-crlf.config",
        "dev",
        "[profile dev]",
        {"region": "us-west-2", "credential_process": "/usr/bin/credproc credential-process --profile dev"},
        [],
    ),
    ("windows-crlf.config", "default", "[default]", {"output": "yaml"}, []),
    (
        "comments-and-odd-spacing.config",
        "dev",
        "[profile   dev]",
        {"mfa_serial": "arn:aws:iam::1:mfa/j"},
        ["region"],
    ),
    (
        "comments-and-odd-spacing.config",
        "ops",
        "[profile ops]  ; inline text after a header",
        {"region": "eu-north-1", "credential_process": "'/opt/credproc' credential-process --profile ops"},
        [],
    ),
    ("comments-and-odd-spacing.config", "default", "[default]", {"cli_pager": "less"}, ["output"]),
    (
        "sso-sessions-and-services.config",
        "corp-admin",
        "[profile corp-admin]",
        {"region": "eu-west-1"},
        ["s3"],
    ),
    ("sso-sessions-and-services.config", "ci", "[profile ci]", {"role_session_name": "ci-run"}, []),
    ("duplicate-looking-sections.config", "dev", "[profile  dev]", {"region": "eu-west-3"}, []),
    ("duplicate-looking-sections.config", "default", "[default]", {"region": "us-east-2"}, []),
    ("no-final-newline.config", "dev", "[profile dev]", {"output": "json"}, []),
    ("no-final-newline.config", "dev", "[profile dev]", {"region": "ap-south-1"}, []),
    ("unicode-and-tabs.config", "données", "[profile données]", {"region": "eu-south-1"}, []),
    ("unicode-and-tabs.config", "dev", "[profile dev]", {"duration_seconds": "7200"}, ["source_profile"]),
]


@pytest.mark.parametrize(
    ("fixture", "profile", "header", "updates", "removals"),
    EDITS,
    ids=[f"{e[0]}:{e[1]}:{'+'.join(e[3])}" for e in EDITS],
)
def test_editing_a_profile_changes_only_its_block(
    tmp_path: Path, fixture: str, profile: str, header: str, updates: dict[str, str], removals: list[str]
) -> None:
    before = _read(fixture)
    edit = config_edit.set_profile(before, profile, updates, removals)
    assert not edit.created
    assert_only_block_changed(before, edit.after, header)

    old, new = _parse(before, tmp_path), _parse(edit.after, tmp_path)
    expected = dict(old["profiles"][profile])  # type: ignore[index]
    for key in removals:
        expected.pop(key, None)
    expected.update(updates)
    assert new["profiles"][profile] == expected  # type: ignore[index]
    for section in ("profiles", "sso_sessions", "services"):
        others_old = {k: v for k, v in old[section].items() if k != profile}  # type: ignore[attr-defined]
        others_new = {k: v for k, v in new[section].items() if k != profile}  # type: ignore[attr-defined]
        assert others_new == others_old


@pytest.mark.parametrize(
    ("fixture", "profile", "header", "updates", "removals"), EDITS, ids=[f"{e[0]}:{e[1]}" for e in EDITS]
)
def test_the_same_edit_twice_changes_nothing_the_second_time(
    fixture: str, profile: str, header: str, updates: dict[str, str], removals: list[str]
) -> None:
    once = config_edit.set_profile(_read(fixture), profile, updates, removals).after
    again = config_edit.set_profile(once, profile, updates, removals)
    assert again.after == once
    assert not again.changed


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.config")))
def test_a_new_profile_is_appended_and_the_file_before_it_kept(tmp_path: Path, fixture: str) -> None:
    before = _read(fixture)
    edit = config_edit.set_profile(before, "added-by-credproc", {"region": "us-east-1", "output": "json"})
    assert edit.created
    kept = before if before.endswith("\n") else before + ("\r\n" if "\r\n" in before else "\n")
    assert edit.after.startswith(kept)
    new_part = edit.after[len(kept) :]
    nl = "\r\n" if "\r\n" in before else "\n"
    assert new_part == f"{nl}[profile added-by-credproc]{nl}region = us-east-1{nl}output = json{nl}"
    assert _parse(edit.after, tmp_path)["profiles"]["added-by-credproc"] == {  # type: ignore[index]
        "region": "us-east-1",
        "output": "json",
    }


def test_crlf_files_get_crlf_lines_only() -> None:
    before = _read("windows-crlf.config")
    after = config_edit.set_profile(before, "dev", {"output": "text", "region": "x"}).after
    assert after.count("\n") == after.count("\r\n")


def test_a_key_keeps_its_own_spelling_and_delimiter_when_its_value_changes() -> None:
    before = _read("comments-and-odd-spacing.config")
    after = config_edit.set_profile(before, "ops", {"region": "eu-north-1"}).after
    assert "REGION = eu-north-1\n" in after
    after = config_edit.set_profile(before, "default", {"output": "text"}).after
    assert "output:text\n" in after
    after = config_edit.set_profile(before, "default", {"cli_pager": "less"}).after
    assert "cli_pager = less\n" in after
    after = config_edit.set_profile(before, "dev", {"region": "x"}).after
    assert "region    =    x\n" in after


def test_new_keys_go_before_the_comment_that_describes_the_next_section() -> None:
    before = _read("comments-and-odd-spacing.config")
    after = config_edit.set_profile(before, "dev", {"output": "json"}).after
    assert "part of the value\noutput = json\n# trailing comment" in after


def test_an_empty_file_gets_a_block_without_a_leading_blank_line() -> None:
    edit = config_edit.set_profile("", "default", {"region": "us-east-1"})
    assert edit.after == "[default]\nregion = us-east-1\n"


def test_the_default_profile_is_written_as_default_not_profile_default() -> None:
    assert config_edit.set_profile("", "default", {"a": "b"}).after.startswith("[default]\n")
    assert config_edit.set_profile("", "dev", {"a": "b"}).after.startswith("[profile dev]\n")


def test_removing_a_key_that_is_not_there_changes_nothing() -> None:
    before = _read("windows-crlf.config")
    assert not config_edit.set_profile(before, "dev", {}, ["nonexistent"]).changed
    assert not config_edit.set_profile(before, "nobody", {}, ["region"]).changed


@pytest.mark.parametrize("name", ["", "a\nb", "a\rb"])
def test_profile_names_that_would_not_read_back_are_refused(name: str) -> None:
    with pytest.raises(ConfigError):
        config_edit.set_profile("", name, {"region": "x"})


@pytest.mark.parametrize(
    "name", ["a b", "x]y", "[x]", "quo'te", 'dq"', "both'\"", "semi;colon", "#hash", " lead", "back\\slash"]
)
def test_every_name_botocore_accepts_is_written_so_botocore_reads_it_back(name: str, tmp_path: Path) -> None:
    before = "[profile other]\nregion = y\n"
    edit = config_edit.set_profile(before, name, {"region": "x"})
    profiles = _parse(edit.after, tmp_path)["profiles"]
    assert isinstance(profiles, dict)
    assert profiles == {"other": {"region": "y"}, name: {"region": "x"}}
    again = config_edit.set_profile(edit.after, name, {"region": "z"})  # found again, edited in place
    assert again.after == edit.after.replace("region = x", "region = z")


@pytest.mark.parametrize(
    ("key", "value"), [("re gion", "x"), ("a=b", "x"), ("region", "two\nlines"), ("region", " padded ")]
)
def test_keys_and_values_that_would_not_read_back_are_refused(key: str, value: str) -> None:
    with pytest.raises(ConfigError):
        config_edit.set_profile("", "dev", {key: value})


def test_a_profile_section_is_found_as_botocore_finds_it() -> None:
    assert config_edit.profile_of("profile   dev") == "dev"
    assert config_edit.profile_of('profile "with space"') == "with space"
    assert config_edit.profile_of("default") == "default"
    assert config_edit.profile_of("dev") is None
    assert config_edit.profile_of("sso-session corp") is None
    assert config_edit.profile_of("profile a b") is None
    assert config_edit.profile_of('profile "unterminated') is None
