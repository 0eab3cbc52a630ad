"""Errors a user can act on.

Every failure that reaches a person (CLI, app) is a :class:`KBError` whose ``str()`` is one
line saying what happened and what to do. Code that catches them shows the message and never
a traceback; anything else escaping is a bug.
"""

from __future__ import annotations

from pathlib import Path


class KBError(Exception):
    """Base class: the message is meant for the user."""


class ConfigError(KBError):
    """The configuration (kb.toml / KB_* variables) is invalid."""


class LoadError(KBError):
    """A source file could not be read into text (corrupt, encrypted, empty, binary...)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class StructureError(KBError):
    """A text was read but has no structure we can index."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class StoreError(KBError):
    """The vector store is unreachable or inconsistent."""


class NotFoundError(KBError):
    """A document or provision the user named does not exist."""
