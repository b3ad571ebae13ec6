"""A terminal for unit tests: answers from a list, records what was asked and said.

Tests of the real prompts drive ``credproc.terminal.Terminal`` through a pseudo-terminal instead.
"""

from __future__ import annotations

from credproc.errors import NeedsHumanError
from credproc.terminal import Terminal


class ScriptedTerminal(Terminal):
    """``answers`` None means no terminal: every ask fails as it would without one (exit 4)."""

    def __init__(self, answers: list[str] | None) -> None:
        super().__init__(windows=False)
        self.answers = answers
        self.asked: list[str] = []
        self.said: list[str] = []

    def available(self) -> bool:
        return self.answers is not None

    def ask(self, prompt: str, why: str, secret: bool = False, hint: str | None = None) -> str:
        if self.answers is None:
            raise NeedsHumanError(f"{why}, but there is no terminal to ask on", hint)
        self.asked.append(prompt)
        return self.answers.pop(0)

    def say(self, text: str) -> None:
        self.said.append(text)
