"""A snapshot of the schema a database holds, read from ``pg_catalog``.

Invariant: two snapshots compare equal exactly when the two databases hold the
same tables, columns (type, nullability, default), constraints, indexes,
triggers, functions and comments in the schema read, ignoring object
identifiers and the runner's own bookkeeping tables. Definitions are
PostgreSQL's own deparsed text (``pg_get_constraintdef`` and friends), so the
comparison does not depend on how the SQL was written.
"""

from __future__ import annotations

from typing import Any

# The runner's, yoyo's and goose's own tables are bookkeeping, not schema
# (goose's table stays behind in a database adopted from goose).
BOOKKEEPING_PATTERN = r"^(_yoyo_.*|yoyo_lock|yoyo_tmp_.*|liftdb_.*|goose_db_version(_id_seq)?)$"

_QUERIES: dict[str, str] = {
    "tables": """
        SELECT c.relname, coalesce(obj_description(c.oid, 'pg_class'), '')
        FROM pg_class c
        WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind IN ('r', 'p')
          AND c.relname !~ %(bookkeeping)s
        ORDER BY 1
    """,
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
               coalesce(col_description(c.oid, a.attnum), '')
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind IN ('r', 'p')
          AND c.relname !~ %(bookkeeping)s AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, a.attnum
    """,
    "constraints": """
        SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid), k.convalidated,
               coalesce(obj_description(k.oid, 'pg_constraint'), '')
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relname !~ %(bookkeeping)s
          AND k.contype <> 'n'
        ORDER BY 1, 2
    """,
    "indexes": """
        SELECT t.relname, i.relname, pg_get_indexdef(i.oid), x.indisvalid,
               coalesce(obj_description(i.oid, 'pg_class'), '')
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = to_regnamespace(%(schema)s) AND t.relname !~ %(bookkeeping)s
        ORDER BY 1, 2
    """,
    "triggers": """
        SELECT c.relname, g.tgname, pg_get_triggerdef(g.oid),
               coalesce(obj_description(g.oid, 'pg_trigger'), '')
        FROM pg_trigger g
        JOIN pg_class c ON c.oid = g.tgrelid
        WHERE c.relnamespace = to_regnamespace(%(schema)s) AND NOT g.tgisinternal
          AND c.relname !~ %(bookkeeping)s
        ORDER BY 1, 2
    """,
    "functions": """
        SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid),
               coalesce(obj_description(p.oid, 'pg_proc'), '')
        FROM pg_proc p
        WHERE p.pronamespace = to_regnamespace(%(schema)s) AND p.proname !~ %(bookkeeping)s
        ORDER BY 1
    """,
    "sequences": """
        SELECT c.relname FROM pg_class c
        WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind = 'S'
          AND c.relname !~ %(bookkeeping)s
        ORDER BY 1
    """,
    "types": """
        SELECT t.typname, t.typtype::text FROM pg_type t
        WHERE t.typnamespace = to_regnamespace(%(schema)s) AND t.typtype IN ('e', 'd', 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
        ORDER BY 1
    """,
}


def snapshot(conn, schema: str = "public") -> dict[str, tuple[tuple[Any, ...], ...]]:
    """Every object of the schema, as sorted tuples of plain values: compare with ``==``."""
    params = {"schema": schema, "bookkeeping": BOOKKEEPING_PATTERN}
    return {
        kind: tuple(tuple(row) for row in conn.execute(query, params).fetchall())
        for kind, query in _QUERIES.items()
    }


def as_reloaded(conn, snap: dict[str, tuple]) -> dict[str, tuple]:
    """The snapshot with each CHECK constraint's text as PostgreSQL deparses it reloaded.

    ``pg_get_constraintdef`` of ``col IN ('a', 'b')`` on a varchar column is not the text
    that reloading it gives (a pg_dump restore changes the same way, once), so a database
    restored from a dump, or made from sql/schema/schema.sql, would never compare equal to one
    the chain built. Each text is added to its table on ``conn``, which must hold the
    same tables (the scratch database, whose tables are empty), and read back, in a
    transaction rolled back; a text that does not apply there stays as it was.
    """
    from psycopg import Error, sql

    reloaded = []
    with conn.transaction(force_rollback=True):
        for row in snap.get("constraints", ()):
            table, name, kind, definition, *rest = row
            if kind == "c":
                try:
                    with conn.transaction():
                        conn.execute(
                            sql.SQL("ALTER TABLE {} ADD CONSTRAINT liftdb_reloaded {}").format(
                                sql.Identifier(table), sql.SQL(definition)
                            )
                        )
                        (definition,) = conn.execute(
                            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                            " WHERE conname = 'liftdb_reloaded' AND conrelid = %s::regclass",
                            (table,),
                        ).fetchone()
                        conn.execute(
                            sql.SQL("ALTER TABLE {} DROP CONSTRAINT liftdb_reloaded").format(
                                sql.Identifier(table)
                            )
                        )
                except Error:
                    pass  # not this table, or not this column: a difference either way
            reloaded.append((table, name, kind, definition, *rest))
    return {**snap, "constraints": tuple(sorted(reloaded))}


def is_empty(snap: dict[str, tuple]) -> bool:
    """True when the snapshot holds no object at all."""
    return not any(snap.values())


def differences(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """Human-readable lines naming what one snapshot has and the other lacks."""
    lines = []
    for kind in sorted(set(before) | set(after)):
        old, new = set(before.get(kind, ())), set(after.get(kind, ()))
        lines += [f"{kind}: only before: {row}" for row in sorted(old - new, key=repr)]
        lines += [f"{kind}: only after: {row}" for row in sorted(new - old, key=repr)]
    return lines
