"""Rolling back later versions, and applying them again, leaves earlier tables' rows alone.

For each version k below the head: with every table filled, rolling back to k
keeps every row of the tables that exist at k, byte for byte (PostgreSQL's own
text of each row); applying the later versions again keeps them still, and
the re-created tables start empty.
"""

from __future__ import annotations

import psycopg
import pytest
from conftest import SQL_DIR
from rows import LIFT, PROGRAM, insert, insert_parents, rows_of, valid

from runner import api, catalog, loader

HEAD = loader.load(SQL_DIR).head
# Rows whose nullable foreign keys are filled in too.
POINTING_AT_PARENTS = {
    "lifts": {"parent_lift_id": LIFT},
    "program_progressions": {"lift_id": LIFT},
    "daily_lookups": {"program_id": PROGRAM},
}


def tables(conn: psycopg.Connection) -> list[str]:
    return [table for _schema, table in catalog.snapshot(conn)["table"]]


def fill(conn: psycopg.Connection) -> None:
    """Rows in every table of the chain, children pointing at parents."""
    insert_parents(conn)
    for table in tables(conn):
        insert(conn, table, valid(table) | POINTING_AT_PARENTS.get(table, {}))


@pytest.mark.parametrize("version", range(1, HEAD))
def test_rows_of_earlier_tables_survive_rolling_back_and_reapplying_later_versions(
    database_url, version
):
    with psycopg.connect(database_url, autocommit=True) as conn:
        api.migrate(database_url, SQL_DIR, to=version)
        earlier = tables(conn)
        api.migrate(database_url, SQL_DIR)
        later = sorted(set(tables(conn)) - set(earlier))
        fill(conn)
        contents = {table: rows_of(conn, table) for table in earlier}
        assert all(len(rows) >= 1 for rows in contents.values())

        api.rollback(database_url, SQL_DIR, steps=HEAD - version)
        assert tables(conn) == earlier
        assert {table: rows_of(conn, table) for table in earlier} == contents

        api.migrate(database_url, SQL_DIR)
        assert {table: rows_of(conn, table) for table in earlier} == contents
        assert {table: rows_of(conn, table) for table in later} == {table: [] for table in later}
