"""The schema as ``pg_catalog`` holds it and as the lint's model claims it, in one shape.

``from_catalog(conn)`` reads every user schema of the connected database;
``from_model(conn, model)`` writes the lint's ``Model`` in the same shape, with
each expression (default, generation expression, CHECK, index key and WHERE)
given to the server on a throwaway copy of its table, in a rolled-back
transaction, and read back in PostgreSQL's own words: so the two shapes are
equal exactly when the model says what the catalog holds, whatever the SQL's
spelling. A shape is a dict ``{"column public.t.c": (...), ...}``; ``diff``
lists, one line each, what differs.

Names are the model's: bare in ``public``, ``schema.name`` elsewhere. The
runner's bookkeeping tables and objects that belong to extensions are left out.
"""

from __future__ import annotations

import itertools
from typing import Any

import psycopg
from psycopg import sql

from runner.catalog import BOOKKEEPING_PATTERN

Shape = dict[str, tuple[Any, ...]]

USER_SCHEMA = """n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname !~ '^pg_(toast_)?temp_'"""
NOT_EXTENSION = """NOT EXISTS (SELECT FROM pg_depend e
    WHERE e.classid = {catalog}::regclass AND e.objid = {oid} AND e.deptype = 'e')"""
QUALIFIED = "CASE WHEN {n}.nspname = 'public' THEN {name} ELSE {n}.nspname || '.' || {name} END"
NAME = QUALIFIED.format(n="n", name="c.relname")

TABLES = f"""
SELECT c.oid, {NAME}, obj_description(c.oid, 'pg_class'), pg_get_partkeydef(c.oid),
       pg_get_expr(c.relpartbound, c.oid),
       ARRAY(SELECT {QUALIFIED.format(n="pn", name="p.relname")}
             FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
             JOIN pg_namespace pn ON pn.oid = p.relnamespace
             WHERE i.inhrelid = c.oid ORDER BY i.inhseqno)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND {USER_SCHEMA}
  AND NOT (n.nspname = 'public' AND c.relname ~ %(bookkeeping)s)
  AND {NOT_EXTENSION.format(catalog="'pg_class'", oid="c.oid")}
ORDER BY 2
"""

COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text, a.attidentity::text,
       col_description(a.attrelid, a.attnum)
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

CONSTRAINTS = f"""
SELECT k.conname, k.contype::text,
       ARRAY(SELECT attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute ON attrelid = k.conrelid AND attnum = u.n ORDER BY u.i),
       coalesce(x.indnullsnotdistinct, false),
       (SELECT {QUALIFIED.format(n="fn", name="f.relname")} FROM pg_class f
        JOIN pg_namespace fn ON fn.oid = f.relnamespace WHERE f.oid = k.confrelid),
       ARRAY(SELECT attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute ON attrelid = k.confrelid AND attnum = u.n ORDER BY u.i),
       k.confdeltype::text, pg_get_expr(k.conbin, k.conrelid), k.convalidated,
       obj_description(k.oid, 'pg_constraint')
FROM pg_constraint k LEFT JOIN pg_index x ON x.indexrelid = k.conindid
WHERE k.conrelid = %s AND k.contype IN ('p', 'u', 'f', 'c', 'x')
  -- not the copies PostgreSQL makes, on the referencing table, of a foreign key to a
  -- partitioned table (one per partition, named _fkey1 on 15, _fkey_1 on 18): its own
  AND NOT EXISTS (SELECT FROM pg_constraint p WHERE p.oid = k.conparentid
                  AND p.conrelid = k.conrelid)
ORDER BY 1
"""

INDEXES = f"""
SELECT {QUALIFIED.format(n="n", name="i.relname")}, x.indrelid, x.indisunique,
       pg_get_indexdef(i.oid), obj_description(i.oid, 'pg_class')
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE x.indrelid = ANY(%s)
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = x.indexrelid
                  AND k.conrelid = x.indrelid)
ORDER BY 1
"""

FUNCTIONS = f"""
SELECT p.oid::regprocedure::text, obj_description(p.oid, 'pg_proc')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {USER_SCHEMA} AND {NOT_EXTENSION.format(catalog="'pg_proc'", oid="p.oid")}
  AND p.proname !~ %(bookkeeping)s
  AND NOT EXISTS (SELECT FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass
                  AND i.objid = p.oid AND i.deptype = 'i')  -- a range type's constructors
ORDER BY 1
"""

TRIGGERS = "SELECT tgname FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal ORDER BY 1"

TYPES = f"""
SELECT {QUALIFIED.format(n="n", name="t.typname")}, t.typtype::text,
       ARRAY(SELECT enumlabel::text FROM pg_enum WHERE enumtypid = t.oid ORDER BY enumsortorder),
       CASE t.typtype WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
                      WHEN 'r' THEN (SELECT format_type(rngsubtype, NULL) FROM pg_range
                                     WHERE rngtypid = t.oid) END,
       t.typnotnull,
       -- a domain's CHECKs (its NOT NULL is a constraint too from 17 on: typnotnull says it)
       ARRAY(SELECT ARRAY[conname::text, convalidated::text] FROM pg_constraint
             WHERE contypid = t.oid AND contype = 'c' ORDER BY conname)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {USER_SCHEMA} AND (t.typtype IN ('e', 'd', 'r') OR t.typtype = 'c' AND EXISTS (
    SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
  AND {NOT_EXTENSION.format(catalog="'pg_type'", oid="t.oid")}
ORDER BY 1
"""

SEQUENCES = f"""
SELECT {NAME},
       (SELECT ARRAY[{QUALIFIED.format(n="tn", name="t.relname")}, a.attname]
        FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_namespace tn ON tn.oid = t.relnamespace
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND c.relpersistence <> 't' AND {USER_SCHEMA}
  AND NOT (n.nspname = 'public' AND c.relname ~ %(bookkeeping)s)
  AND {NOT_EXTENSION.format(catalog="'pg_class'", oid="c.oid")}
ORDER BY 1
"""

SCHEMAS = f"""
SELECT n.nspname FROM pg_namespace n
WHERE {USER_SCHEMA} AND n.nspname <> 'public'
  AND {NOT_EXTENSION.format(catalog="'pg_namespace'", oid="n.oid")}
ORDER BY 1
"""

DEFAULT = """SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a
    ON a.attrelid = d.adrelid AND a.attnum = d.adnum
    WHERE d.adrelid = %s::regclass AND a.attname = %s"""
# A CHECK's columns (conkey) are the ones its expression reads: compared as a set.
GENERATED = {"": None, "s": "stored", "v": "virtual"}
IDENTITY = {"": None, "a": "always", "d": "by default"}
KINDS = {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check", "x": "exclusion"}
TYPE_KINDS = {"e": "enum", "d": "domain", "r": "range", "c": "composite"}
ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}


def from_catalog(conn: psycopg.Connection) -> Shape:
    """Every table, column, constraint, index, function, trigger, type (a domain with its
    NOT NULL and its CHECKs, by name, validated or not) and schema."""
    shape: Shape = {}
    tables = conn.execute(TABLES, {"bookkeeping": BOOKKEEPING_PATTERN}).fetchall()
    for oid, name, comment, key, bound, parents in tables:
        columns = conn.execute(COLUMNS, (oid,)).fetchall()
        shape[f"table {name}"] = (
            tuple(c[0] for c in columns), comment, tuple(parents), key, bound
        )  # fmt: skip
        for column, kind, not_null, default, generated, identity, note in columns:
            shape[f"column {name}.{column}"] = (
                kind, not_null, default, GENERATED[generated], IDENTITY[identity], note
            )  # fmt: skip
        for row in conn.execute(CONSTRAINTS, (oid,)).fetchall():
            cname, kind, cols, nnd, target, ref_cols, action, check, valid, note = row
            shape[f"constraint {name}.{cname}"] = (
                KINDS[kind], tuple(sorted(cols) if kind == "c" else cols),
                nnd if kind in "pu" else False,
                target, tuple(ref_cols), ACTIONS.get(action, "no action"), check, valid, note,
            )  # fmt: skip
        for (trigger,) in conn.execute(TRIGGERS, (oid,)).fetchall():
            shape[f"trigger {name}.{trigger}"] = ()
    names = {oid: name for oid, name, *_ in tables}
    for index, table, unique, definition, note in conn.execute(
        INDEXES, ([oid for oid, *_ in tables],)
    ).fetchall():
        shape[f"index {index}"] = (names[table], unique, _after_using(definition), note)
    functions = conn.execute(FUNCTIONS, {"bookkeeping": BOOKKEEPING_PATTERN}).fetchall()
    for signature, note in functions:
        shape[f"function {signature}"] = (note,)
    for name, kind, labels, base, not_null, checks in conn.execute(TYPES).fetchall():
        detail = tuple(labels) if kind == "e" else base or ""
        checks = tuple((check, valid == "true") for check, valid in checks)
        shape[f"type {name}"] = (TYPE_KINDS[kind], detail, not_null, checks)
    for (name,) in conn.execute(SCHEMAS).fetchall():
        shape[f"schema {name}"] = ()
    for name, owner in conn.execute(SEQUENCES, {"bookkeeping": BOOKKEEPING_PATTERN}).fetchall():
        shape[f"sequence {name}"] = (tuple(owner) if owner else None,)
    return shape


def from_model(conn: psycopg.Connection, model) -> Shape:
    """The model in ``from_catalog``'s shape, its expressions in the server's words."""
    shape: Shape = {}
    with conn.transaction(force_rollback=True):
        for name, table in model.tables.items():
            probe = _Probe(conn, name)
            shape[f"table {name}"] = (
                tuple(table.columns), table.comment, tuple(table.inherits),
                table.partition_key, table.partition_bound,
            )  # fmt: skip
            for column in table.columns.values():
                default = column.default
                if default is not None:
                    default = probe.expression(column, default)
                shape[f"column {name}.{column.name}"] = (
                    column.type, column.not_null, default, column.generated, column.identity,
                    column.comment,
                )  # fmt: skip
            for constraint in table.constraints.values():
                check = None
                if constraint.expression is not None:
                    check = probe.check(constraint.expression)
                columns = constraint.columns
                shape[f"constraint {name}.{constraint.name}"] = (
                    constraint.kind,
                    tuple(sorted(columns) if constraint.kind == "check" else columns),
                    constraint.nulls_not_distinct,
                    constraint.references, tuple(constraint.ref_columns), constraint.on_delete,
                    check, constraint.validated, constraint.comment,
                )  # fmt: skip
            for index in model.table_indexes(name):
                shape[f"index {index.name}"] = (
                    index.table,
                    index.unique,
                    probe.index(index),
                    index.comment,
                )
        for trigger_table, trigger in model.triggers:
            shape[f"trigger {trigger_table}.{trigger}"] = ()
    for signature in model.functions:
        shape[f"function {signature}"] = (model.function_comments.get(signature),)
    for name, kind in model.types.items():
        checks = tuple((check, check not in kind.not_valid) for check in sorted(kind.checks))
        shape[f"type {name}"] = (kind.kind, kind.detail, kind.not_null, checks)
    for name in model.schemas:
        shape[f"schema {name}"] = ()
    for name, owner in model.sequences.items():
        shape[f"sequence {name}"] = (owner,)
    return shape


def diff(model: Shape, catalog: Shape) -> list[str]:
    """One line per object the two shapes disagree on."""
    lines = []
    for key in sorted(model.keys() | catalog.keys()):
        ours, theirs = model.get(key), catalog.get(key)
        if ours == theirs:
            continue
        if theirs is None:
            lines.append(f"{key}: in the model only {ours}")
        elif ours is None:
            lines.append(f"{key}: in the catalog only {theirs}")
        else:
            lines.append(f"{key}: model {ours} != catalog {theirs}")
    return lines


def _option(index, position: int) -> str:
    options = getattr(index, "options", ())
    return options[position] if position < len(options) else ""


def _after_using(definition: str) -> str:
    """``pg_get_indexdef`` without its index and table names: ``USING btree (a, b) ...``."""
    return definition[definition.index(" USING ") + 1 :]


_PROBES = itertools.count()  # names of probe objects: indexes share one namespace


class _Probe:
    """A temporary copy of a real table (``LIKE``), to hear an expression in the server's
    words; each attempt in a savepoint, so an expression the server refuses is shown
    as written, marked, and the comparison fails on it rather than the test erroring."""

    def __init__(self, conn: psycopg.Connection, table: str) -> None:
        self.conn = conn
        self.table: sql.Composable | None = None
        name = sql.Identifier(self._name())
        parts = table.split(".") if "." in table else ["public", table]
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL("CREATE TEMP TABLE {} (LIKE {})").format(name, sql.Identifier(*parts))
                )
            self.table = name
        except psycopg.Error:
            pass  # the model has a table the catalog lacks: that difference is reported

    def _try(self, statement: sql.Composable, query: str, name: str, written: str) -> str:
        if self.table is None:
            return f"{written} (not checked: no such table)"
        try:
            with self.conn.transaction():
                self.conn.execute(statement)
                table = self.table.as_string(self.conn)
                return self.conn.execute(query, (table, name)).fetchone()[0]
        except psycopg.Error as exc:
            return f"{written} (refused: {str(exc).splitlines()[0]})"

    def _name(self) -> str:
        return f"lint_probe_{next(_PROBES)}"

    def expression(self, column, expression) -> str:
        written = str(expression)
        if column.generated:
            name = self._name()
            statement = sql.SQL("ALTER TABLE {} ADD COLUMN {} {} GENERATED ALWAYS AS ({}) STORED")
            return self._try(
                statement.format(
                    self.table, sql.Identifier(name), sql.SQL(column.type), sql.SQL(written)
                ),
                DEFAULT,
                name,
                written,
            )
        return self._try(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
                self.table, sql.Identifier(column.name), sql.SQL(written)
            ),
            DEFAULT,
            column.name,
            written,
        )

    def check(self, expression) -> str:
        written = str(expression)
        name = self._name()
        return self._try(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({}) NOT VALID").format(
                self.table, sql.Identifier(name), sql.SQL(written)
            ),
            "SELECT pg_get_expr(conbin, conrelid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND conname = %s",
            name,
            written,
        )

    def index(self, index) -> str:
        keys = []
        for key, direction in index.elements:
            text = str(key)
            shown = sql.Identifier(text) if isinstance(key, str) else sql.SQL(f"({text})")
            option, _, nulls = _option(index, len(keys)).partition("NULLS ")
            extra = [option] if option.strip() else []
            if direction == "DESC":
                extra.append("DESC")
            if nulls:
                extra.append(f"NULLS {nulls}")
            keys.append(sql.SQL(" ").join([shown, *map(sql.SQL, extra)]))
        name = self._name()
        statement = sql.SQL("CREATE {} INDEX {} ON {} USING {} ({})").format(
            sql.SQL("UNIQUE" if index.unique else ""), sql.Identifier(name), self.table,
            sql.SQL(index.method), sql.SQL(", ").join(keys),
        )  # fmt: skip
        if index.include:
            statement += sql.SQL(" INCLUDE ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, index.include))
            )
        if index.nulls_not_distinct:
            statement += sql.SQL(" NULLS NOT DISTINCT")
        if index.where is not None:
            statement += sql.SQL(" WHERE {}").format(sql.SQL(str(index.where)))
        written = f"{index.method} {index.elements} where {index.where}"
        return _after_using(
            self._try(
                statement,
                "SELECT pg_get_indexdef(i.oid) FROM pg_class i JOIN pg_index x"
                " ON x.indexrelid = i.oid WHERE x.indrelid = %s::regclass AND i.relname = %s",
                name,
                f"x USING {written}",
            )
        )
