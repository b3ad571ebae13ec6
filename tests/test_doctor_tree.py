"""``credproc doctor`` draws a profile's resolution as a tree, and ``doctor --json`` gives the same.

The tree comes from the resolution code itself (credproc.hoptree over resolve.build_source), so
these tests plant real files, real cache entries (made by real runs against moto and the SSO
emulator) and real certificates, and read the report a person would.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from credproc import hoptree, keystore, resolve
from credproc.cache import Cache
from credproc.commands import doctor
from credproc.credentials import format_expiration
from tests.conftest import BASE_KEY_ID, BASE_SECRET, AwsFiles
from tests.support.keyrings import MemoryKeyring
from tests.support.moto_sts import MotoSTS
from tests.support.ra_emulator import PROFILE_ARN, ROLE_ARN, TRUST_ANCHOR_ARN
from tests.support.ra_world import RaPki
from tests.support.runner import run_in_process
from tests.support.sso_emulator import (  # noqa: F401 - fixtures
    SsoEmulator,
    sso_fixture,
    sso_server_fixture,
    token_file,
    write_token,
)

NOW = 1_800_000_000.0
PASSWORD = "hunter2-in-argv"


def _report(profile: str, clock: float = NOW) -> doctor.Report:
    world = doctor.World(environ=dict(os.environ), platform=sys.platform, clock=lambda: clock, offline=True)
    return doctor.run(world, profile)


def _tree(report: doctor.Report) -> str:
    """The tree block of the text report: the lines between its heading and the summary."""
    lines = doctor.render(report).splitlines()
    return "\n".join(lines[lines.index("resolution tree:") + 1 : -1])


def _expect(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _json(profile: str) -> tuple[int, dict[str, Any]]:
    done = run_in_process("doctor", "--profile", profile, "--offline", "--json")
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def _hop_entry(profile: str) -> int:
    """The expiry of the cached hop of ``profile`` (written by a real run)."""
    cache = Cache(os.environ["CREDPROC_CACHE_DIR"])
    [expires] = [i.expires for i in cache.items() if i.meta.kind == "hop" and i.meta.profile == profile]
    return expires


def _until(expires: int) -> str:
    return format_expiration(datetime.fromtimestamp(expires, tz=timezone.utc))


# ---- static keys ----------------------------------------------------------------------------

STATIC = f"""\
    [profile dev]
    region = eu-west-1
    aws_access_key_id = {BASE_KEY_ID}
    aws_secret_access_key = {BASE_SECRET}
"""


def test_a_static_profile_is_one_hop_naming_its_file(aws_files: AwsFiles) -> None:
    aws_files.write_config(STATIC)
    report = _report("dev")
    assert _tree(report) == _expect(
        f"""
        profile 'dev'
        └─ static keys AKIA… from the config file  [static, profile 'dev']
              file: {aws_files.config}
              cache: never (long-term keys are not written to disk)
        """
    )
    text = doctor.render(report)
    assert BASE_SECRET not in text and BASE_KEY_ID not in text
    assert (
        "       aws cli            the AWS CLI resolves profile 'dev' itself (botocore's config-file provider, not credproc)"
        in text
    )


def test_keys_in_the_credentials_file_are_named_there(aws_files: AwsFiles) -> None:
    aws_files.write_config("[profile dev]\nregion = eu-west-1\n")
    aws_files.write_credentials(
        f"[dev]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = {BASE_SECRET}\n"
    )
    report = _report("dev")
    assert f"file: {aws_files.credentials}" in _tree(report)
    assert report.tree is not None and report.tree.aws_cli == hoptree.AwsCli("shared-credentials-file", False)


# ---- a chain of three hops, the middle one cached --------------------------------------------


def test_a_three_hop_chain_shows_the_cached_middle_hop_with_its_minutes_left(
    chain: AwsFiles, sts: MotoSTS
) -> None:
    done = run_in_process("credential-process", "--profile", "middle")
    assert done.returncode == 0, done.stderr
    expires = _hop_entry("middle")
    # 3599.7 s left: the prompt helper, counting from the whole second as `date +%s` does, shows
    # 60m; doctor must say 60 too (issue 15: one rounding rule, credentials.minutes_left).
    report = _report("top", clock=expires - 3599.7)
    assert _tree(report) == _expect(
        f"""
        profile 'top'
        └─ assume arn:aws:iam::222222222222:role/top  [assume-role, profile 'top']
           │  region: eu-west-1
           │  role_session_name: top
           │  endpoint: {sts.url}
           │  cache: nothing cached
           └─ assume arn:aws:iam::111111111111:role/middle  [assume-role, profile 'middle']
              │  region: us-east-1
              │  role_session_name: mid
              │  endpoint: {sts.url}
              │  cache: cached until {_until(expires)}, 60 min left
              └─ static keys AKIA… from the credentials file  [static, profile 'base']
                    file: {chain.credentials}
                    cache: never (long-term keys are not written to disk)
        """
    )
    assert report.healthy
    assert sts.calls["AssumeRole"] == 1  # the one real run; doctor asked nothing


def test_a_hop_inside_the_refresh_window_says_the_next_use_refreshes_it(
    chain: AwsFiles, sts: MotoSTS
) -> None:
    assert run_in_process("credential-process", "--profile", "middle").returncode == 0
    expires = _hop_entry("middle")
    tree = _tree(_report("top", clock=expires - 600))
    assert f"cache: cached until {_until(expires)}, 10 min left; the next use refreshes it" in tree


def test_the_chain_as_json(chain: AwsFiles, sts: MotoSTS) -> None:
    assert run_in_process("credential-process", "--profile", "middle").returncode == 0
    code, data = _json("top")
    assert code == 0
    assert set(data) == {
        "version",
        "profile",
        "healthy",
        "problems",
        "aws_cli",
        "first_failure",
        "tree",
        "findings",
    }
    assert (data["version"], data["profile"], data["healthy"], data["problems"]) == (1, "top", True, 0)
    assert data["aws_cli"] == {"provider": "assume-role", "through_credproc": False, "stops_at": None}
    assert data["first_failure"] is None
    top = data["tree"]
    assert isinstance(top, dict)
    [middle] = top["parents"]
    [base] = middle["parents"]
    for hop in (top, middle, base):
        assert set(hop) == {"profile", "kind", "label", "details", "cache", "sso_token", "error", "parents"}
        assert hop["sso_token"] is None and hop["error"] is None
    assert [h["profile"] for h in (top, middle, base)] == ["top", "middle", "base"]
    assert [h["kind"] for h in (top, middle, base)] == ["assume-role", "assume-role", "static"]
    assert middle["details"] == {
        "role_arn": "arn:aws:iam::111111111111:role/middle",
        "region": "us-east-1",
        "role_session_name": "mid",
        "endpoint": sts.url,
    }
    assert base["details"] == {"key": "AKIA…", "from": "credentials file", "file": str(chain.credentials)}
    assert set(middle["cache"]) == {"state", "expires", "minutes_left", "fresh"}
    assert middle["cache"]["state"] == "cached" and middle["cache"]["fresh"] is True
    assert middle["cache"]["expires"] == _until(_hop_entry("middle"))
    assert 55 <= middle["cache"]["minutes_left"] <= 60  # moto's sessions last an hour; a real clock here
    assert top["cache"] == {"state": "none", "expires": None, "minutes_left": None, "fresh": False}
    assert base["cache"] == {"state": "never", "expires": None, "minutes_left": None, "fresh": False}
    assert all(set(f) == {"level", "topic", "text", "hint"} for f in data["findings"])
    assert BASE_SECRET not in json.dumps(data)


# ---- where a chain breaks ---------------------------------------------------------------------

BROKEN = """\
    [profile top]
    role_arn = arn:aws:iam::222222222222:role/top
    source_profile = middle

    [profile middle]
    role_arn = arn:aws:iam::111111111111:role/middle
    source_profile = ghost
"""


def test_a_missing_source_profile_as_json(aws_files: AwsFiles) -> None:
    aws_files.write_config(BROKEN)
    done = run_in_process("doctor", "--profile", "top", "--offline", "--json")
    assert done.returncode == 1
    assert done.stderr == (
        'credproc: error: doctor found 1 problem\ncredproc: hint: see the findings of level "problem"\n'
    )
    data = json.loads(done.stdout)
    assert data["healthy"] is False and data["problems"] == 1
    assert data["first_failure"] == {
        "profile": "ghost",
        "label": "profile 'ghost'",
        "message": f"source_profile 'ghost' of profile 'middle' is not in {aws_files.config}",
        "hint": "profiles: middle, top",
    }
    ghost = data["tree"]["parents"][0]["parents"][0]
    assert ghost["kind"] is None and ghost["cache"] is None and ghost["parents"] == []
    assert data["tree"]["cache"] is None


def test_a_hop_that_is_itself_wrong_is_where_the_chain_fails(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        f"""\
        [profile top]
        role_arn = arn:aws:iam::222222222222:role/top
        source_profile = middle

        [profile middle]
        role_arn = not-an-arn
        source_profile = base

        [profile base]
        aws_access_key_id = {BASE_KEY_ID}
        aws_secret_access_key = {BASE_SECRET}
        """
    )
    tree = _report("top").tree
    assert tree is not None
    failing = tree.root.failing()
    assert failing is not None and failing.profile == "middle" and failing.kind is None
    assert failing.error is not None and failing.error.message.startswith(
        "role_arn of profile 'middle' is not"
    )
    assert tree.root.kind == "assume-role" and tree.root.error is None


LOOP = """\
    [profile a]
    role_arn = arn:aws:iam::222222222222:role/a
    source_profile = b

    [profile b]
    role_arn = arn:aws:iam::222222222222:role/b
    source_profile = a
"""


# The text tree of a chain that breaks: the hops down to the break are drawn, the break says why.
BREAKS = [
    pytest.param(
        BROKEN,
        "top",
        """\
        profile 'top'
        └─ assume arn:aws:iam::222222222222:role/top  [assume-role, profile 'top']
           │  region: us-east-1
           │  cache: unknown (the hops it is built on do not resolve)
           └─ assume arn:aws:iam::111111111111:role/middle  [assume-role, profile 'middle']
              │  region: us-east-1
              │  cache: unknown (the hops it is built on do not resolve)
              └─ profile 'ghost'
                    FAIL: source_profile 'ghost' of profile 'middle' is not in {config}
                      → profiles: middle, top
        """,
        id="a-missing-source-profile-fails-at-the-hop-that-names-it",
    ),
    pytest.param(
        LOOP,
        "a",
        """\
        profile 'a'
        └─ assume arn:aws:iam::222222222222:role/a  [assume-role, profile 'a']
           │  region: us-east-1
           │  cache: unknown (the hops it is built on do not resolve)
           └─ assume arn:aws:iam::222222222222:role/b  [assume-role, profile 'b']
              │  region: us-east-1
              │  cache: unknown (the hops it is built on do not resolve)
              └─ profile 'a'
                    FAIL: profile loop: a → b → a
                      → break the cycle of source_profile/credential_process
        """,
        id="a-loop-is-marked-where-it-closes",
    ),
]


@pytest.mark.parametrize(("config", "profile", "expected"), BREAKS)
def test_a_broken_chain_is_drawn_down_to_where_it_breaks(
    aws_files: AwsFiles, config: str, profile: str, expected: str
) -> None:
    aws_files.write_config(config)
    report = _report(profile)
    assert _tree(report) == _expect(expected.format(config=aws_files.config))
    assert not report.healthy  # the resolution finding fails


def test_a_loop_as_json(aws_files: AwsFiles) -> None:
    aws_files.write_config(LOOP)
    code, data = _json("a")
    assert code == 1
    assert data["first_failure"] == {
        "profile": "a",
        "label": "profile 'a'",
        "message": "profile loop: a → b → a",
        "hint": "break the cycle of source_profile/credential_process",
    }
    assert [data["tree"]["profile"], data["tree"]["parents"][0]["profile"]] == ["a", "b"]


def test_a_loop_through_credproc_lines_is_marked_too(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        f"[profile a]\ncredential_process = {sys.executable} -m credproc credential-process --profile b\n"
        f"[profile b]\ncredential_process = {sys.executable} -m credproc credential-process -p a\n"
    )
    tree = _report("a").tree
    assert tree is not None
    failing = tree.root.failing()
    assert failing is not None and failing.error is not None
    assert failing.error.message == "profile loop: a → b → a"


# ---- IAM Identity Center ----------------------------------------------------------------------


def test_an_sso_profile_without_a_token_fails_at_its_hop(sso: SsoEmulator, hermetic_env: Path) -> None:
    report = _report("chained")
    path = token_file(hermetic_env, "corp")
    assert _tree(report) == _expect(
        f"""
        profile 'chained'
        └─ assume arn:aws:iam::444444444444:role/deploy  [assume-role, profile 'chained']
           │  region: us-east-1
           │  role_session_name: deploy
           │  cache: nothing cached
           └─ IAM Identity Center role Admin in 111111111111 via sso-session corp  [sso, profile 'dev']
                 sso_start_url: https://corp.awsapps.com/start
                 sso_region: us-east-1
                 cache: nothing cached
                 sso token: missing
                 FAIL: no SSO token for sso-session 'corp' ({path})
                   → run `credproc login --profile dev`
        """
    )
    assert (
        "aws cli            the AWS CLI resolves profile 'chained' itself (botocore's assume-role"
        in doctor.render(report)
    )


def test_an_sso_profile_with_a_token_shows_its_minutes_and_cached_role(
    sso: SsoEmulator, hermetic_env: Path, sts: MotoSTS
) -> None:
    token = write_token(hermetic_env, sso.emulator, expires_in=3 * 3600)
    assert run_in_process("credential-process", "--profile", "dev").returncode == 0
    expires = _hop_entry("dev")
    clock = expires - 1800
    token_expires = int(
        datetime.strptime(token["expiresAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    )
    tree = _tree(_report("dev", clock=clock))
    assert tree == _expect(
        f"""
        profile 'dev'
        └─ IAM Identity Center role Admin in 111111111111 via sso-session corp  [sso, profile 'dev']
              sso_start_url: https://corp.awsapps.com/start
              sso_region: us-east-1
              cache: cached until {_until(expires)}, 30 min left
              sso token: valid, {(token_expires - int(clock)) // 60} min left
        """
    )
    assert token["accessToken"] not in tree


def test_the_sso_profile_as_json(sso: SsoEmulator, hermetic_env: Path) -> None:
    code, data = _json("dev")
    assert code == 1
    hop = data["tree"]
    assert isinstance(hop, dict)
    path = str(token_file(hermetic_env, "corp"))
    assert hop["sso_token"] == {"state": "missing", "path": path, "minutes_left": None}
    assert hop["details"] == {
        "sso_session": "corp",
        "sso_start_url": "https://corp.awsapps.com/start",
        "sso_region": "us-east-1",
        "sso_account_id": "111111111111",
        "sso_role_name": "Admin",
    }
    assert hop["error"] == {
        "message": f"no SSO token for sso-session 'corp' ({path})",
        "hint": "run `credproc login --profile dev`",
    }
    assert data["aws_cli"] == {"provider": "sso", "through_credproc": False, "stops_at": None}
    write_token(hermetic_env, sso.emulator, expires_in=3600)
    code, data = _json("dev")
    assert code == 0
    assert data["tree"]["sso_token"]["state"] == "valid" and data["tree"]["error"] is None
    assert 58 <= data["tree"]["sso_token"]["minutes_left"] <= 60


# ---- Roles Anywhere ---------------------------------------------------------------------------


def _ra_block(ra: RaPki, extra: str = "") -> tuple[str, str, str]:
    files = ra.identity(password=None)
    assert files.private_key is not None
    block = (
        "[profile ra]\n"
        f"rolesanywhere_trust_anchor_arn = {TRUST_ANCHOR_ARN}\n"
        f"rolesanywhere_profile_arn = {PROFILE_ARN}\n"
        f"rolesanywhere_role_arn = {ROLE_ARN}\n"
        f"rolesanywhere_certificate = {files.certificate}\n"
        f"rolesanywhere_private_key = {files.private_key}\n" + extra
    )
    return block, str(files.certificate), str(files.private_key)


def test_a_roles_anywhere_profile_names_its_certificate(aws_files: AwsFiles, ra_offline: RaPki) -> None:
    block, certificate, key = _ra_block(ra_offline)
    aws_files.write_config(block)
    report = _report("ra")
    assert _tree(report) == _expect(
        f"""
        profile 'ra'
        └─ Roles Anywhere {ROLE_ARN} with certificate {certificate}  [rolesanywhere, profile 'ra']
              trust_anchor_arn: {TRUST_ANCHOR_ARN}
              profile_arn: {PROFILE_ARN}
              region: us-east-1
              private_key: {key}
              cache: nothing cached
        """
    )
    # botocore ignores rolesanywhere_* keys: without a credproc line the AWS CLI finds nothing here.
    assert report.tree is not None and report.tree.aws_cli == hoptree.AwsCli(None, False)
    assert (
        "       aws cli            the AWS CLI finds no credentials in profile 'ra': only credproc reads its source"
        in doctor.render(report)
    )


def test_a_roles_anywhere_profile_with_its_credproc_line_goes_through_credproc(
    aws_files: AwsFiles, ra_offline: RaPki
) -> None:
    line = f"credential_process = {sys.executable} -m credproc credential-process --profile ra\n"
    block, _, _ = _ra_block(ra_offline, line)
    aws_files.write_config(block)
    code, data = _json("ra")
    assert code == 0, data
    assert data["aws_cli"] == {"provider": "custom-process", "through_credproc": True, "stops_at": None}
    assert data["tree"]["kind"] == "rolesanywhere"


def test_a_pin_in_a_pkcs11_uri_is_shown_nowhere(aws_files: AwsFiles) -> None:
    uri = "pkcs11:token=dev;object=id?pin-value=4711"
    aws_files.write_config(
        "[profile ra]\n"
        f"rolesanywhere_trust_anchor_arn = {TRUST_ANCHOR_ARN}\n"
        f"rolesanywhere_profile_arn = {PROFILE_ARN}\n"
        f"rolesanywhere_role_arn = {ROLE_ARN}\n"
        f"rolesanywhere_certificate = {uri}\n"
        "rolesanywhere_pkcs11_lib = /usr/lib/softhsm/libsofthsm2.so\n"
    )
    report = _report("ra")
    assert f"Roles Anywhere {ROLE_ARN} with certificate pkcs11:token=dev;object=id  [rolesanywhere" in _tree(
        report
    )
    code, data = _json("ra")
    assert code == 0
    assert "4711" not in doctor.render(report) + json.dumps(data)


def test_a_missing_private_key_is_where_roles_anywhere_fails(aws_files: AwsFiles, ra_offline: RaPki) -> None:
    block, _, key = _ra_block(ra_offline)
    aws_files.write_config(block)
    os.unlink(key)
    tree = _report("ra").tree
    assert tree is not None and tree.root.error is not None
    assert tree.root.error.message == f"{key} does not exist"


# ---- credential_process -----------------------------------------------------------------------


def _helper(tmp_path: Path) -> Path:
    answer = json.dumps({"Version": 1, "AccessKeyId": "AKIAHELPER", "SecretAccessKey": "helper-secret"})
    helper = tmp_path / "helper"
    helper.write_text(f"#!{sys.executable}\nprint({answer!r})\n")
    helper.chmod(0o755)
    return helper


def test_a_credential_process_is_named_by_its_program_only(aws_files: AwsFiles, tmp_path: Path) -> None:
    helper = _helper(tmp_path)
    aws_files.write_config(f"[profile p]\ncredential_process = {helper} --user me --password {PASSWORD}\n")
    report = _report("p")
    assert _tree(report) == _expect(
        """
        profile 'p'
        └─ run credential_process: helper …  [credential-process, profile 'p']
              cache: nothing cached
        """
    )
    assert PASSWORD not in doctor.render(report)
    code, data = _json("p")
    assert code == 0
    assert PASSWORD not in json.dumps(data)
    assert data["tree"]["details"] == {"program": "helper"}
    assert data["aws_cli"] == {"provider": "custom-process", "through_credproc": False, "stops_at": None}


def test_a_credential_process_whose_program_is_gone_fails_at_its_hop(aws_files: AwsFiles) -> None:
    aws_files.write_config(f"[profile p]\ncredential_process = /opt/gone/helper --password {PASSWORD}\n")
    tree = _report("p").tree
    assert tree is not None and tree.root.error is not None
    assert (
        tree.root.error.message
        == "the credential_process of profile 'p' runs '/opt/gone/helper', which does not exist"
    )


def test_a_credproc_line_for_another_profile_is_followed_and_goes_through_credproc(
    aws_files: AwsFiles,
) -> None:
    aws_files.write_config(
        STATIC
        + f"\n[profile w]\ncredential_process = {sys.executable} -m credproc credential-process --profile dev\n"
    )
    tree = _report("w").tree
    assert tree is not None
    assert (tree.root.profile, tree.root.kind) == ("dev", "static")
    assert tree.aws_cli == hoptree.AwsCli("custom-process", True)


def test_a_credproc_line_with_its_own_flags_goes_through_credproc(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        f"[profile f]\ncredential_process = {sys.executable} -m credproc credential-process "
        f"--certificate /c.pem --private-key /k.pem --trust-anchor-arn {TRUST_ANCHOR_ARN} "
        f"--profile-arn {PROFILE_ARN} --role-arn {ROLE_ARN}\n"
    )
    tree = _report("f").tree
    assert tree is not None and tree.root.kind == "credential-process"
    assert tree.aws_cli == hoptree.AwsCli("custom-process", True)


# ---- keys in the keyring ---------------------------------------------------------------------

ON_KEYRING = """\
    [profile base]
    region = eu-west-1

    [profile top]
    role_arn = arn:aws:iam::222222222222:role/top
    source_profile = base
"""


def test_a_chain_on_keyring_keys_says_where_the_aws_cli_finds_nothing(
    aws_files: AwsFiles, memory: MemoryKeyring
) -> None:
    keystore.store(keystore.KEYS, "base", keystore.AccessKeys(BASE_KEY_ID, BASE_SECRET).to_json())
    aws_files.write_config(ON_KEYRING)
    report = _report("top")
    assert _tree(report) == _expect(
        """
        profile 'top'
        └─ assume arn:aws:iam::222222222222:role/top  [assume-role, profile 'top']
           │  region: us-east-1
           │  cache: nothing cached
           └─ static keys AKIA… from the OS keyring  [keyring, profile 'base']
                 cache: never (long-term keys are not written to disk)
        """
    )
    assert report.tree is not None
    assert report.tree.aws_cli == hoptree.AwsCli("assume-role", False, stops_at="base")
    text = doctor.render(report)
    assert "but finds no credentials in profile 'base': only credproc reads its source" in text
    assert BASE_SECRET not in text


def test_a_chain_on_keyring_keys_with_their_credproc_line_is_whole_for_the_aws_cli(
    aws_files: AwsFiles, memory: MemoryKeyring
) -> None:
    keystore.store(keystore.KEYS, "base", keystore.AccessKeys(BASE_KEY_ID, BASE_SECRET).to_json())
    aws_files.config.write_text(
        textwrap.dedent(ON_KEYRING).replace(
            "region = eu-west-1\n",
            f"region = eu-west-1\ncredential_process = {sys.executable} -m credproc credential-process --profile base\n",
        )
    )
    tree = _report("top").tree
    assert tree is not None and tree.root.parents[0].kind == "keyring"
    assert tree.aws_cli == hoptree.AwsCli("assume-role", False, stops_at=None)


def test_an_mfa_session_on_keyring_keys_is_its_own_hop(aws_files: AwsFiles, memory: MemoryKeyring) -> None:
    keystore.store(keystore.KEYS, "base", keystore.AccessKeys(BASE_KEY_ID, BASE_SECRET).to_json())
    aws_files.write_config(ON_KEYRING + "    mfa_serial = arn:aws:iam::111111111111:mfa/me\n")
    tree = _report("top").tree
    assert tree is not None
    [session] = tree.root.parents
    assert (session.kind, session.profile, dict(session.details)) == (
        "mfa-session",
        "base",
        {"mfa_serial": "arn:aws:iam::111111111111:mfa/me", "duration_seconds": "3600"},
    )
    assert [p.kind for p in session.parents] == ["keyring"]


# ---- the AWS CLI's provider, checked against botocore itself -----------------------------------


SSO_PROFILE = (
    "[profile s]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Admin\n"
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
)
ROLE_ON_DEV = "[profile r]\nrole_arn = arn:aws:iam::222222222222:role/r\nsource_profile = dev\n"
KEYS_IN_CREDENTIALS = f"[dev]\naws_access_key_id = {BASE_KEY_ID}\naws_secret_access_key = {BASE_SECRET}\n"


@pytest.mark.parametrize(
    ("profile", "config", "credentials"),
    [
        ("dev", textwrap.dedent(STATIC), ""),
        ("dev", "[profile dev]\nregion = eu-west-1\n", KEYS_IN_CREDENTIALS),
        ("r", textwrap.dedent(STATIC) + ROLE_ON_DEV, ""),
        ("p", "[profile p]\ncredential_process = HELPER --password x\n", ""),
        ("s", SSO_PROFILE, ""),
        ("k", "[profile k]\nregion = eu-west-1\n", ""),
        ("dev", textwrap.dedent(STATIC) + "credential_process = HELPER\n", ""),
    ],
    ids=[
        "config-file",
        "credentials-file",
        "assume-role",
        "process",
        "sso",
        "nothing",
        "process-before-config-keys",
    ],
)
def test_the_named_provider_is_the_one_botocore_uses(
    aws_files: AwsFiles, tmp_path: Path, profile: str, config: str, credentials: str
) -> None:
    import botocore.session

    aws_files.config.write_text(config.replace("HELPER", str(_helper(tmp_path))))
    aws_files.credentials.write_text(credentials)
    found = botocore.session.Session(profile=profile).get_credentials()
    tree = _report(profile).tree
    assert tree is not None and tree.aws_cli is not None
    assert tree.aws_cli.provider == (found.method if found is not None else None)


# ---- --offline asks nobody ----------------------------------------------------------------------


class _Counting:
    """A loopback server that counts every request it gets, whatever its path or method."""

    def __init__(self) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                outer.requests += 1
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def counting() -> Iterator[_Counting]:
    server = _Counting()
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_offline_makes_no_network_call(aws_files: AwsFiles, counting: _Counting, ra_offline: RaPki) -> None:
    block, _, _ = _ra_block(ra_offline)
    aws_files.write_config(textwrap.dedent(STATIC) + ROLE_ON_DEV + SSO_PROFILE + block)
    env = dict(os.environ)
    for name in ("", "_STS", "_SSO", "_SSO_OIDC", "_ROLESANYWHERE"):
        env[f"AWS_ENDPOINT_URL{name}"] = counting.url
    for profile in ("r", "s", "ra"):
        for form in ((), ("--json",)):
            done = run_in_process("doctor", "--profile", profile, "--offline", *form, env=env)
            assert "Traceback" not in done.stderr
    assert counting.requests == 0
    run_in_process("doctor", "--profile", "r", env=env)  # without --offline: the clock, and only that
    assert counting.requests == 1


# ---- the tree follows resolve.chain -------------------------------------------------------------


def _reordered(first: str, then: str) -> tuple[resolve.Provider, ...]:
    """resolve.chain() with provider ``then`` moved to just before ``first``: the kind of change
    that mirroring botocore's order makes."""
    order = [p for p in resolve.chain() if p.__name__ != then]
    at = [p.__name__ for p in order].index(first)
    return (*order[:at], getattr(resolve, then), *order[at:])


BOTH = f"""\
    [profile base]
    role_arn = arn:aws:iam::111111111111:role/base
    source_profile = keys
    aws_access_key_id = {BASE_KEY_ID}
    aws_secret_access_key = {BASE_SECRET}

    [profile keys]
    aws_access_key_id = {BASE_KEY_ID}
    aws_secret_access_key = {BASE_SECRET}
"""


def test_the_tree_follows_a_change_of_the_provider_order(
    aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_files.write_config(BOTH)
    tree = _report("base").tree
    assert tree is not None and [tree.root.kind, tree.root.parents[0].kind] == ["assume-role", "static"]
    reordered = _reordered("assume_role_provider", "config_file_keys_provider")
    monkeypatch.setattr(resolve, "chain", lambda: reordered)
    tree = _report("base").tree
    assert tree is not None and (tree.root.kind, tree.root.parents) == ("static", ())
    assert tree.aws_cli == hoptree.AwsCli("config-file", False)


def test_the_aws_cli_provider_follows_where_the_process_provider_stands(
    aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys in the config file and a credproc line for the profile itself: botocore runs the line
    (its process provider comes before config-file keys); credproc, called so, skips the line and
    answers with the keys. Which one the AWS CLI uses is read off resolve.chain's order."""
    aws_files.write_config(
        textwrap.dedent(STATIC)
        + f"credential_process = {sys.executable} -m credproc credential-process --profile dev\n"
    )
    tree = _report("dev").tree
    assert tree is not None and tree.root.kind == "static"  # credproc, called so, answers with the keys
    assert tree.aws_cli == hoptree.AwsCli("custom-process", True)  # botocore's order: process first
    reordered = _reordered("process_provider", "config_file_keys_provider")
    monkeypatch.setattr(resolve, "chain", lambda: reordered)
    tree = _report("dev").tree
    assert tree is not None and tree.root.kind == "static"
    assert tree.aws_cli == hoptree.AwsCli("config-file", False)


# ---- the other states a hop can be in ----------------------------------------------------------


def test_an_expired_hop_and_an_unusable_cache_folder_are_told_apart(chain: AwsFiles, sts: MotoSTS) -> None:
    assert run_in_process("credential-process", "--profile", "middle").returncode == 0
    expires = _hop_entry("middle")
    assert f"cache: expired at {_until(expires)}" in _tree(_report("top", clock=expires + 60))
    Path(os.environ["CREDPROC_CACHE_DIR"]).chmod(0o777)
    tree = _tree(_report("top", clock=expires - 1800))
    assert "cache: unknown (credproc does not use the cache folder, see above)" in tree
    assert "cached until" not in tree


def test_an_sso_token_that_expired_is_told_from_one_that_refreshes(
    sso: SsoEmulator, hermetic_env: Path
) -> None:
    write_token(hermetic_env, sso.emulator, expires_in=-600)
    tree = _tree(_report("dev", clock=sso.emulator.clock()))
    assert "sso token: expired 10 min ago" in tree
    assert "FAIL: SSO token for sso-session 'corp' expired 10 min ago" in tree
    write_token(hermetic_env, sso.emulator, expires_in=-600, refreshable=True)
    tree = _tree(_report("dev", clock=sso.emulator.clock()))
    assert "sso token: expired, refreshable without a browser" in tree
    assert "FAIL" not in tree


def test_a_web_identity_token_file_that_is_missing_fails_at_its_hop(
    aws_files: AwsFiles, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    aws_files.write_config(
        f"[profile w]\nrole_arn = arn:aws:iam::222222222222:role/w\nweb_identity_token_file = {token}\n"
    )
    tree = _report("w").tree
    assert tree is not None and tree.root.kind == "web-identity" and tree.root.error is not None
    assert tree.root.error.message == f"cannot read web_identity_token_file {token}"
    assert tree.aws_cli == hoptree.AwsCli("assume-role-with-web-identity", False)
    token.write_text("eyJ.a.b")
    tree = _report("w").tree
    assert tree is not None and tree.root.error is None


def test_hops_sound_alone_but_not_together_fail_at_the_upper_one(
    aws_files: AwsFiles, memory: MemoryKeyring
) -> None:
    """The MFA session over keyring keys reads the keys' profile: a bad duration there breaks the
    role above, while the keys' profile alone resolves."""
    keystore.store(keystore.KEYS, "base", keystore.AccessKeys(BASE_KEY_ID, BASE_SECRET).to_json())
    aws_files.write_config(
        ON_KEYRING.replace("region = eu-west-1", "region = eu-west-1\n    mfa_session_duration = soon")
        + "    mfa_serial = arn:aws:iam::111111111111:mfa/me\n"
    )
    tree = _report("top").tree
    assert tree is not None
    failing = tree.root.failing()
    assert failing is tree.root and failing.kind == "assume-role" and failing.error is not None
    assert "mfa_session_duration of profile 'base'" in failing.error.message
    assert [p.kind for p in tree.root.parents] == ["keyring"] and tree.root.parents[0].error is None


def test_a_profile_whose_lines_cannot_be_read_fails_at_its_own_hop(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        "[profile x]\nrole_arn = arn:aws:iam::222222222222:role/x\nsource_profile =\n    a = b\n"
    )
    report = _report("x")
    assert report.tree is not None and report.tree.aws_cli is None
    assert report.tree.root == hoptree.Hop(
        "x",
        None,
        "profile 'x'",
        error=hoptree.Failure("source_profile must be a single value, not a nested block"),
    )
    assert not report.healthy


def test_a_nested_block_where_a_value_belongs_is_reported_not_thrown(aws_files: AwsFiles) -> None:
    aws_files.write_config(
        "[profile x]\nrole_arn = arn:aws:iam::222222222222:role/x\nsource_profile =\n    a = b\n"
        "[profile y]\ncredential_process =\n    a = b\n"
    )
    for profile in ("x", "y"):
        done = run_in_process("doctor", "--profile", profile, "--offline")
        assert done.returncode == 1
        assert " FAIL  resolution         " in done.stdout and "resolution tree:" in done.stdout
        assert done.stderr.startswith("credproc: error: doctor found")
