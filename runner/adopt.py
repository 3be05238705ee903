"""Adopting a database whose schema liftdb did not build: record versions as applied.

Invariant: nothing is recorded unless the database's schema (``catalog.snapshot``,
bookkeeping tables aside) equals the schema the chain builds up to that version,
built for the comparison in a scratch database on the same server; the check and
the recording happen under the migration lock, and the recording is one
transaction. ``liftdb baseline`` (``api.baseline``: a restore, a database made
from sql/schema/schema.sql) and ``liftdb goose adopt`` (a database goose migrated) both
come here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner import catalog, database, loader, recorder
from runner.errors import Mismatch, and_more


@dataclass(frozen=True)
class Adopted:
    marked: tuple[int, ...]  # versions newly recorded as applied
    version: int  # the version the database is at


def check_schema(conn, url: str, sql_dir: Path | str, version: int) -> None:
    """Raise ``Mismatch`` naming the first differences unless the schema of ``conn``'s
    database is the chain's at ``version``."""
    from runner import api

    live = catalog.snapshot(conn)
    with database.scratch_database(url, "comparison") as scratch_url:
        api.migrate(scratch_url, sql_dir, to=version)
        with database.connect(scratch_url) as scratch:
            expected = catalog.snapshot(scratch)
            if expected != live:  # a restored CHECK may differ in text only: see there
                expected = catalog.as_reloaded(scratch, expected)
                live = catalog.as_reloaded(scratch, live)
    lines = catalog.differences(expected, live)
    if lines:
        shown = "; ".join(
            line.replace("only before", "only in the chain").replace(
                "only after", "only in the database"
            )
            for line in lines[:3]
        )
        more = and_more(lines, 3)
        raise Mismatch(
            f"the schema of {database.mask(url)} is not the chain's at version {version},"
            f" so nothing was recorded: {shown}{more}"
        )


def record(conn, chain: loader.Chain, numbers: Sequence[int]) -> None:
    """Record ``numbers`` as applied, in one transaction (after ``check_schema``)."""
    with conn.transaction():
        recorder.ensure_tables(conn)
        for number in numbers:
            recorder.record_adopted(conn, chain.get(number))
