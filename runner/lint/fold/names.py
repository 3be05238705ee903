"""The names PostgreSQL chooses for what a statement leaves unnamed.

Invariant: each function here gives the name the server gives, by the server's
own algorithm (``makeObjectName``, ``ChooseRelationName``,
``ChooseConstraintName``, ``ChooseIndexColumnNames`` and ``FigureColname`` in
PostgreSQL's sources): pieces cut to fit 63 bytes without splitting a
character, and a number added to the label until the name is free.
``tests/test_lint_catalog.py`` compares the results with a real catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

NAMEDATALEN = 64  # identifiers hold at most NAMEDATALEN - 1 bytes


def clip(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` bytes (``pg_mbcliplen``)."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode(errors="ignore")


def truncate(identifier: str) -> str:
    """An identifier as the server stores it: cut to 63 bytes."""
    return clip(identifier, NAMEDATALEN - 1)


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """``makeObjectName``: name1_name2_label, the longer piece shortened first to fit."""
    overhead = len(label.encode()) + 1 if label else 0
    chars1 = len(name1.encode())
    chars2 = 0
    if name2:
        chars2 = len(name2.encode())
        overhead += 1
    available = NAMEDATALEN - 1 - overhead
    while chars1 + chars2 > available:
        if chars1 > chars2:
            chars1 -= 1
        else:
            chars2 -= 1
    parts = [clip(name1, chars1)]
    if name2:
        parts.append(clip(name2, chars2))
    if label:
        parts.append(label)
    return "_".join(parts)


def choose(name1: str, name2: str | None, label: str, taken: Callable[[str], bool]) -> str:
    """``ChooseRelationName`` / ``ChooseConstraintName``: label, label1, label2... until
    ``taken`` says the name is free."""
    attempt = 0
    while True:
        name = make_object_name(name1, name2, f"{label}{attempt or ''}")
        if not taken(name):
            return name
        attempt += 1


def name_addition(names: Iterable[str]) -> str:
    """``ChooseIndexNameAddition``: names joined by ``_``, stopping once 63 bytes are
    reached (what ``make_object_name`` then shortens)."""
    joined = ""
    for name in names:
        joined = f"{joined}_{name}" if joined else name
        if len(joined.encode()) >= NAMEDATALEN:
            break
    return joined


def element_name(element) -> str:
    """The name one index element (an ``IndexElem``) contributes: its column, or
    ``FigureColname`` of its expression, or ``expr``."""
    if element.indexcolname:
        return element.indexcolname
    if element.name is not None:
        return element.name
    return figure_colname(element.expr)[0] or "expr"


def index_column_names(originals: list[str]) -> list[str]:
    """``ChooseIndexColumnNames``: the names of an index's columns (keys, then INCLUDE
    columns), each numbered when an earlier one has it already."""
    chosen: list[str] = []
    for original in originals:
        current = original
        number = 1
        while current in chosen:
            suffix = str(number)
            current = clip(original, NAMEDATALEN - 1 - len(suffix)) + suffix
            number += 1
        chosen.append(current)
    return chosen


# FigureColname's names for SQL-standard functions parsed into special nodes.
_SVF_NAMES = {
    "SVFOP_CURRENT_DATE": "current_date",
    "SVFOP_CURRENT_TIME": "current_time",
    "SVFOP_CURRENT_TIME_N": "current_time",
    "SVFOP_CURRENT_TIMESTAMP": "current_timestamp",
    "SVFOP_CURRENT_TIMESTAMP_N": "current_timestamp",
    "SVFOP_LOCALTIME": "localtime",
    "SVFOP_LOCALTIME_N": "localtime",
    "SVFOP_LOCALTIMESTAMP": "localtimestamp",
    "SVFOP_LOCALTIMESTAMP_N": "localtimestamp",
    "SVFOP_CURRENT_ROLE": "current_role",
    "SVFOP_CURRENT_USER": "current_user",
    "SVFOP_USER": "user",
    "SVFOP_SESSION_USER": "session_user",
    "SVFOP_CURRENT_CATALOG": "current_catalog",
    "SVFOP_CURRENT_SCHEMA": "current_schema",
}


def figure_colname(node) -> tuple[str | None, int]:
    """``FigureColnameInternal``: (the name a select-list or index expression gets, its
    strength: 2 a real name, 1 a fallback such as a type's or ``case``, 0 none)."""
    from pglast import ast

    if isinstance(node, ast.ColumnRef):
        last = node.fields[-1] if node.fields else None
        return (last.sval, 2) if isinstance(last, ast.String) else (None, 0)
    if isinstance(node, ast.A_Indirection):
        for item in reversed(node.indirection or ()):
            if isinstance(item, ast.String):
                return item.sval, 2
        return figure_colname(node.arg)
    if isinstance(node, ast.FuncCall):
        return node.funcname[-1].sval, 2
    if isinstance(node, ast.A_Expr):
        if getattr(node.kind, "name", "") == "AEXPR_NULLIF":
            return "nullif", 2
        return None, 0
    if isinstance(node, ast.TypeCast):
        name, strength = figure_colname(node.arg)
        if strength <= 1 and node.typeName is not None:
            return node.typeName.names[-1].sval, 1
        return name, strength
    if isinstance(node, ast.CollateClause):
        return figure_colname(node.arg)
    if isinstance(node, ast.CaseExpr):
        name, strength = figure_colname(node.defresult)
        return (name, strength) if strength > 1 else ("case", 1)
    if isinstance(node, ast.A_ArrayExpr):
        return "array", 2
    if isinstance(node, ast.RowExpr):
        return "row", 2
    if isinstance(node, ast.CoalesceExpr):
        return "coalesce", 2
    if isinstance(node, ast.MinMaxExpr):
        return ("greatest" if node.op.name == "IS_GREATEST" else "least"), 2
    if isinstance(node, ast.SQLValueFunction):
        return _SVF_NAMES.get(node.op.name), 2
    if isinstance(node, ast.SubLink):
        kind = node.subLinkType.name
        if kind == "EXISTS_SUBLINK":
            return "exists", 2
        if kind == "ARRAY_SUBLINK":
            return "array", 2
        if kind == "EXPR_SUBLINK" and isinstance(node.subselect, ast.SelectStmt):
            targets = node.subselect.targetList or ()
            if targets and targets[0].name:
                return targets[0].name, 2
            if targets:
                return figure_colname(targets[0].val)
        return None, 0
    if isinstance(node, ast.GroupingFunc):
        return "grouping", 2
    if isinstance(node, ast.BooleanTest | ast.NullTest):
        return None, 0
    return None, 0
