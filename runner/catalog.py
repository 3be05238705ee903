"""A snapshot of the schema a database holds, read from ``pg_catalog``, and its differences
from another in words.

Invariant: two snapshots compare equal exactly when the two databases hold the same
objects, of every kind a chain can create, in every schema outside PostgreSQL's own:
schemas, tables (partitioning, partitions and their bounds, inheritance, persistence, row
security), columns (position, full formatted type, nullability, default, generated
expression, identity, collation), constraints, indexes, triggers, functions and
procedures, views and materialized views (their definitions), sequences (type, bounds,
step, owner column), enum types (labels in order), domains (base type, default, not null,
constraints), composite and range types, extensions (version, schema), row-level security
policies, the comment on each, and each one's owner; ignoring object identifiers, the
members of extensions and the bookkeeping tables of liftdb, yoyo and goose. Definitions
are PostgreSQL's own deparsed text (``pg_get_constraintdef`` and friends), so the
comparison does not depend on how the SQL was written. ``differences`` names each
difference in words, one line each, never as a Python value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

# The runner's, yoyo's and goose's own tables are bookkeeping, not schema (goose's table
# stays behind in a database adopted from goose; liftdb's guard sits on yoyo's lock table).
BOOKKEEPING_PATTERN = r"^(_yoyo_.*|yoyo_lock|yoyo_tmp_.*|liftdb_.*|goose_db_version(_id_seq)?)$"

# Schemas that are PostgreSQL's own, never a chain's.
_USER_SCHEMA = """
    n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
"""
# An object that belongs to an extension is the extension's, compared as the extension.
_NOT_EXTENSION_MEMBER = """
    NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = {catalog}::regclass
                AND e.objid = {oid} AND e.deptype = 'e')
"""


class Kind(NamedTuple):
    """One kind of object: how to read it and how to name it and its attributes."""

    name: str  # as a person says it: "column"
    query: str  # rows of key columns, then attribute columns
    key_width: int
    attributes: tuple[str, ...]  # what each attribute column is, in words
    noun: Callable[[tuple], str] = lambda key: ".".join(key)


def _on_table(key: tuple) -> str:
    schema, table, name = key
    return f"{name} on {schema}.{table}"


KINDS: tuple[Kind, ...] = (
    Kind(
        "schema",
        f"""
        SELECT n.nspname,
               -- public's owner is the server's doing (pg_database_owner since 15), not a chain's
               CASE n.nspname WHEN 'public' THEN '' ELSE pg_get_userbyid(n.nspowner) END,
               coalesce(obj_description(n.oid, 'pg_namespace'), '')
        FROM pg_namespace n WHERE {_USER_SCHEMA}
        """,
        1,
        ("owner", "comment"),
    ),
    Kind(
        "extension",
        """
        SELECT x.extname, x.extversion, n.nspname,
               coalesce(obj_description(x.oid, 'pg_extension'), '')
        FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
        WHERE x.extname <> 'plpgsql'
        """,
        1,
        ("version", "schema", "comment"),
    ),
    Kind(
        "table",
        f"""
        SELECT n.nspname, c.relname,
               CASE c.relkind WHEN 'p' THEN 'partitioned' WHEN 'f' THEN 'foreign' ELSE 'plain' END,
               CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE 'logged' END,
               coalesce(pg_get_partkeydef(c.oid), ''),
               coalesce((SELECT string_agg(p.oid::regclass::text, ', ' ORDER BY i.inhseqno)
                         FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                         WHERE i.inhrelid = c.oid), ''),
               coalesce(pg_get_expr(c.relpartbound, c.oid), ''),
               c.relrowsecurity, c.relforcerowsecurity,
               coalesce(array_to_string(c.reloptions, ', '), ''),
               pg_get_userbyid(c.relowner),
               coalesce(obj_description(c.oid, 'pg_class'), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA} AND c.relkind IN ('r', 'p', 'f') AND c.relname !~ %(bookkeeping)s
        """,
        2,
        (
            "kind",
            "persistence",
            "partition key",
            "parents",
            "partition bound",
            "row level security",
            "forced row level security",
            "storage options",
            "owner",
            "comment",
        ),
    ),
    Kind(
        "column",
        f"""
        SELECT n.nspname, c.relname, a.attname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               format_type(a.atttypid, a.atttypmod), a.attnotnull,
               CASE WHEN a.attgenerated = '' THEN coalesce(pg_get_expr(d.adbin, d.adrelid), '')
                    ELSE '' END,
               CASE WHEN a.attgenerated = '' THEN ''
                    ELSE pg_get_expr(d.adbin, d.adrelid) END,
               CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' ELSE '' END,
               CASE WHEN a.attcollation IN (0, t.typcollation) THEN ''
                    ELSE (SELECT collname FROM pg_collation WHERE oid = a.attcollation) END,
               coalesce(col_description(c.oid, a.attnum), '')
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_USER_SCHEMA} AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
          AND c.relname !~ %(bookkeeping)s AND a.attnum > 0 AND NOT a.attisdropped
        """,
        3,
        (
            "position",
            "type",
            "not null",
            "default",
            "generated expression",
            "identity",
            "collation",
            "comment",
        ),
    ),
    Kind(
        "constraint",
        f"""
        SELECT n.nspname, c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid),
               k.convalidated, coalesce(obj_description(k.oid, 'pg_constraint'), '')
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA} AND c.relname !~ %(bookkeeping)s AND k.contype <> 'n'
        """,
        3,
        ("kind", "definition", "validated", "comment"),
        _on_table,
    ),
    Kind(
        "index",
        f"""
        SELECT n.nspname, t.relname, i.relname, pg_get_indexdef(i.oid), x.indisvalid,
               coalesce(obj_description(i.oid, 'pg_class'), '')
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE {_USER_SCHEMA} AND t.relname !~ %(bookkeeping)s
        """,
        3,
        ("definition", "valid", "comment"),
        _on_table,
    ),
    Kind(
        "trigger",
        f"""
        SELECT n.nspname, c.relname, g.tgname, pg_get_triggerdef(g.oid), g.tgenabled::text,
               coalesce(obj_description(g.oid, 'pg_trigger'), '')
        FROM pg_trigger g
        JOIN pg_class c ON c.oid = g.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA} AND NOT g.tgisinternal AND c.relname !~ %(bookkeeping)s
        """,
        3,
        ("definition", "enabled", "comment"),
        _on_table,
    ),
    Kind(
        "policy",
        f"""
        SELECT n.nspname, c.relname, p.polname, p.polcmd::text, p.polpermissive,
               coalesce((SELECT string_agg(CASE r WHEN 0 THEN 'public'
                                                  ELSE pg_get_userbyid(r) END, ', ' ORDER BY 1)
                         FROM unnest(p.polroles) r), ''),
               coalesce(pg_get_expr(p.polqual, p.polrelid), ''),
               coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
        FROM pg_policy p
        JOIN pg_class c ON c.oid = p.polrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA}
        """,
        3,
        ("command", "permissive", "roles", "using", "with check"),
        _on_table,
    ),
    Kind(
        "function",
        f"""
        SELECT n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               CASE p.prokind WHEN 'a' THEN 'aggregate'
                    ELSE pg_get_functiondef(p.oid) END,
               pg_get_userbyid(p.proowner),
               coalesce(obj_description(p.oid, 'pg_proc'), '')
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_USER_SCHEMA} AND p.proname !~ %(bookkeeping)s
          AND {_NOT_EXTENSION_MEMBER.format(catalog="'pg_proc'", oid="p.oid")}
        """,
        2,
        ("definition", "owner", "comment"),
    ),
    Kind(
        "view",
        f"""
        SELECT n.nspname, c.relname,
               CASE c.relkind WHEN 'm' THEN 'materialized' ELSE 'plain' END,
               pg_get_viewdef(c.oid, true),
               coalesce(array_to_string(c.reloptions, ', '), ''),
               pg_get_userbyid(c.relowner),
               coalesce(obj_description(c.oid, 'pg_class'), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA} AND c.relkind IN ('v', 'm')
          AND {_NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="c.oid")}
        """,
        2,
        ("kind", "definition", "options", "owner", "comment"),
    ),
    Kind(
        "sequence",
        f"""
        SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
               s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
               coalesce((SELECT t.relname || '.' || a.attname
                                || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END
                         FROM pg_depend d
                         JOIN pg_class t ON t.oid = d.refobjid
                         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                         LIMIT 1), ''),
               pg_get_userbyid(c.relowner),
               coalesce(obj_description(c.oid, 'pg_class'), '')
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA} AND c.relname !~ %(bookkeeping)s
          AND {_NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="c.oid")}
        """,
        2,
        (
            "type",
            "start",
            "increment",
            "minimum",
            "maximum",
            "cache",
            "cycle",
            "owned by",
            "owner",
            "comment",
        ),
    ),
    Kind(
        "type",
        f"""
        SELECT n.nspname, t.typname,
               CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain'
                              WHEN 'c' THEN 'composite' WHEN 'r' THEN 'range'
                              WHEN 'm' THEN 'multirange' ELSE t.typtype::text END,
               CASE t.typtype
                 WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', '
                                                  ORDER BY e.enumsortorder)
                                FROM pg_enum e WHERE e.enumtypid = t.oid)
                 WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
                 WHEN 'c' THEN (SELECT string_agg(quote_ident(a.attname) || ' '
                                                  || format_type(a.atttypid, a.atttypmod),
                                                  ', ' ORDER BY a.attnum)
                                FROM pg_attribute a
                                WHERE a.attrelid = t.typrelid AND a.attnum > 0
                                  AND NOT a.attisdropped)
                 WHEN 'r' THEN (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r
                                WHERE r.rngtypid = t.oid)
                 ELSE '' END,
               t.typnotnull, coalesce(t.typdefault, ''),
               pg_get_userbyid(t.typowner),
               coalesce(obj_description(t.oid, 'pg_type'), '')
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_USER_SCHEMA} AND t.typtype IN ('e', 'd', 'c', 'r')
          AND (t.typrelid = 0 OR EXISTS (SELECT 1 FROM pg_class c
                                         WHERE c.oid = t.typrelid AND c.relkind = 'c'))
          AND {_NOT_EXTENSION_MEMBER.format(catalog="'pg_type'", oid="t.oid")}
        """,
        2,
        ("kind", "values", "not null", "default", "owner", "comment"),
    ),
    Kind(
        "domain constraint",
        f"""
        SELECT n.nspname, t.typname, k.conname, pg_get_constraintdef(k.oid), k.convalidated
        FROM pg_constraint k
        JOIN pg_type t ON t.oid = k.contypid
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_USER_SCHEMA} AND k.contype <> 'n'
        """,
        3,
        ("definition", "validated"),
        _on_table,
    ),
)
KIND_NAMES = tuple(kind.name for kind in KINDS)
_BY_NAME = {kind.name: kind for kind in KINDS}

# What each kind's rows are keyed by: a snapshot maps a kind to {key: attributes}.
Snapshot = dict[str, dict[tuple, tuple]]


def snapshot(conn) -> Snapshot:
    """Every object of the database's own schemas, kind by kind: compare with ``==``.

    Read with ``search_path`` set to ``pg_catalog`` alone, so that every name PostgreSQL
    deparses (a type, a table in a definition) is schema-qualified: the text does not
    depend on the session's path, which may differ between two databases compared."""
    params = {"bookkeeping": BOOKKEEPING_PATTERN}
    snap: Snapshot = {}
    with conn.transaction():
        conn.execute("SET LOCAL search_path = pg_catalog")
        for kind in KINDS:
            rows = conn.execute(kind.query, params).fetchall()
            snap[kind.name] = {
                tuple(row[: kind.key_width]): tuple(row[kind.key_width :]) for row in rows
            }
    return snap


def schemas_used(snap: Snapshot) -> set[str]:
    """The schemas that hold something other than nothing: a chain's schemas, when
    ``snap`` is the snapshot of a database the chain alone built."""
    used = set()
    for name, objects in snap.items():
        if name == "extension":
            used |= {attributes[1] for attributes in objects.values()}
        elif name != "schema":
            used |= {key[0] for key in objects}
    return used | {
        key[0] for key, (owner, comment) in snap.get("schema", {}).items() if key[0] != "public"
    }


def restricted(snap: Snapshot, schemas: Iterable[str]) -> Snapshot:
    """The snapshot's objects in ``schemas`` only (extensions: installed in them)."""
    keep = set(schemas)
    result: Snapshot = {}
    for name, objects in snap.items():
        if name == "extension":
            result[name] = {k: v for k, v in objects.items() if v[1] in keep}
        else:
            result[name] = {k: v for k, v in objects.items() if k[0] in keep}
    return result


def owners_set_by_chain(
    expected: Snapshot, live: Snapshot, runner: str
) -> tuple[Snapshot, Snapshot]:
    """Both snapshots with the owner left out of each object ``expected`` shows owned by
    ``runner``, the role that applied the chain to build it: only ownership the chain sets
    itself (``ALTER ... OWNER TO``) counts, not who happened to run it or restore it."""
    masked_expected: Snapshot = {}
    masked_live: Snapshot = {}
    for name in set(expected) | set(live):
        kind = _BY_NAME[name]
        ours, theirs = dict(expected.get(name, {})), dict(live.get(name, {}))
        if "owner" in kind.attributes:
            at = kind.attributes.index("owner")
            for key in set(ours) | set(theirs):
                if key in theirs and key in ours and ours[key][at] != runner:
                    continue  # the chain set this owner: it counts
                for side in (ours, theirs):
                    if key in side:
                        side[key] = side[key][:at] + ("",) + side[key][at + 1 :]
        masked_expected[name], masked_live[name] = ours, theirs
    return masked_expected, masked_live


def as_reloaded(conn, snap: Snapshot) -> Snapshot:
    """The snapshot with each CHECK constraint's text as PostgreSQL deparses it reloaded.

    ``pg_get_constraintdef`` of ``col IN ('a', 'b')`` on a varchar column is not the text
    that reloading it gives (a pg_dump restore changes the same way, once), so a database
    restored from a dump, or made from sql/schema/schema.sql, would never compare equal to
    one the chain built. Each text is added to its table on ``conn``, which must hold the
    same tables (the scratch database, whose tables are empty), and read back, in a
    transaction rolled back; a text that does not apply there stays as it was.
    """
    from psycopg import Error, sql

    reloaded = {}
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL search_path = pg_catalog")  # as ``snapshot`` reads them
        for (schema, table, name), (kind, definition, *rest) in snap.get("constraint", {}).items():
            if kind == "c":
                target = sql.Identifier(schema, table)
                try:
                    with conn.transaction():
                        conn.execute(
                            sql.SQL("ALTER TABLE {} ADD CONSTRAINT liftdb_reloaded {}").format(
                                target, sql.SQL(definition)
                            )
                        )
                        (definition,) = conn.execute(
                            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                            " WHERE conname = 'liftdb_reloaded' AND conrelid = %s::regclass",
                            (target.as_string(conn),),
                        ).fetchone()
                        conn.execute(
                            sql.SQL("ALTER TABLE {} DROP CONSTRAINT liftdb_reloaded").format(target)
                        )
                except Error:
                    pass  # not this table, or not this column: a difference either way
            reloaded[(schema, table, name)] = (kind, definition, *rest)
    return {**snap, "constraint": reloaded}


def is_empty(snap: Snapshot) -> bool:
    """True when the snapshot holds no object at all (an empty ``public`` aside)."""
    return not schemas_used(snap)


def differences(
    first: Snapshot,
    second: Snapshot,
    first_name: str = "the first",
    second_name: str = "the second",
) -> list[str]:
    """One line per difference, in words: what is in one snapshot only, and for each object
    in both, every attribute that differs with both values, e.g. ``column app.users.email:
    type is character varying(200) in the chain, text in the database``."""
    lines = []
    for kind in KINDS:
        old, new = first.get(kind.name, {}), second.get(kind.name, {})
        for key in sorted(set(old) | set(new), key=repr):
            what = f"{kind.name} {kind.noun(key)}"
            if key not in new:
                lines.append(f"{what}: in {first_name} only")
            elif key not in old:
                lines.append(f"{what}: in {second_name} only")
            else:
                for label, a, b in zip(kind.attributes, old[key], new[key], strict=True):
                    if a != b:
                        a_text, b_text = _excerpts(_shown(a), _shown(b))
                        lines.append(
                            f"{what}: {label} is {a_text} in {first_name},"
                            f" {b_text} in {second_name}"
                        )
    return lines


def _shown(value: Any) -> str:
    """A value as a person reads it: on one line, flags as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value == "" or value is None:
        return "none"
    return " ".join(str(value).split())


def _excerpts(a: str, b: str, width: int = 100) -> tuple[str, str]:
    """Two long texts cut to the stretch where they part (a view's WHERE clause, say)."""
    if len(a) <= width and len(b) <= width:
        return a, b
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    start = max(0, (min(len(a), len(b)) if at is None else at) - width // 3)

    def cut(text: str) -> str:
        piece = text[start : start + width]
        return ("..." if start else "") + piece + ("..." if start + width < len(text) else "")

    return cut(a), cut(b)
