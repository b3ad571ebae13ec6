"""Every credential source passes the contract of tests/support/source_contract.py."""

from __future__ import annotations

import dataclasses
import sys

from credproc.sources.assume_role import AssumeRoleSource
from credproc.sources.base import Context, Source
from credproc.sources.credential_source import MetadataSource
from credproc.sources.keyring_keys import KeyringSource
from credproc.sources.mfa_session import MfaSessionSource
from credproc.sources.process import ProcessSource
from credproc.sources.rolesanywhere.source import RolesAnywhereSource
from credproc.sources.sso.settings import DEFAULT_SCOPES, SsoSession
from credproc.sources.sso.source import SsoSource
from credproc.sources.static import StaticSource
from credproc.sources.web_identity import WebIdentitySource
from tests.support.source_contract import FetchesOffline, SourceContract, offline_context

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
OTHER_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
ROLE = "arn:aws:iam::111111111111:role/deploy"
OTHER_ROLE = "arn:aws:iam::111111111111:role/audit"
SERIAL = "arn:aws:iam::111111111111:mfa/me"


def keys(secret: str = SECRET) -> StaticSource:
    return StaticSource("AKIAIOSFODNN7EXAMPLE", secret, profile="base")


class TestStaticSource(FetchesOffline):
    kind = "static"
    secrets = (SECRET,)

    def source(self) -> Source:
        return keys()

    def other_source(self) -> Source:
        return keys(OTHER_SECRET)

    def test_long_term_keys_are_never_cached(self) -> None:
        assert not self.source().cacheable

    def test_details_mask_the_key_id_and_say_where_the_keys_are(self) -> None:
        assert self.source().details() == {"key": "AKIA…", "from": "config file"}
        assert self.source().botocore_method() == "config-file"
        assert (
            dataclasses.replace(keys(), origin="credentials file").botocore_method()
            == "shared-credentials-file"
        )


class TestKeyringSource(FetchesOffline):
    kind = "keyring"
    secrets = (SECRET,)

    def source(self) -> Source:
        return KeyringSource("AKIAIOSFODNN7EXAMPLE", SECRET, profile="base")

    def other_source(self) -> Source:
        return KeyringSource("AKIAIOSFODNN7EXAMPLE", OTHER_SECRET, profile="base")

    def test_long_term_keys_are_never_cached(self) -> None:
        assert not self.source().cacheable


class TestMetadataSource(SourceContract):
    kind = "metadata"

    def source(self) -> Source:
        return MetadataSource("p", "EcsContainer", (("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://x"),))

    def other_source(self) -> Source:
        return MetadataSource("p", "Ec2InstanceMetadata")


class TestAssumeRoleSource(SourceContract):
    kind = "assume-role"
    secrets = (SECRET,)

    def source(self) -> Source:
        return AssumeRoleSource(profile="p", role_arn=ROLE, parent=keys(), region="us-east-1", endpoint=None)

    def other_source(self) -> Source:
        return AssumeRoleSource(
            profile="p", role_arn=OTHER_ROLE, parent=keys(), region="us-east-1", endpoint=None
        )

    def test_its_parent_is_the_source_that_signs_its_call(self) -> None:
        assert self.source().parents() == (keys(),)

    def test_new_parent_keys_are_a_new_identity(self) -> None:
        other = dataclasses.replace(self.source(), parent=keys(OTHER_SECRET))  # type: ignore[type-var]
        assert other.identity != self.source().identity


class TestMfaSessionSource(SourceContract):
    kind = "mfa-session"
    secrets = (SECRET,)

    def source(self) -> Source:
        return MfaSessionSource(
            "base", SERIAL, KeyringSource("AKIAIOSFODNN7EXAMPLE", SECRET), "us-east-1", None
        )

    def other_source(self) -> Source:
        return MfaSessionSource(
            "base", SERIAL, KeyringSource("AKIAIOSFODNN7EXAMPLE", SECRET), "us-east-1", None, duration=7200
        )


class TestWebIdentitySource(SourceContract):
    kind = "web-identity"

    def source(self) -> Source:
        return WebIdentitySource(
            profile="p", role_arn=ROLE, token_file="/var/run/token", region="us-east-1", endpoint=None
        )

    def other_source(self) -> Source:
        return WebIdentitySource(
            profile="p", role_arn=OTHER_ROLE, token_file="/var/run/token", region="us-east-1", endpoint=None
        )


ANSWER = {"Version": 1, "AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": SECRET}


class TestProcessSource(FetchesOffline):
    kind = "credential-process"
    secrets = ()  # the command is the user's own line; its answer is only in fetch's result

    def source(self) -> Source:
        return ProcessSource("p", f'{sys.executable} -c "import json; print(json.dumps({ANSWER!r}))"')

    def other_source(self) -> Source:
        return ProcessSource("p", f'{sys.executable} -c "print(1)"')

    def context(self) -> Context:
        return dataclasses.replace(offline_context(), environ={"PATH": "/usr/bin:/bin"})

    def test_details_name_the_program_and_none_of_its_arguments(self) -> None:
        source = ProcessSource("p", "/opt/bin/helper --user me --password hunter2")
        assert source.details() == {"program": "helper"}


SESSION = SsoSession(
    name="corp", start_url="https://corp.awsapps.com/start", region="us-east-1", scopes=DEFAULT_SCOPES
)


class TestSsoSource(SourceContract):
    kind = "sso"

    def source(self) -> Source:
        return SsoSource("p", SESSION, "111111111111", "Admin")

    def other_source(self) -> Source:
        return SsoSource("p", SESSION, "222222222222", "Admin")


def roles_anywhere(role: str = ROLE) -> RolesAnywhereSource:
    arn = "arn:aws:rolesanywhere:us-east-1:111111111111"
    return RolesAnywhereSource(
        where="profile 'p'",
        profile="p",
        certificate="/certs/me.pem",
        private_key="/certs/me.key",
        intermediates=None,
        trust_anchor_arn=f"{arn}:trust-anchor/a",
        profile_arn=f"{arn}:profile/b",
        role_arn=role,
        region="us-east-1",
        endpoint="https://rolesanywhere.us-east-1.amazonaws.com",
        duration=3600,
        session_name=None,
        certificate_digest="0" * 64,
    )


class TestRolesAnywhereSource(SourceContract):
    kind = "rolesanywhere"

    def source(self) -> Source:
        return roles_anywhere()

    def other_source(self) -> Source:
        return roles_anywhere(OTHER_ROLE)

    def test_the_certificate_and_key_files_are_deps(self) -> None:
        assert self.source().deps() == ["/certs/me.pem", "/certs/me.key"]


class TestRolesAnywhereTokenSource(SourceContract):
    """Certificate and key in a PKCS#11 token, the PIN in the URI: shown nowhere."""

    kind = "rolesanywhere"
    secrets = ("pin-value=4711",)

    def source(self) -> Source:
        uri = "pkcs11:token=dev;object=id?pin-value=4711"
        return dataclasses.replace(
            roles_anywhere(), certificate=uri, private_key=uri, pkcs11_lib="/lib/p11.so"
        )

    def other_source(self) -> Source:
        return dataclasses.replace(self.source(), role_arn=OTHER_ROLE)  # type: ignore[type-var]

    def test_the_uri_is_shown_without_its_pin(self) -> None:
        assert self.source().details()["certificate"] == "pkcs11:token=dev;object=id"
        assert self.source().describe()[0].endswith("with certificate pkcs11:token=dev;object=id")
