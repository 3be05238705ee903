"""What the lint reports: one ``Finding`` per problem, at a place in a file.

Invariant: a finding is a plain value (path, line, column, rule, message) with
no reference to parse trees, so findings sort, compare and serialise the same
way whichever rule produced them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file: 1-based line and column."""

    path: str
    line: int = 1
    col: int = 1


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where it is, which rule found it, and what to do about it."""

    path: str
    line: int
    col: int
    rule: str
    message: str

    @classmethod
    def at(cls, where: Location, rule: str, message: str) -> Finding:
        return cls(where.path, where.line, where.col, rule, message)

    def as_text(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.rule}: {self.message}"

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "rule": self.rule,
            "message": self.message,
        }
