"""Syntax trees from pglast (PostgreSQL's parser), and what one statement does.

Invariant: every tree liftdb builds comes from ``parse`` (the lint's and goose's
whole files too), which returns exactly what ``pglast.parse_sql`` does, faster.
The per-statement readers below parse only the statement they are given, on
demand, so building a tree costs nothing on the path that merely applies a
version; a statement pglast cannot parse yields nothing there rather than an
error (the loader has already refused unparseable files).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple


def parse(sql: str) -> tuple:
    """``pglast.parse_sql``, several times faster; raises ``pglast.parser.ParseError``."""
    import pglast

    with parser_built_nodes():
        return pglast.parse_sql(sql)


@contextmanager
def parser_built_nodes() -> Iterator[None]:
    """While open, pglast nodes are built without their per-attribute checks.

    pglast builds each node through ``Node.__setattr__``, which checks and coerces
    every value so that hand-built trees are well typed. The parser's own values are
    already typed (enums, one-character strings, tuples), so the checks change
    nothing there and cost most of a parse; the one exception, the int it gives a
    constant's ``Boolean``, keeps its check (tests/test_sqltree.py proves the trees
    equal, types included). Swapping the method is itself slow (every node class's
    attribute cache is reset), so a caller parsing many files opens this once
    around them all; it nests. Build no node by hand inside it.
    """
    from pglast import ast

    checked = ast.Node.__setattr__
    if checked is object.__setattr__:  # an enclosing block already opened it
        yield
        return
    ast.Node.__setattr__ = object.__setattr__
    ast.Boolean.__setattr__ = checked
    try:
        yield
    finally:
        del ast.Boolean.__setattr__
        ast.Node.__setattr__ = checked


def remembered(function: Callable) -> Callable:
    """``function`` (of hashable arguments: a statement's or a file's text) with its results
    kept, each worked out once, one thread at a time: ``liftdb fleet`` plans every
    database from one chain, in threads, and parses it once."""
    cached = functools.lru_cache(maxsize=4096)(function)
    lock = threading.Lock()

    @functools.wraps(function)
    def call(*args):
        with lock:
            return cached(*args)

    _REMEMBERED.append(cached)
    return call


_REMEMBERED: list = []


def forget() -> None:
    """Drop every result ``remembered`` kept (a test measuring a first run)."""
    for cached in _REMEMBERED:
        cached.cache_clear()


def _tree(sql: str):
    from pglast.parser import ParseError

    try:
        return parse(sql)
    except ParseError:
        return ()


def _qualified(parts) -> str:
    return ".".join(part.sval for part in parts)


class Destroys(NamedTuple):
    """Rows a statement destroys, if the objects it names hold any: ``kind`` is "table"
    (DROP TABLE), "column" (ALTER TABLE ... DROP COLUMN), "schema" (DROP SCHEMA ...
    CASCADE: its tables), "truncate" or "delete" (DELETE without WHERE). ``relation`` is
    as written (``schema.table`` or ``table``; the schema's name for "schema")."""

    kind: str
    relation: str
    column: str | None = None


def _relation(range_var) -> str:
    return ".".join(part for part in (range_var.schemaname, range_var.relname) if part)


@remembered
def destroys(sql: str) -> tuple[Destroys, ...]:
    """What a statement would destroy of the rows it names, read from its tree."""
    from pglast import ast
    from pglast.enums import AlterTableType, DropBehavior, ObjectType

    found = []
    for raw in _tree(sql):
        node = raw.stmt
        if isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
            found += [Destroys("table", _qualified(parts)) for parts in node.objects]
        elif (
            isinstance(node, ast.DropStmt)
            and node.removeType == ObjectType.OBJECT_SCHEMA
            and node.behavior == DropBehavior.DROP_CASCADE
        ):
            found += [Destroys("schema", name.sval) for name in node.objects]
        elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
            for cmd in node.cmds or ():
                if cmd.subtype == AlterTableType.AT_DropColumn:
                    found.append(Destroys("column", _relation(node.relation), cmd.name))
        elif isinstance(node, ast.TruncateStmt):
            found += [Destroys("truncate", _relation(r)) for r in node.relations]
        elif isinstance(node, ast.DeleteStmt) and node.whereClause is None:
            found.append(Destroys("delete", _relation(node.relation)))
    return tuple(found)


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


class ConcurrentIndex(NamedTuple):
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


def sets_session(sql: str) -> bool:
    """True for a statement that changes only the session, for the rest of it: ``SET``
    (not ``SET LOCAL``, not ``SET TRANSACTION``), ``RESET``, ``SET ROLE``, ``SET SESSION
    AUTHORIZATION``, and pg_dump's ``SELECT pg_catalog.set_config('name', 'value',
    false)`` of constants. Running it again changes nothing in the database: what a
    resumed version replays of the statements it had completed."""
    from pglast import ast
    from pglast.enums import VariableSetKind

    for raw in _tree(sql):
        node = raw.stmt
        if isinstance(node, ast.VariableSetStmt) and not node.is_local:
            return not (node.kind == VariableSetKind.VAR_SET_MULTI and node.name == "TRANSACTION")
        if isinstance(node, ast.SelectStmt):
            return _only_session_set_config(node)
    return False


def _only_session_set_config(node) -> bool:
    """A bare ``SELECT`` of ``set_config`` calls with constant arguments, not local."""
    from pglast import ast

    if node.fromClause or node.whereClause or not node.targetList:
        return False
    for target in node.targetList:
        call = target.val
        if not isinstance(call, ast.FuncCall) or call.funcname[-1].sval != "set_config":
            return False
        if [part.sval for part in call.funcname[:-1]] not in ([], ["pg_catalog"]):
            return False
        arguments = call.args or ()
        if len(arguments) != 3 or not all(isinstance(a, ast.A_Const) for a in arguments):
            return False
        if not isinstance(arguments[2].val, ast.Boolean) or arguments[2].val.boolval:
            return False  # is_local: it ended with its transaction
    return True


def runs_outside_transaction_block(sql: str) -> bool:
    """True for a statement that must run outside a transaction block: those PostgreSQL
    refuses in one (its ``PreventInTransactionBlock``: ``CREATE``/``DROP INDEX
    CONCURRENTLY``, ``REINDEX ... CONCURRENTLY``, ``DETACH PARTITION ... CONCURRENTLY``,
    ``VACUUM``, ``CLUSTER`` of every table, ``DISCARD ALL``, ``CREATE``/``DROP
    DATABASE``/``TABLESPACE``, ``ALTER SYSTEM``, subscriptions), transaction control
    itself, and ``DO`` and ``CALL``, whose code may ``COMMIT`` (refused in a block). The
    common ones, known before sending: one not listed that the server refuses in a block
    says so with SQLSTATE 25001 before doing anything."""
    from pglast import ast
    from pglast.enums import DiscardMode

    for raw in _tree(sql):
        node = raw.stmt
        if isinstance(node, (ast.IndexStmt, ast.DropStmt)) and node.concurrent:
            return True
        if isinstance(node, ast.ReindexStmt) and any(
            p.defname == "concurrently" for p in node.params or ()
        ):
            return True
        if isinstance(node, ast.AlterTableStmt) and any(
            getattr(cmd.def_, "concurrent", False) for cmd in node.cmds or ()
        ):
            return True
        if isinstance(node, ast.ClusterStmt) and node.relation is None:
            return True
        if isinstance(node, ast.DiscardStmt) and node.target == DiscardMode.DISCARD_ALL:
            return True
        if isinstance(
            node,
            (
                ast.TransactionStmt,
                ast.DoStmt,
                ast.CallStmt,
                ast.VacuumStmt,
                ast.CreatedbStmt,
                ast.DropdbStmt,
                ast.CreateTableSpaceStmt,
                ast.DropTableSpaceStmt,
                ast.AlterSystemStmt,
                ast.CreateSubscriptionStmt,
                ast.DropSubscriptionStmt,
            ),
        ):
            return True
    return False


def transaction_block(sql: str) -> str | None:
    """``"begin"`` for a statement that opens a transaction block (``BEGIN``, ``START
    TRANSACTION``), ``"end"`` for one that ends it (``COMMIT``, ``END``, ``ROLLBACK``,
    ``ABORT``, ``PREPARE TRANSACTION``; not ``AND CHAIN``, which opens the next); else
    None."""
    from pglast import ast
    from pglast.enums import TransactionStmtKind as Kind

    for raw in _tree(sql):
        node = raw.stmt
        if not isinstance(node, ast.TransactionStmt):
            return None
        if node.kind in (Kind.TRANS_STMT_BEGIN, Kind.TRANS_STMT_START):
            return "begin"
        if node.kind in (Kind.TRANS_STMT_COMMIT, Kind.TRANS_STMT_ROLLBACK) and not node.chain:
            return "end"
        if node.kind == Kind.TRANS_STMT_PREPARE:
            return "end"
    return None


def commits_block(sql: str) -> bool:
    """True for a statement that commits a transaction block and ends it: ``COMMIT``,
    ``END`` (not ``AND CHAIN``; not ``ROLLBACK`` nor ``PREPARE TRANSACTION``)."""
    from pglast import ast
    from pglast.enums import TransactionStmtKind as Kind

    return any(
        isinstance(raw.stmt, ast.TransactionStmt)
        and raw.stmt.kind == Kind.TRANS_STMT_COMMIT
        and not raw.stmt.chain
        for raw in _tree(sql)
    )


def created_schemas(sql: str) -> list[str]:
    """The schemas a ``CREATE SCHEMA`` statement creates."""
    from pglast import ast

    return [
        raw.stmt.schemaname
        for raw in _tree(sql)
        if isinstance(raw.stmt, ast.CreateSchemaStmt) and raw.stmt.schemaname
    ]


def created_tables(sql: str) -> list[str]:
    """The tables a ``CREATE TABLE`` statement creates, as written."""
    from pglast import ast

    return [
        _relation(raw.stmt.relation)
        for raw in _tree(sql)
        if isinstance(raw.stmt, ast.CreateStmt) and raw.stmt.relation is not None
    ]
