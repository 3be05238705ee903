"""Conventions: how every table of the chain is written, and what the final schema holds.

Invariant: statement checks look only at what a statement creates (names,
column types); model checks look only at the final folded schema, so an
object dropped later in the chain is not reported, and one a later version
rebuilds is judged as rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

from runner.lint.findings import Finding
from runner.lint.model import Model, type_name
from runner.lint.rules import StatementContext

SUFFIX = {"primary key": "pkey", "unique": "key", "foreign key": "fkey", "check": "check"}


def check_statement(ctx: StatementContext) -> Iterator[Finding]:
    node, where = ctx.statement.node, ctx.statement.where
    if isinstance(node, ast.CreateStmt):
        table = _name(node.relation)
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                yield from _column(where, table, element)
            elif isinstance(element, ast.Constraint):
                yield from _constraint_name(where, table, element)
    elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
        table = _name(node.relation)
        for cmd in node.cmds or ():
            if cmd.subtype == AlterTableType.AT_AddColumn:
                yield from _column(where, table, cmd.def_)
            elif cmd.subtype == AlterTableType.AT_AddConstraint:
                yield from _constraint_name(where, table, cmd.def_)
            elif cmd.subtype == AlterTableType.AT_AlterColumnType:
                yield from _type(where, table, cmd.name, cmd.def_.typeName)
    elif isinstance(node, ast.IndexStmt):
        yield from _index_name(where, _name(node.relation), node)
    elif isinstance(node, ast.CreateTableAsStmt | ast.SelectStmt):
        yield from _created_as(ctx, node)
    elif isinstance(node, ast.CreateTrigStmt):
        table = _name(node.relation)
        if not node.trigname.startswith(f"{table}_"):
            yield Finding.at(
                where, "naming-convention",
                f"trigger {node.trigname} on {table} should be named {table}_<what>",
            )  # fmt: skip


def _name(range_var) -> str:
    return range_var.relname


def _column(where, table: str, coldef) -> Iterator[Finding]:
    if coldef.typeName is not None:  # else options for an inherited column: WITH OPTIONS
        yield from _type(where, table, coldef.colname, coldef.typeName)
    for constraint in coldef.constraints or ():
        if constraint.contype in (
            ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE,
            ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK,
        ):  # fmt: skip
            yield from _constraint_name(where, table, constraint, column=coldef.colname)


def _created_as(ctx: StatementContext, node) -> Iterator[Finding]:
    """CREATE TABLE ... AS / SELECT ... INTO: the columns' types, as the fold types them."""
    from runner.lint.fold.select_into import query_columns

    into = node.into if isinstance(node, ast.CreateTableAsStmt) else node.intoClause
    if into is None or getattr(node, "objtype", ObjectType.OBJECT_TABLE) != ObjectType.OBJECT_TABLE:
        return
    query = node.query if isinstance(node, ast.CreateTableAsStmt) else node
    for column, spelled in query_columns(ctx.model, query) or ():
        yield from _spelled(ctx.statement.where, into.rel.relname, column, spelled, serial=False)


def _type(where, table: str, column: str, type_node) -> Iterator[Finding]:
    spelled, serial = type_name(type_node)
    yield from _spelled(where, table, column, spelled, serial=serial)


def _spelled(where, table: str, column: str, spelled: str, *, serial: bool) -> Iterator[Finding]:
    if serial:
        yield Finding.at(
            where, "ban-serial",
            f"{table}.{column} is serial: use uuid DEFAULT gen_random_uuid() or"
            " GENERATED ALWAYS AS IDENTITY",
        )  # fmt: skip
    if spelled.startswith("timestamp") and "without time zone" in spelled:
        yield Finding.at(
            where, "prefer-timestamptz",
            f"{table}.{column} is timestamp without time zone: use timestamptz",
        )  # fmt: skip
    if spelled.startswith("character(") or spelled == "character":
        yield Finding.at(
            where, "ban-char-field",
            f"{table}.{column} is {spelled}, padded with blanks: use text or varchar",
        )  # fmt: skip


def _constraint_name(where, table: str, node, column: str | None = None) -> Iterator[Finding]:
    kinds = {
        ConstrType.CONSTR_PRIMARY: "primary key",
        ConstrType.CONSTR_UNIQUE: "unique",
        ConstrType.CONSTR_FOREIGN: "foreign key",
        ConstrType.CONSTR_CHECK: "check",
    }
    kind = kinds.get(node.contype)
    if kind is None:
        return
    if node.indexname and not node.conname:
        return  # USING INDEX: the constraint takes the index's name
    columns = [k.sval for k in (node.fk_attrs or node.keys or ())] or ([column] if column else [])
    suffix = SUFFIX[kind]
    if kind == "primary key":
        expected, fits = f"{table}_pkey", node.conname == f"{table}_pkey"
    elif kind == "foreign key":
        expected = f"{table}_{'_'.join(columns)}_fkey"
        fits = node.conname == expected
    else:
        expected = f"{table}_<what>_{suffix}"
        fits = (
            bool(node.conname)
            and node.conname.startswith(f"{table}_")
            and (node.conname.endswith(f"_{suffix}"))
        )
    if not node.conname:
        yield Finding.at(
            where, "naming-convention",
            f"{kind} constraint on {table} has no name: write CONSTRAINT {expected}",
        )  # fmt: skip
    elif not fits:
        yield Finding.at(
            where, "naming-convention",
            f"{kind} constraint {node.conname} should be named {expected}",
        )  # fmt: skip


def _index_name(where, table: str, node) -> Iterator[Finding]:
    suffixes = ("_key", "_idx") if node.unique else ("_idx",)
    shown = " or ".join(f"{table}_<columns>{s}" for s in suffixes)
    name = node.idxname
    if not name:
        yield Finding.at(
            where, "naming-convention", f"index on {table} has no name: name it {shown}"
        )
    elif not (name.startswith(f"{table}_") and name.endswith(suffixes)):
        yield Finding.at(where, "naming-convention", f"index {name} should be named {shown}")


# --- the final schema -----------------------------------------------------------------


def check_model(model: Model) -> Iterator[Finding]:
    for table in model.tables.values():
        kinds = {c.kind for c in table.constraints.values()}
        if "primary key" not in kinds:
            yield Finding.at(
                table.origin, "require-primary-key",
                f"table {table.name} has no primary key",
            )  # fmt: skip
        if not table.comment:
            yield Finding.at(
                table.origin, "require-table-comment",
                f"table {table.name} has no COMMENT ON TABLE saying what a row is",
            )  # fmt: skip
        indexes = model.table_indexes(table.name)
        paths = model.access_paths(table.name, indexes)
        for constraint in table.constraints.values():
            if constraint.kind != "foreign key":
                continue
            width = len(constraint.columns)
            if not any(
                {key for key, _ in elements[:width]} == set(constraint.columns)
                for _, elements, _ in paths
            ):
                yield Finding.at(
                    constraint.origin or table.origin, "unindexed-foreign-key",
                    f"foreign key {constraint.name} ({', '.join(constraint.columns)}) is not"
                    f" the leading columns of an index: every delete from"
                    f" {constraint.references} scans {table.name}",
                )  # fmt: skip
        yield from _redundant_indexes(model, indexes, paths)


def _redundant_indexes(model: Model, indexes, paths) -> Iterator[Finding]:
    for index in indexes:
        if index.unique or index.where is not None:
            continue  # a unique index enforces something; a partial one serves its own rows
        width = len(index.elements)
        for name, elements, _ in paths:
            if name == index.name or elements[:width] != index.elements:
                continue
            other = model.indexes.get(name)
            identical = len(elements) == width and other is not None and not other.unique
            if identical and (other.origin.path, other.origin.line, name) > (
                index.origin.path, index.origin.line, index.name
            ):  # fmt: skip
                continue  # of two identical indexes, report the later one
            yield Finding.at(
                index.origin, "redundant-index",
                f"index {index.name} is a prefix of {name}, which serves the same lookups",
            )  # fmt: skip
            break
