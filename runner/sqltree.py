"""What one SQL statement does, read from its syntax tree (pglast, PostgreSQL's parser).

Invariant: these functions parse only the statement they are given, on demand,
so building a tree costs nothing on the path that merely applies a version;
a statement pglast cannot parse yields nothing rather than an error (the loader
has already refused unparseable files).
"""

from __future__ import annotations

from dataclasses import dataclass


def _tree(sql: str):
    import pglast
    from pglast.parser import ParseError

    try:
        return pglast.parse_sql(sql)
    except ParseError:
        return ()


def _qualified(parts) -> str:
    return ".".join(part.sval for part in parts)


def dropped_tables(sql: str) -> list[str]:
    """Tables a ``DROP TABLE`` statement drops, as written (``schema.table`` or ``table``)."""
    from pglast import ast
    from pglast.enums import ObjectType

    names = []
    for raw in _tree(sql):
        node = raw.stmt
        if isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
            names += [_qualified(parts) for parts in node.objects]
    return names


def tables(sql: str) -> list[str]:
    """Every table or view a statement names (its ``RangeVar``s), in order, each once."""
    from pglast.visitors import Visitor

    found: list[str] = []

    class Collect(Visitor):
        def visit_RangeVar(self, ancestors, node):
            name = f"{node.schemaname}.{node.relname}" if node.schemaname else node.relname
            if name not in found:
                found.append(name)

    tree = _tree(sql)
    if tree:
        Collect()(tree)
    return found


@dataclass(frozen=True)
class ConcurrentIndex:
    """A ``CREATE INDEX CONCURRENTLY``: if interrupted, it leaves an INVALID index behind."""

    name: str
    schema: str | None


def concurrent_index(sql: str) -> ConcurrentIndex | None:
    from pglast import ast

    for raw in _tree(sql):
        node = raw.stmt
        if isinstance(node, ast.IndexStmt) and node.concurrent and node.idxname:
            return ConcurrentIndex(node.idxname, node.relation.schemaname)
    return None
