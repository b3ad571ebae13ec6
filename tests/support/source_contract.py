"""The contract every credential source passes (as keyring's ``keyring/testing/backend.py`` is
for backends): subclass ``SourceContract`` once per source, say how to build two sources that
give different answers, and pytest runs every rule below against it.

The rules are what the rest of credproc relies on: the cache names entries by ``identity`` and
writes only ``cacheable`` sources; ``describe()[0]`` is the one line shown in messages and cache
listings; ``deps`` are files whose change must invalidate the answer; ``parents``, ``details``
and ``botocore_method`` are what doctor draws a resolution from; sources are values (frozen,
equal when built from the same inputs); no secret ever appears in anything but ``fetch``'s answer.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from credproc.cache import NoCache
from credproc.config import AwsConfig
from credproc.credentials import Credentials
from credproc.sources.base import Context, Source
from tests.support.terminals import ScriptedTerminal


def offline_context() -> Context:
    """A world with no files, no cache, no terminal and no environment."""
    return Context(
        environ={},
        config=AwsConfig({}),
        cache=NoCache(),
        terminal=ScriptedTerminal(None),
        warn=lambda message: None,
    )


class SourceContract:
    kind: ClassVar[str]  # the kind the source must report
    secrets: ClassVar[tuple[str, ...]] = ()  # strings that must never show outside fetch's answer

    def source(self) -> Source:
        raise NotImplementedError

    def other_source(self) -> Source:
        """A source of the same kind that gives another answer (so: another identity)."""
        raise NotImplementedError

    def context(self) -> Context:
        return offline_context()

    def test_kind_is_the_class_level_name(self) -> None:
        source = self.source()
        assert source.kind == self.kind
        assert vars(type(source)).get("kind", type(source).kind) == self.kind

    def test_identity_is_equal_for_equal_inputs_and_differs_for_another_answer(self) -> None:
        assert self.source().identity == self.source().identity
        assert self.source().identity != self.other_source().identity

    def test_a_source_is_a_frozen_value(self) -> None:
        source = self.source()
        assert source == self.source()
        assert dataclasses.is_dataclass(source)
        assert not isinstance(source, type)
        field = dataclasses.fields(source)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(source, field, getattr(source, field))

    def test_cacheable_is_a_bool(self) -> None:
        assert isinstance(self.source().cacheable, bool)

    def test_describe_starts_with_one_line(self) -> None:
        lines = self.source().describe()
        assert lines and all(isinstance(line, str) and line for line in lines)
        assert "\n" not in lines[0]

    def test_deps_are_paths(self) -> None:
        assert all(isinstance(path, str) and path for path in self.source().deps())

    def test_parents_are_sources_folded_into_the_identity(self) -> None:
        source = self.source()
        for parent in source.parents():
            assert parent.identity and parent.identity in source.identity

    def test_details_are_one_line_texts(self) -> None:
        details = self.source().details()
        assert all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in details.items())
        assert not any("\n" in v for v in details.values())

    def test_botocore_method_is_one_botocore_has(self) -> None:
        from botocore import credentials

        methods = {getattr(c, "METHOD", None) for c in vars(credentials).values() if isinstance(c, type)}
        method = self.source().botocore_method()
        assert method is None or method in methods

    def test_no_secret_in_identity_description_or_repr(self) -> None:
        source = self.source()
        shown = "\0".join([source.identity, *source.describe(), *source.details().values(), repr(source)])
        for secret in self.secrets:
            assert secret not in shown


class FetchesOffline(SourceContract):
    """For sources whose ``fetch`` needs no server (the others fetch in their own tests, against
    the STS, SSO and Roles Anywhere emulators)."""

    def test_fetch_gives_credentials(self) -> None:
        creds = self.source().fetch(self.context())
        assert isinstance(creds, Credentials)
        assert creds.access_key_id and creds.secret_access_key
