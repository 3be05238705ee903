"""The lint's folded model agrees with what PostgreSQL builds from the same chain.

After applying the chain to a real server, every table's columns, types,
nullability, defaults, constraints, indexes, triggers, functions and comments
read from ``pg_catalog`` equal the model ``liftdb lint`` folds without a
server. Defaults and CHECK expressions are compared in PostgreSQL's own words:
the model's expression is given to the server on a throwaway table in a
rolled-back transaction, and its deparsed form compared with the real one.
"""

from __future__ import annotations

import pglast
import pytest
from conftest import SQL_DIR

from runner.catalog import BOOKKEEPING_PATTERN
from runner.lint import lint
from runner.lint.model import index_element

MODEL = lint(SQL_DIR).model
KINDS = {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check"}
ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}


def rows(conn, sql: str, *params) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def test_tables_are_the_same(db):
    live = {name for (name,) in rows(db, "SELECT relname FROM pg_class WHERE relkind = 'r' "
                                          "AND relnamespace = 'public'::regnamespace "
                                          "AND relname !~ '^(_yoyo|yoyo|liftdb_)'")}  # fmt: skip
    assert live == set(MODEL.tables)


@pytest.mark.parametrize("table", sorted(MODEL.tables))
def test_columns_types_nullability_defaults_and_comments(db, table):
    live = rows(
        db,
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum)
           FROM pg_attribute a LEFT JOIN pg_attrdef d
             ON d.adrelid = a.attrelid AND d.adnum = a.attnum
           WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
           ORDER BY a.attnum""",
        table,
    )
    columns = list(MODEL.tables[table].columns.values())
    assert [(r[0], r[1], r[2], r[4]) for r in live] == [
        (c.name, c.type, c.not_null, c.comment) for c in columns
    ]
    # The model's defaults, deparsed by the server on a throwaway table.
    probe = ", ".join(
        f'"{c.name}" {c.type}' + (f" DEFAULT {c.default}" if c.default else "") for c in columns
    )
    with db.transaction(force_rollback=True):
        db.execute(f"CREATE TEMP TABLE lint_probe ({probe})")
        ours = rows(
            db,
            """SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE a.attrelid = 'lint_probe'::regclass AND a.attnum > 0 ORDER BY a.attnum""",
        )
    assert ours == [(r[0], r[3]) for r in live]
    assert rows(db, "SELECT obj_description(%s::regclass, 'pg_class')", table)[0][0] == (
        MODEL.tables[table].comment
    )


def column_names(conn, relation: int, numbers) -> tuple[str, ...]:
    return tuple(
        rows(conn, "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum = %s",
             relation, n)[0][0]
        for n in numbers or ()
    )  # fmt: skip


@pytest.mark.parametrize("table", sorted(MODEL.tables))
def test_constraints(db, table):
    live = rows(
        db,
        """SELECT k.conname, k.contype::text, k.conrelid::int, k.conkey, k.confrelid::int,
                  k.confrelid::regclass::text, k.confkey, k.confdeltype::text, k.convalidated,
                  coalesce(i.indnullsnotdistinct, false), pg_get_constraintdef(k.oid),
                  obj_description(k.oid, 'pg_constraint')
           FROM pg_constraint k LEFT JOIN pg_index i ON i.indexrelid = k.conindid
           WHERE k.conrelid = %s::regclass AND k.contype IN ('p', 'u', 'f', 'c')
           ORDER BY 1""",
        table,
    )
    model = MODEL.tables[table].constraints
    assert [r[0] for r in live] == sorted(model)
    checks = []
    for name, kind, rel, key, frel, ftable, fkey, action, valid, nnd, definition, comment in live:
        constraint = model[name]
        assert constraint.kind == KINDS[kind], name
        assert constraint.validated == valid and constraint.comment == comment, name
        if kind in "pu":
            assert (constraint.columns, constraint.nulls_not_distinct) == (
                column_names(db, rel, key),
                nnd,
            ), name
        if kind == "f":
            assert constraint.columns == column_names(db, rel, key), name
            assert (constraint.references, constraint.ref_columns, constraint.on_delete) == (
                ftable,
                column_names(db, frel, fkey),
                ACTIONS[action],
            ), name
        if kind == "c":
            checks.append((name, constraint.expression, definition))
    # CHECK expressions in the server's words: the model's, added to a throwaway copy.
    with db.transaction(force_rollback=True):
        db.execute(f"CREATE TEMP TABLE lint_probe (LIKE {table})")
        for name, expression, definition in checks:
            db.execute(f"ALTER TABLE lint_probe ADD CONSTRAINT {name} CHECK ({expression})")
            (ours,) = rows(
                db,
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'lint_probe'::regclass AND conname = %s",
                name,
            )[0]
            assert ours == definition, name


def test_indexes(db):
    live = rows(
        db,
        """SELECT i.relname, pg_get_indexdef(i.oid), obj_description(i.oid, 'pg_class')
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid
           WHERE t.relnamespace = 'public'::regnamespace AND t.relname !~ '^(_yoyo|yoyo|liftdb_)'
             AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = x.indexrelid)
           ORDER BY 1""",
    )
    assert [r[0] for r in live] == sorted(MODEL.indexes)
    for name, definition, comment in live:
        statement = pglast.parse_sql(definition)[0].stmt
        index = MODEL.indexes[name]
        assert (index.table, index.unique, index.nulls_not_distinct, index.comment) == (
            statement.relation.relname, statement.unique, statement.nulls_not_distinct, comment
        ), name  # fmt: skip
        assert index.elements == tuple(index_element(e) for e in statement.indexParams), name
        assert index.where is None and statement.whereClause is None, name


def test_functions_and_triggers(db):
    functions = rows(
        db,
        "SELECT oid::regprocedure::text, obj_description(oid, 'pg_proc') FROM pg_proc "
        "WHERE pronamespace = 'public'::regnamespace AND proname !~ %s ORDER BY 1",
        BOOKKEEPING_PATTERN,  # liftdb's guard on yoyo's lock table is bookkeeping
    )
    assert dict(functions) == {
        name: MODEL.function_comments.get(name) for name in sorted(MODEL.functions)
    }
    triggers = rows(
        db,
        "SELECT c.relname, g.tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "WHERE NOT g.tgisinternal AND c.relnamespace = 'public'::regnamespace"
        " AND c.relname !~ %s ORDER BY 1, 2",
        BOOKKEEPING_PATTERN,
    )
    assert sorted(triggers) == sorted(MODEL.triggers)
