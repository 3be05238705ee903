"""Folds statements into the ``Model``: what the schema is after each one runs.

Invariant: ``apply`` changes the model the way PostgreSQL changes the catalog
for every statement about what the model tracks (schemas, tables and their
partitions and inheritance, columns, identity and generation, constraints,
indexes, enums, domains, functions, triggers, comments; and their renames,
moves and drops, cascades included), and returns, one line each, what a
statement did to a tracked object that the fold does not model: the caller
reports those (``not-modelled``), so the model is never silently wrong. A
statement about an object the chain never created is ignored, as the server
would refuse it before any of its effects. ``tests/test_lint_catalog.py``
holds the fold to a real server's catalog, kind of DDL by kind.

One module per kind of statement: ``tables`` (CREATE and ALTER TABLE,
partitions, inheritance), ``select_into`` (CREATE TABLE AS, SELECT INTO),
``indexes``, ``drops``, ``renames`` (renames and SET SCHEMA), ``objects``
(schemas, types, functions, triggers, comments, DO), and ``names``: the names
PostgreSQL chooses.
"""

from __future__ import annotations

from runner.lint.findings import Location
from runner.lint.fold.context import Fold
from runner.lint.model import Model


def apply(
    model: Model, node, where: Location, version: int, source: str = "", server: int = 15
) -> list[str]:
    """Fold one statement (``source``: its text) as PostgreSQL ``server`` (a major version:
    the chain's oldest) builds it; returns what it did that is not modelled."""
    from runner.lint.fold.dispatch import HANDLERS

    handler = HANDLERS.get(type(node).__name__)
    if handler is None:
        return []
    fold = Fold(model, where, version, source, server)
    handler(fold, node)
    return fold.unmodelled


__all__ = ["apply"]
