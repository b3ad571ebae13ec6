"""The operating-system certificate stores (``--cert-selector``, ``--system-store-name``).

Linux has no store, so the lookup ends in one clear line; the Windows and macOS branch is tested by
registering a store under that platform's name and passing the platform in. The selector is parsed
first, as aws_signing_helper does, so a malformed one is named even where no store exists.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from credproc.errors import ConfigError
from credproc.sources.rolesanywhere import stores
from credproc.sources.rolesanywhere.stores import Selector
from tests.support.runner import run_in_process


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Key=x509Subject,Value=CN=me", Selector(subject="CN=me")),
        (
            "Key=x509Subject,Value=CN=me  Key=x509Issuer,Value=CN=ca Key=x509Serial,Value=0F12",
            Selector("CN=me", "CN=ca", 0x0F12),
        ),
        ("Key=x509Serial,Value=1 Key=x509Serial,Value=ff", Selector(serial=0xFF)),  # the last wins
        ("", Selector()),
    ],
)
def test_the_inline_selector_form_is_parsed(raw: str, expected: Selector) -> None:
    assert stores.parse_selector(raw) == expected


def test_the_file_selector_form_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "selector.json"
    entries = [{"Key": "x509Issuer", "Value": "CN=ca, O=Example"}, {"Key": "x509Serial", "Value": "0a"}]
    path.write_text(json.dumps(entries))
    assert stores.parse_selector(f"file://{path}") == Selector(issuer="CN=ca, O=Example", serial=10)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("x509Subject=CN=me", "entry 'x509Subject=CN=me' is not Key=<key>,Value=<value>"),
        ("Key=x509Subject,CN=me", "is not Key=<key>,Value=<value>"),
        ("Value=CN=me,Key=x509Subject", "is not Key=<key>,Value=<value>"),
        ("Key=x509Email,Value=me@example.com", "key 'x509Email' is not one of x509Subject"),
        ("Key=x509Serial,Value=0xZZ", "serial '0xZZ' is not hexadecimal"),
    ],
)
def test_a_malformed_inline_selector_is_named(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        stores.parse_selector(raw)


@pytest.mark.parametrize(
    "text", ['{"Key": "x509Subject", "Value": "CN=me"}', '[{"Key": "x509Subject"}]', "[1]", "not json"]
)
def test_a_selector_file_that_is_not_an_array_of_pairs_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "selector.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape('is not a JSON array of {"Key": ..., "Value": ...}')):
        stores.parse_selector(f"file://{path}")


def test_a_missing_selector_file_is_named_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the cert selector file .*absent.json: No such file"):
        stores.parse_selector(f"file://{tmp_path / 'absent.json'}")


def test_a_fifo_or_a_device_as_selector_file_is_refused_at_once(tmp_path: Path) -> None:
    """Read through the one small-file reader: a FIFO with no writer would block an open() forever."""
    fifo = tmp_path / "selector.fifo"
    os.mkfifo(fifo)
    for path, kind in ((str(fifo), "FIFO"), ("/dev/zero", "device")):
        with pytest.raises(
            ConfigError, match=f"cannot read the cert selector file {re.escape(path)}: it is .*{kind}"
        ):
            stores.parse_selector(f"file://{path}")


@dataclass
class RecordingStore:
    """A platform store that answers every lookup with one identity and remembers the question."""

    name: str = "test store"
    asked: list[tuple[Selector, str, bool]] = field(default_factory=list)

    def find(self, selector: Selector, *, store_name: str, latest_expiring: bool) -> object:
        self.asked.append((selector, store_name, latest_expiring))
        return "the identity"


def test_a_registered_store_is_asked_with_the_parsed_selector(monkeypatch: pytest.MonkeyPatch) -> None:
    store = RecordingStore()
    monkeypatch.setitem(stores.REGISTRY, "win32", lambda: store)
    options = {
        "cert_selector": "Key=x509Subject,Value=CN=me",
        "system_store_name": "Root",
        "use_latest_expiring_certificate": True,
    }
    assert stores.find_identity(options, platform="win32") == "the identity"
    assert stores.find_identity({}, platform="win32") == "the identity"
    assert store.asked == [(Selector(subject="CN=me"), "Root", True), (Selector(), "MY", False)]


def test_a_platform_without_a_store_says_so() -> None:
    with pytest.raises(ConfigError, match="which linux does not have") as raised:
        stores.find_identity({"system_store_name": "MY"}, platform="linux")
    assert (
        raised.value.hint == "pass --certificate (a file, a .p12 or a pkcs11: URI) and --private-key instead"
    )


@pytest.mark.parametrize("command", ["credential-process", "sign-string", "read-certificate-data"])
def test_a_malformed_selector_is_named_before_the_missing_store(command: str) -> None:
    done = run_in_process(command, "--cert-selector", "Key=x509Subject")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[0] == (
        "credproc: error: cert selector entry 'Key=x509Subject' is not Key=<key>,Value=<value>"
    )


@pytest.mark.parametrize("command", ["credential-process", "sign-string", "read-certificate-data"])
def test_a_well_formed_selector_on_linux_meets_the_missing_store(command: str) -> None:
    done = run_in_process(command, "--cert-selector", "Key=x509Subject,Value=CN=me")
    assert done.returncode == 1 and done.stdout == ""
    assert "the Windows or macOS certificate store, which linux does not have" in done.stderr
