"""Adopting a database whose schema liftdb did not build: record versions as applied.

Invariant: nothing is recorded unless the database's schema (``catalog.snapshot``, every
object of every kind in every schema the chain uses, bookkeeping aside) equals the schema
the chain builds up to that version, built for the comparison in a scratch database on
the same server with the same ``search_path``; the check and the recording happen under
the migration lock, and the recording is one transaction. ``liftdb baseline``
(``api.baseline``: a restore, a database made from sql/schema/schema.sql) and ``liftdb
goose adopt`` (a database goose migrated) both come here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from runner import database, loader, recorder
from runner.errors import Mismatch, and_more

SHOWN = 3  # differences named in the one-line refusal


class Adopted(NamedTuple):
    marked: tuple[int, ...]  # versions newly recorded as applied
    version: int  # the version the database is at


def hint(conn, chain: loader.Chain, applied) -> str | None:
    """What to run on a database with no version recorded (``applied`` empty) that was
    built another way: goose's ``goose_db_version`` -> ``liftdb goose adopt``; tables the
    chain creates already there -> ``liftdb baseline``. None otherwise (reads only)."""
    if applied or not len(chain):
        return None  # (before any import: status on a database liftdb keeps loads no parser)
    from psycopg import sql

    from runner import sqltree
    from runner.goose import GOOSE_TABLE

    if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (GOOSE_TABLE,)).fetchone()[0]:
        return (
            f"this database has goose's {GOOSE_TABLE} and no liftdb bookkeeping:"
            " `liftdb goose adopt` records what goose applied"
        )
    created = [
        name
        for version in chain
        for statement in version.up.statements
        for name in sqltree.created_tables(statement.sql)
    ]
    present = []
    for name in dict.fromkeys(created):
        quoted = sql.Identifier(*name.split(".")).as_string(conn)
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (quoted,)).fetchone()[0]:
            present.append(name)
    if not present:
        return None
    return (
        f"tables the chain creates already exist ({', '.join(present[:SHOWN])}"
        f"{and_more(present, SHOWN)}) but no version is recorded: `liftdb baseline --to"
        " VERSION` records the version this schema is at"
    )


def check_schema(conn, url: str, sql_dir: Path | str, version: int) -> None:
    """Raise ``Mismatch`` naming the first differences unless the schema of ``conn``'s
    database is the chain's at ``version``."""
    from runner import api, catalog  # catalog: not on status's path (``hint``)

    chain = loader.load(sql_dir)
    live = catalog.snapshot(conn)
    with database.scratch_database(url, "comparison") as scratch_url:
        with database.connect(scratch_url) as scratch:
            runner = _same_search_path(conn, scratch, chain, version)
        api.migrate(scratch_url, sql_dir, to=version)
        with database.connect(scratch_url) as scratch:
            expected = catalog.snapshot(scratch)
            used = catalog.schemas_used(expected)
            expected, live = catalog.owners_set_by_chain(
                catalog.restricted(expected, used), catalog.restricted(live, used), runner
            )
            if expected != live:  # a restored CHECK may differ in text only: see there
                expected = catalog.as_reloaded(scratch, expected)
                live = catalog.as_reloaded(scratch, live)
    lines = catalog.differences(expected, live, "the chain", "the database")
    if lines:
        raise Mismatch(
            f"the schema of {database.mask(url)} is not the chain's at version {version},"
            f" so nothing was recorded: {'; '.join(lines[:SHOWN])}{and_more(lines, SHOWN)}"
        )


def _same_search_path(live, scratch, chain: loader.Chain, version: int) -> str:
    """Give the scratch database the live one's ``search_path`` and the schemas on it that
    the chain does not create itself (a role that owns one schema, its ``search_path``:
    the least-privilege layout), so that the chain lands in the same schemas there.
    Returns the role that will apply the chain."""
    from psycopg import sql

    from runner import sqltree

    path, schemas, runner = live.execute(
        "SELECT current_setting('search_path'), current_schemas(false), current_user"
    ).fetchone()
    created = set()
    for number in range(1, version + 1):
        for statement in chain.get(number).up.statements:
            created |= set(sqltree.created_schemas(statement.sql))
    for schema in schemas:
        if schema not in created:
            scratch.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
            )
    name = scratch.execute("SELECT current_database()").fetchone()[0]
    scratch.execute(
        sql.SQL("ALTER DATABASE {} SET search_path = {}").format(
            sql.Identifier(name), sql.SQL(", ").join(sql.Literal(s) for s in _path_items(path))
        )
    )
    return runner


def _path_items(search_path: str) -> list[str]:
    """``SHOW search_path``'s text as its items (``"$user", public`` -> $user, public)."""
    items = []
    for item in search_path.split(","):
        item = item.strip()
        if item.startswith('"') and item.endswith('"'):
            item = item[1:-1].replace('""', '"')
        if item:
            items.append(item)
    return items or ["pg_catalog"]


def record(conn, chain: loader.Chain, numbers: Sequence[int]) -> None:
    """Record ``numbers`` as applied, in one transaction (after ``check_schema``)."""
    with conn.transaction():
        books = recorder.ensure_tables(conn)
        for number in numbers:
            recorder.record_adopted(conn, books, chain.get(number))
