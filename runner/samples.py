"""Sample rows for tables, generated on the server from what the catalog says they accept.

Invariant: ``fill`` adds rows only with one ``INSERT ... SELECT`` per table over
``generate_series``, built from the catalog (column types and typmods, defaults,
NOT NULL, CHECKs, unique keys, foreign keys, whose parent tables are filled
first), and never raises for what a table refuses: a generated row that breaks a
CHECK, a NOT NULL or a unique key is left out and counted in ``Filled.refused``
under the constraint's name, and a table whose INSERT fails as a whole keeps the
rows it had and carries the server's message in ``Filled.error``. Values are
chosen per column among a few candidates of its type, the first that the
column's CHECKs accept on a sample, so that most rows are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

MAX_COMBINATIONS = 64  # candidate values tried together for a CHECK over several columns
PROBE_ROWS = 20  # rows a candidate is tried on before it is chosen


@dataclass
class Filled:
    """What ``fill`` did to one table."""

    table: str
    rows: int  # rows the table holds now
    added: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # why -> rows left out
    error: str | None = None  # the server refused the whole INSERT

    def describe(self) -> str:
        parts = [f"{self.table}: {self.rows:,} rows"]
        if self.refused:
            why = ", ".join(f"{count:,} by {reason}" for reason, count in self.refused.items())
            parts.append(f"({why} refused)")
        if self.error:
            parts.append(f"(could not add rows: {self.error})")
        return " ".join(parts)


@dataclass
class _Column:
    name: str
    sql_type: str  # format_type()
    category: str  # pg_type.typcategory of the type (of its base type, for a domain)
    base_type: str  # format_type() of the base type, for a domain; else sql_type
    not_null: bool
    default: str | None
    identity: bool
    generated: bool
    is_domain: bool
    is_enum: bool


@dataclass
class _Foreign:
    columns: tuple[str, ...]
    parent: str  # regclass text
    parent_columns: tuple[str, ...]


@dataclass
class _Table:
    oid: int
    name: str  # regclass text
    columns: list[_Column]
    checks: list[tuple[str, str, tuple[str, ...]]]  # (name, expression, columns it reads)
    unique: set[str]  # columns in a primary key or unique constraint or index
    foreign: list[_Foreign]
    parents: set[int]


def fill(conn, tables, rows: int) -> list[Filled]:
    """Bring each of ``tables`` (oids, or names as SQL writes them) and the tables their
    foreign keys reference up to ``rows`` rows, parents first; on ``conn`` in autocommit,
    each table in a transaction of its own. Returns one ``Filled`` per table."""
    wanted = [name if isinstance(name, int) else _oid(conn, name) for name in tables]
    order = _with_parents(conn, [oid for oid in wanted if oid is not None])
    filled = []
    for oid in order:
        name = conn.execute("SELECT %s::regclass::text", (oid,)).fetchone()[0]
        held = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        filled.append(
            Filled(name, held) if held >= rows else _fill_one(conn, _read(conn, oid), held, rows)
        )
    return filled


def _oid(conn, name: str) -> int | None:
    return conn.execute("SELECT to_regclass(%s)::int", (name,)).fetchone()[0]


def _with_parents(conn, oids: list[int]) -> list[int]:
    """The tables and, recursively, those their foreign keys reference: parents first."""
    ordered: list[int] = []
    visiting: set[int] = set()

    def visit(oid: int) -> None:
        if oid in ordered or oid in visiting:
            return
        visiting.add(oid)
        for (parent,) in conn.execute(
            "SELECT DISTINCT confrelid::int FROM pg_constraint"
            " WHERE conrelid = %s AND contype = 'f' AND confrelid <> conrelid",
            (oid,),
        ).fetchall():
            visit(parent)
        ordered.append(oid)

    for oid in oids:
        partition_parent = conn.execute(
            "SELECT inhparent::int FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE inhrelid = %s AND c.relispartition",
            (oid,),
        ).fetchone()
        visit(partition_parent[0] if partition_parent else oid)  # rows go in through the root
    return ordered


def _read(conn, oid: int) -> _Table:
    name = conn.execute("SELECT %s::regclass::text", (oid,)).fetchone()[0]
    columns = [
        _Column(*row)
        for row in conn.execute(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                      coalesce(b.typcategory, t.typcategory),
                      format_type(coalesce(nullif(t.typbasetype, 0), a.atttypid),
                                  CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END),
                      a.attnotnull OR coalesce(t.typnotnull, false),
                      pg_get_expr(d.adbin, d.adrelid), a.attidentity <> '', a.attgenerated <> '',
                      t.typtype = 'd', coalesce(b.typtype, t.typtype) = 'e'
               FROM pg_attribute a
               JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_type b ON b.oid = t.typbasetype AND t.typtype = 'd'
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
               ORDER BY a.attnum""",
            (oid,),
        ).fetchall()
    ]
    by_number = dict(
        conn.execute(
            "SELECT attnum, attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0", (oid,)
        ).fetchall()
    )
    checks, unique, foreign, parents = [], set(), [], set()
    for conname, contype, keys, expression, parent, parent_keys in conn.execute(
        """SELECT conname, contype::text, conkey, pg_get_expr(conbin, conrelid),
                  nullif(confrelid, 0)::regclass::text, confkey
           FROM pg_constraint WHERE conrelid = %s ORDER BY conname""",
        (oid,),
    ).fetchall():
        names = tuple(by_number[k] for k in keys or ())
        if contype == "c":
            checks.append((conname, expression, names))
        elif contype in ("p", "u", "x"):
            unique.update(names)
        elif contype == "f":
            parent_names = tuple(
                conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass"
                    " AND attnum = %s",
                    (parent, k),
                ).fetchone()[0]
                for k in parent_keys
            )
            foreign.append(_Foreign(names, parent, parent_names))
            parents.add(_oid(conn, parent))
    for (keys,) in conn.execute(
        "SELECT indkey::int2[] FROM pg_index WHERE indrelid = %s AND indisunique", (oid,)
    ).fetchall():
        unique.update(by_number[k] for k in keys if k)
    return _Table(oid, name, columns, checks, unique, foreign, parents)


# --- candidate values ---------------------------------------------------------------------


def _candidates(column: _Column, literals: list[str]) -> list[str]:
    """SQL expressions over the row number ``i`` giving values of the column's type, best
    first: distinct ones first (for unique keys), then the CHECKs' own literals."""
    base, category = column.base_type, column.category
    if column.is_enum:
        values = f"enum_range(NULL::{base})"
        found = [f"({values})[1 + (i % array_length({values}, 1))::int]"]
    elif base in ("uuid",):
        found = ["md5('liftdb sample ' || i)::uuid"]
    elif base in ("json", "jsonb"):
        found = ["json_build_object('n', i)", "'{}'", "'[]'", "'\"x\"'", "'1'"]
    elif base == "bytea":
        found = ["decode(md5(i::text), 'hex')"]
    elif base in ("inet", "cidr"):
        found = ["'10.0.0.0'::inet + i", "'10.0.0.0/8'"]
    elif base == "date":
        found = ["date '2020-01-01' + (i % 3650)::int"]
    elif base.startswith("timestamp"):
        found = ["timestamp '2020-01-01' + i * interval '1 second'"]
    elif base.startswith("time"):
        found = ["time '00:00' + (i % 86400) * interval '1 second'"]
    elif base.startswith("interval"):
        found = ["i * interval '1 second'"]
    elif category == "B":
        found = ["(i % 2 = 0)", "true", "false"]
    elif category == "N":
        top = _numeric_top(base)
        found = [f"(i % {top})", f"(1 + i % {min(top - 1, 100)})", "0", "1"]
    elif category == "S":
        found = ["'v' || i", *literals, "'v' || i || '@example.com'", "md5(i::text)", "'x'"]
    elif category == "A":
        found = ["'{}'"]
    else:
        found = []
    typed = [f"({expression})::{column.sql_type}" for expression in found]
    return typed + ([] if column.not_null else [f"NULL::{column.sql_type}"])


def _numeric_top(base: str) -> int:
    """One more than the largest whole value the type holds, capped (``i % top`` fits)."""
    if base == "smallint":
        return 32767
    if base.startswith("numeric(") or base.startswith("decimal("):
        precision, _, scale = base[base.index("(") + 1 : -1].partition(",")
        digits = int(precision) - int(scale or 0)
        return 10**digits if digits > 0 else 1
    return 2**31 - 1


def _literals(expression: str) -> list[str]:
    """The string constants a CHECK expression mentions, as SQL literals."""
    from pglast import ast
    from pglast.parser import ParseError

    from runner import sqltree
    from runner.lint.model import walk

    try:
        tree = sqltree.parse(f"SELECT {expression}")
    except ParseError:  # pg_get_expr's own text: it parses
        return []
    found = []
    for node in walk(tree):
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
            literal = "'" + node.val.sval.replace("'", "''") + "'"
            if literal not in found:
                found.append(literal)
    return found


# --- choosing values and inserting ----------------------------------------------------------


def _fill_one(conn, table: _Table, held: int, rows: int) -> Filled:
    """Add ``rows - held`` rows to the table, which holds ``held``."""
    from psycopg import Error

    filled = Filled(table.name, held)
    wanted = rows - held
    start = held + 1
    try:
        with conn.transaction():
            expressions, joins = _plan(conn, table, start)
            statement, checks = _insert(table, expressions, joins, start, wanted)
            added = conn.execute(statement).rowcount
    except Error as exc:  # the server refused the INSERT as a whole
        message = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)
        filled.error = " ".join(message.split())
        return filled
    filled.added, filled.rows = added, filled.rows + added
    if added < wanted:
        _count_refusals(conn, table, expressions, joins, start, wanted, checks, filled)
    return filled


def _plan(conn, table: _Table, start: int) -> tuple[dict[str, str], list[str]]:
    """(column -> SQL expression over ``i``, the joins to parent rows it needs)."""
    expressions: dict[str, str] = {}
    joins: list[str] = []
    types = {column.name: column.sql_type for column in table.columns}
    for number, key in enumerate(table.foreign):
        alias = f"parent_{number}"
        count = conn.execute(f"SELECT count(*) FROM {key.parent}").fetchone()[0]
        if key.parent == table.name or not count:
            # No parent row to point at (a row cannot reference rows of its own INSERT):
            # NULL, or the row is refused by the column's NOT NULL.
            for column in key.columns:
                expressions.setdefault(column, f"NULL::{types[column]}")
            continue
        selected = ", ".join(f"{_quote(c)} AS p{i}" for i, c in enumerate(key.parent_columns))
        joins.append(
            f"LEFT JOIN (SELECT {selected}, row_number() OVER () AS k FROM {key.parent}) AS"
            f" {alias} ON {alias}.k = 1 + i % {count}"
        )
        for i, column in enumerate(key.columns):
            expressions.setdefault(column, f"{alias}.p{i}")
    candidates: dict[str, list[str]] = {}
    for column in table.columns:
        if column.identity or column.generated or column.name in expressions:
            continue
        literals = [
            literal
            for _, expression, reads in table.checks
            if column.name in reads
            for literal in _literals(expression)
        ]
        options = _candidates(column, literals)
        if column.default is not None and column.name not in table.unique:
            options.insert(0, column.default)
        candidates[column.name] = _usable(conn, column, options) or [f"NULL::{column.sql_type}"]
    expressions.update(_choose(conn, table, candidates, start))
    return expressions, joins


def _usable(conn, column: _Column, options: list[str]) -> list[str]:
    """The candidates the server accepts for the column (a domain's CHECK, a cast)."""
    if not column.is_domain:
        return options
    from psycopg import Error

    usable = []
    for option in options:
        try:
            with conn.transaction():
                conn.execute(f"SELECT {option} FROM generate_series(1, {PROBE_ROWS}) AS g(i)")
            usable.append(option)
        except Error:  # the domain refuses these values
            continue
    return usable


def _choose(conn, table: _Table, candidates: dict[str, list[str]], start: int) -> dict[str, str]:
    """Per column, the first candidate its CHECKs accept; for a CHECK over several columns,
    the first combination of theirs it accepts (at most ``MAX_COMBINATIONS`` tried)."""
    chosen = {name: options[0] for name, options in candidates.items()}
    for name, options in candidates.items():
        own = [c for c in table.checks if set(c[2]) == {name}]
        for option in options:
            if _accepted(conn, {name: option}, own, start):
                chosen[name] = option
                break
    for check in table.checks:
        reads = [c for c in check[2] if c in candidates]
        if len(check[2]) < 2 or len(reads) != len(check[2]):
            continue
        if _accepted(conn, {c: chosen[c] for c in reads}, [check], start):
            continue
        options = [candidates[c] for c in reads]
        for attempt, combination in enumerate(product(*options)):
            if attempt >= MAX_COMBINATIONS:
                break
            trial = dict(zip(reads, combination, strict=True))
            related = [c for c in table.checks if set(c[2]) <= set(trial)]
            if _accepted(conn, trial, related, start):
                chosen.update(trial)
                break
    return chosen


def _accepted(conn, values: dict[str, str], checks, start: int) -> bool:
    from psycopg import Error

    if not checks:
        return True
    selected = ", ".join(f"{expression} AS {_quote(name)}" for name, expression in values.items())
    condition = " AND ".join(f"(({expression}) IS NOT FALSE)" for _, expression, _ in checks)
    try:
        with conn.transaction():
            return bool(
                conn.execute(
                    f"SELECT bool_and({condition}) FROM (SELECT {selected} FROM"
                    f" generate_series({start}, {start + PROBE_ROWS - 1}) AS g(i)) AS sample"
                ).fetchone()[0]
            )
    except Error:  # a cast or a CHECK's function refused these values
        return False


def _insert(table: _Table, expressions, joins, start: int, count: int) -> tuple[str, list]:
    names = list(expressions)
    selected = ", ".join(f"{expressions[name]} AS {_quote(name)}" for name in names)
    columns = ", ".join(_quote(name) for name in names)
    checks = [c for c in table.checks if set(c[2]) <= set(names)]
    conditions = [
        f"{_quote(c.name)} IS NOT NULL" for c in table.columns if c.not_null and c.name in names
    ]
    conditions += [f"(({expression}) IS NOT FALSE)" for _, expression, _ in checks]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    statement = (
        f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM (SELECT {selected}"
        f" FROM generate_series({start}, {start + count - 1}) AS g(i) {' '.join(joins)})"
        f" AS sample{where} ON CONFLICT DO NOTHING"
    )
    return statement, checks


def _count_refusals(conn, table, expressions, joins, start, count, checks, filled) -> None:
    """How many generated rows each NOT NULL, CHECK and unique key left out."""
    selected = ", ".join(f"{expressions[name]} AS {_quote(name)}" for name in expressions)
    tests = [
        (f"NOT NULL {c.name}", f"{_quote(c.name)} IS NULL")
        for c in table.columns
        if c.not_null and c.name in expressions
    ]
    tests += [(f"CHECK {name}", f"(({expression}) IS FALSE)") for name, expression, _ in checks]
    if tests:
        counts = ", ".join(f"count(*) FILTER (WHERE {test})" for _, test in tests)
        found = conn.execute(
            f"SELECT {counts} FROM (SELECT {selected} FROM generate_series({start},"
            f" {start + count - 1}) AS g(i) {' '.join(joins)}) AS sample"
        ).fetchone()
        for (reason, _), number in zip(tests, found, strict=True):
            if number:
                filled.refused[reason] = number
    explained = sum(filled.refused.values())
    if count - filled.added > explained:
        filled.refused["unique keys"] = count - filled.added - explained


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
