"""The data-loss guard: what a plan would destroy of the rows the database holds now.

Invariant: a statement's threat is read from its syntax tree (``sqltree.destroys``:
DROP TABLE, ALTER TABLE ... DROP COLUMN, DROP SCHEMA ... CASCADE, TRUNCATE, DELETE
without WHERE) and the loss is then asked of the server, on the connection that
will run the plan (under the migration lock): a table counts when it holds a row,
a column when a row holds a value in it, a schema when one of its tables holds a
row. Only reads; an object that does not exist loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

# How each kind of loss is said, for a list of the objects it names.
SAID = {
    "table": "drop table(s) holding rows",
    "column": "drop column(s) holding data",
    "schema": "drop schema(s) with tables holding rows",
    "truncate": "truncate table(s) holding rows",
    "delete": "delete every row of",
}


@dataclass(frozen=True)
class Loss:
    kind: str  # a key of SAID
    what: str  # "widgets", "app.widgets", "widgets.size", "app (app.widgets, app.orders)"
    label: str  # the version whose step would lose it ("00002_add_widget_size")


def losses(conn, plan) -> list[Loss]:
    """What running ``plan`` (a ``runner.plan.Plan``) would destroy, in order."""
    found = []
    for step, threat in plan.destroys():
        what = _lost(conn, threat)
        if what is not None:
            found.append(Loss(threat.kind, what, step.version.label))
    return found


def describe(found: list[Loss]) -> list[str]:
    """``["drop table(s) holding rows: widgets, gadgets", ...]``: one phrase per kind."""
    phrases = []
    for kind, said in SAID.items():
        names = [loss.what for loss in found if loss.kind == kind]
        if names:
            phrases.append(f"{said}: {', '.join(names)}")
    return phrases


def _lost(conn, threat) -> str | None:
    from psycopg import sql

    if threat.kind == "schema":
        holding = [
            f"{threat.relation}.{table}"
            for table in _tables_of(conn, threat.relation)
            if _has_row(conn, sql.Identifier(threat.relation, table))
        ]
        return f"{threat.relation} ({', '.join(holding)})" if holding else None
    table = sql.Identifier(*threat.relation.split("."))
    # Quoted, so a mixed-case name is looked up as written, not folded to lower case.
    oid = conn.execute("SELECT to_regclass(%s)::oid", (table.as_string(conn),)).fetchone()[0]
    if oid is None:
        return None
    if threat.kind != "column":
        return threat.relation if _has_row(conn, table) else None
    column = conn.execute(
        "SELECT 1 FROM pg_attribute WHERE attrelid = %s AND attname = %s AND NOT attisdropped",
        (oid, threat.column),
    ).fetchone()
    if column is None:
        return None
    found = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {} IS NOT NULL)").format(
        table, sql.Identifier(threat.column)
    )
    return f"{threat.relation}.{threat.column}" if conn.execute(found).fetchone()[0] else None


def _tables_of(conn, schema: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
            (schema,),
        )
    ]


def _has_row(conn, table) -> bool:
    from psycopg import sql

    return conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(table)).fetchone()[0]
