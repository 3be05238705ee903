"""What the lint reports: one ``Finding`` per problem, at a place in a file.

Invariant: a finding is a plain value (path, line, column, rule, message, and
for a safety rule the effect it claims) with no reference to parse trees, so
findings sort, compare and serialise the same way whichever rule produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    # What the finding says the server does to a table holding rows, in the words of
    # runner.observe (rewrite, scan, blocks, fails), for the rules that say so; what
    # `lint --trace` and the oracle tests compare with what a server did.
    effect: str | None = field(default=None, compare=False)
    # The major version from which the server no longer does what ``effect`` says (None:
    # every server does it); the lint judges for the oldest server the chain must run on.
    server_before: int | None = field(default=None, compare=False)

    @classmethod
    def at(
        cls,
        where: Location,
        rule: str,
        message: str,
        effect: str | None = None,
        server_before: int | None = None,
    ) -> Finding:
        return cls(where.path, where.line, where.col, rule, message, effect, server_before)

    def claims_on(self, major: int) -> str | None:
        """The effect this finding claims on a server of ``major`` (None where it claims none)."""
        return self.effect if self.server_before is None or major < self.server_before else None

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
