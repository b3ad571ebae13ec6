"""Commands of a later issue; registered from credproc.cli.main."""

from __future__ import annotations
