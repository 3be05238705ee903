"""The lint's rules: every name a finding or a waiver may carry, with its group.

Invariant: ``RULES`` is the one list of rule names; a finding is only ever
made with a name from it, so a waiver can be checked against it and the
README documents exactly these (a test compares the two). The one exception is
``internal-error``, liftdb's own bug met on a statement: not a rule, so no
waiver can hide it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from runner.lint.model import Model
from runner.lint.source import ParsedFile, ParsedStatement

RULES: dict[str, str] = {
    # layout: the folder and its files
    "unreadable-file": "layout",
    "parse-error": "layout",
    "version-numbering": "layout",
    "missing-rollback": "layout",
    "snake-case-name": "layout",
    "invalid-directive": "layout",
    "empty-version": "layout",
    "invalid-waiver": "layout",
    "unused-waiver": "layout",
    "not-modelled": "layout",
    # conventions: what every table of the chain looks like
    "require-primary-key": "conventions",
    "prefer-timestamptz": "conventions",
    "ban-serial": "conventions",
    "ban-char-field": "conventions",
    "unindexed-foreign-key": "conventions",
    "naming-convention": "conventions",
    "identifier-too-long": "conventions",
    "redundant-index": "conventions",
    "require-table-comment": "conventions",
    # safety: statements on tables a production database already holds data in
    "require-concurrent-index": "safety",
    "concurrent-in-transaction": "safety",
    "constraint-missing-not-valid": "safety",
    "disallowed-unique-constraint": "safety",
    "set-not-null": "safety",
    "adding-required-field": "safety",
    "changing-column-type": "safety",
    "renaming": "safety",
    "ban-drop-column": "safety",
    "ban-drop-table": "safety",
    "ban-truncate": "safety",
    "volatile-default": "safety",
    "table-rewrite": "safety",
    "enum-value-in-transaction": "safety",
    "require-lock-timeout": "safety",
    "ban-transaction-control": "safety",
    "ban-drop-database": "safety",
    # compatibility: what the oldest server the chain must run on lacks
    "server-version": "compatibility",
    # the chain as a whole
    "irreversible": "reversible",
    "contract": "contract",
}


@dataclass
class StatementContext:
    """What a statement rule may look at: the statement, its file, the schema before it."""

    file: ParsedFile
    statement: ParsedStatement
    version: int
    direction: str  # "up" or "rollback"
    model: Model  # the schema just before this statement
    not_valid_here: set[tuple[str, str]] = field(default_factory=set)  # added NOT VALID here
    # Enum values ALTER TYPE ... ADD VALUE added earlier in the file (value -> type), and
    # the enum types the file creates: what the rest of its transaction may not use.
    new_enum_values: dict[str, str] = field(default_factory=dict)
    enums_created_here: set[str] = field(default_factory=set)
    min_server_version: int = 15  # [tool.liftdb] min_server_version

    def holds_data(self, table: str) -> bool:
        """True for a table an earlier version created: production has rows in it."""
        found = self.model.tables.get(table)
        return found is not None and found.created_in < self.version

    @cached_property
    def locks(self) -> list:
        """The locks the statement takes on tables holding data (``rules.locks``)."""
        from runner.lint.rules import locks

        return [
            lock for lock in locks.taken(self.model, self.statement.node)
            if self.holds_data(lock.table)
        ]  # fmt: skip
