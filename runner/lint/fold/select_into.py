"""CREATE TABLE ... AS and SELECT ... INTO: a table whose columns come from a query.

Invariant: the new table's columns are the query's, named as the server names
them (an alias, the column read, ``FigureColname`` of the expression, or
``?column?``), nullable, with no default or constraint, typed from what the
model knows (the columns read, casts, literals, a few functions). A column whose
type the fold cannot tell is still created, and reported as not modelled.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import ObjectType, SetOperation

from runner.lint.fold.context import Fold
from runner.lint.fold.names import figure_colname
from runner.lint.model import Column, Model, Table, relation_name, type_name

UNKNOWN = "unknown"
TIMESTAMPTZ = "timestamp with time zone"
FUNCTION_TYPES = {
    "now": TIMESTAMPTZ, "statement_timestamp": TIMESTAMPTZ, "clock_timestamp": TIMESTAMPTZ,
    "transaction_timestamp": TIMESTAMPTZ, "count": "bigint", "row_number": "bigint",
    "rank": "bigint", "dense_rank": "bigint", "gen_random_uuid": "uuid", "uuidv4": "uuid",
    "uuidv7": "uuid", "lower": "text", "upper": "text", "btrim": "text", "trim": "text",
    "concat": "text", "concat_ws": "text", "md5": "text", "length": "integer",
    "char_length": "integer", "to_jsonb": "jsonb", "jsonb_build_object": "jsonb",
    "random": "double precision",
}  # fmt: skip
VALUE_FUNCTION_TYPES = {
    "current_date": "date", "current_timestamp": TIMESTAMPTZ,
    "current_time": "time with time zone", "localtimestamp": "timestamp without time zone",
    "localtime": "time without time zone", "current_user": "name", "session_user": "name",
    "user": "name", "current_role": "name", "current_schema": "name",
    "current_catalog": "name",
}  # fmt: skip


def create_table_as(f: Fold, node) -> None:
    if node.objtype != ObjectType.OBJECT_TABLE:
        return  # a materialized view: not modelled, like views
    _create(f, node.into, node.query)


def select_into(f: Fold, node) -> None:
    if node.intoClause is not None:
        _create(f, node.intoClause, node)
    else:
        from runner.lint.fold.objects import call

        call(f, node)


def _create(f: Fold, into, query) -> None:
    if into.rel.relpersistence == "t":
        return
    name = relation_name(into.rel)
    if name in f.model.tables:
        return  # IF NOT EXISTS skips it; without, the server refuses
    columns = query_columns(f.model, query)
    table = Table(name=name, created_in=f.version, origin=f.where)
    f.model.tables[name] = table
    if columns is None:
        f.not_modelled(f"CREATE TABLE {name} AS: the columns of this query are not modelled")
        return
    given = [n.sval for n in into.colNames or ()]
    unknown = []
    for position, (column, kind) in enumerate(columns):
        column = given[position] if position < len(given) else column
        table.columns[column] = Column(name=column, type=kind, origin=f.where)
        if kind == UNKNOWN:
            unknown.append(column)
    if unknown:
        f.not_modelled(f"CREATE TABLE {name} AS: the type of {', '.join(unknown)} is not modelled")


def query_columns(model: Model, query) -> list[tuple[str, str]] | None:
    """(name, type) of each column a plain SELECT returns; None for any other query."""
    if not isinstance(query, ast.SelectStmt) or query.op != SetOperation.SETOP_NONE:
        return None
    if query.valuesLists:
        return None
    scope: list[tuple[str, list[tuple[str, str]]]] = []  # (alias, columns) per FROM item
    for item in query.fromClause or ():
        if not _add_to_scope(model, item, scope):
            return None
    columns = []
    for target in query.targetList or ():
        value = target.val
        if isinstance(value, ast.ColumnRef) and isinstance(value.fields[-1], ast.A_Star):
            qualifier = value.fields[0].sval if len(value.fields) > 1 else None
            for alias, items in scope:
                if qualifier is None or qualifier == alias:
                    columns += items
            continue
        name = target.name or figure_colname(value)[0] or "?column?"
        columns.append((name, expression_type(value, scope)))
    return columns


def _add_to_scope(model: Model, item, scope: list) -> bool:
    if isinstance(item, ast.RangeVar):
        table = model.tables.get(relation_name(item))
        if table is None:
            return False
        alias = item.alias.aliasname if item.alias else item.relname
        scope.append((alias, [(c.name, c.type) for c in table.columns.values()]))
        return True
    if isinstance(item, ast.JoinExpr) and not item.usingClause and not item.isNatural:
        return _add_to_scope(model, item.larg, scope) and _add_to_scope(model, item.rarg, scope)
    if isinstance(item, ast.RangeSubselect) and item.alias is not None:
        columns = query_columns(model, item.subquery)
        if columns is None:
            return False
        scope.append((item.alias.aliasname, columns))
        return True
    return False


def expression_type(node, scope) -> str:
    """The type an expression's column gets in the new table, or ``unknown``."""
    if isinstance(node, ast.TypeCast):
        return type_name(node.typeName)[0]
    if isinstance(node, ast.ColumnRef):
        qualifier = node.fields[0].sval if len(node.fields) > 1 else None
        column = node.fields[-1].sval
        for alias, items in scope:
            if qualifier is None or qualifier == alias:
                for name, kind in items:
                    if name == column:
                        return kind
        return UNKNOWN
    if isinstance(node, ast.A_Const):
        value = node.val
        if node.isnull or isinstance(value, ast.String):
            return "text"  # an untyped literal becomes text
        if isinstance(value, ast.Integer):
            return "integer"
        if isinstance(value, ast.Float):
            return "numeric"
        if isinstance(value, ast.Boolean):
            return "boolean"
        return UNKNOWN
    if isinstance(node, ast.FuncCall):
        return FUNCTION_TYPES.get(node.funcname[-1].sval, UNKNOWN)
    if isinstance(node, ast.SQLValueFunction):
        name = figure_colname(node)[0]
        kind = VALUE_FUNCTION_TYPES.get(name, UNKNOWN)
        if node.typmod is not None and node.typmod >= 0 and " " in kind:
            word, _, rest = kind.partition(" ")
            return f"{word}({node.typmod}) {rest}"
        return kind
    return UNKNOWN
