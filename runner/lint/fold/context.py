"""What every fold handler works with: the model, the statement's place, and helpers that
read and rewrite the model's expressions.

Invariant: an ``Expr`` in the model is never changed in place (the lint's
snapshots share them); a rewrite builds a new one from a copy of the tree.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from pglast import ast

from runner.lint.findings import Location
from runner.lint.model import Expr, Model, Table, walk


@dataclass
class Fold:
    """One statement being folded."""

    model: Model
    where: Location
    version: int
    source: str = ""
    server: int = 15  # the major version whose catalog is modelled, where versions differ
    unmodelled: list[str] = field(default_factory=list)

    @property
    def partitions_take_identity(self) -> bool:
        """PostgreSQL 17 gave a partitioned table's identity to its partitions."""
        return self.server >= 17

    def not_modelled(self, what: str) -> None:
        self.unmodelled.append(what)


def schema_of(name: str) -> str:
    """The schema part of a model name: ``"public"`` for a bare one."""
    return name.rpartition(".")[0] or "public"


def bare(name: str) -> str:
    """A model name without its schema."""
    return name.rpartition(".")[2]


def in_schema(schema: str, name: str) -> str:
    """``name`` in ``schema``, as the model spells it (bare in ``public``)."""
    return name if schema == "public" else f"{schema}.{name}"


def relation_taken(model: Model, schema: str) -> Callable[[str], bool]:
    """Whether a bare name is a table's, an index's or a sequence's in the schema (one
    namespace; views are not held)."""

    def taken(name: str) -> bool:
        qualified = in_schema(schema, name)
        return (
            qualified in model.tables or qualified in model.indexes or qualified in model.sequences
        )

    return taken


def constraint_taken(model: Model, schema: str) -> Callable[[str], bool]:
    """Whether a name is a constraint's on any table or domain of the schema
    (``ConstraintNameExists``)."""
    tables: list[Table] | None = None

    def taken(name: str) -> bool:
        nonlocal tables
        if tables is None:
            tables = [t for t in model.tables.values() if schema_of(t.name) == schema]
        return any(name in table.constraints for table in tables) or any(
            name in t.checks for t in model.types.values() if schema_of(t.name) == schema
        )

    return taken


def either(*tests: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda name: any(test(name) for test in tests)


def column_refs(node) -> list[str]:
    """Names of the columns an expression reads (the last part of each ColumnRef), in
    order, each once."""
    found: list[str] = []
    for item in walk(node):
        if isinstance(item, ast.ColumnRef) and item.fields:
            last = item.fields[-1]
            if isinstance(last, ast.String) and last.sval not in found:
                found.append(last.sval)
    return found


def function_calls(node) -> set[str]:
    """Names of the functions an expression calls, as written (``schema.name`` or bare)."""
    return {
        ".".join(part.sval for part in item.funcname if part.sval != "public")
        for item in walk(node)
        if isinstance(item, ast.FuncCall)
    }


def expression_reads(expression, column: str) -> bool:
    node = expression.node if isinstance(expression, Expr) else None
    return node is not None and column in column_refs(node)


def rename_columns(expression, renames: dict[str, str]):
    """``expression`` with the columns in ``renames`` renamed (a new ``Expr``); other
    values as they are."""
    if not isinstance(expression, Expr):
        return expression
    if not set(column_refs(expression.node)) & renames.keys():
        return expression
    node = copy.deepcopy(expression.node)
    for item in walk(node):
        if isinstance(item, ast.ColumnRef) and item.fields:
            last = item.fields[-1]
            if isinstance(last, ast.String) and last.sval in renames:
                item.fields = (*item.fields[:-1], ast.String(sval=renames[last.sval]))
    return Expr(node)


def descendants(model: Model, table: Table) -> list[Table]:
    """Every table inheriting from ``table``, children before their own children."""
    found: list[Table] = []
    queue = [table]
    while queue:
        for child in model.children(queue.pop(0).name):
            if child not in found:
                found.append(child)
                queue.append(child)
    return found
