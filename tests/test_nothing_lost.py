"""On a populated database, rolling back later versions and applying them again loses nothing.

For each version k below the head, on a fresh copy of a database with the
whole chain and ``dataset.ROWS_PER_TABLE`` rows in every table: ``liftdb rollback --to k``
from a pipe (not a terminal) refuses, exit 2, naming the tables holding rows it
would drop, and changes nothing; with ``--yes`` it rolls back and every row of
the tables that exist at k is identical (an md5 of each table's rows in order);
``liftdb migrate`` applies the later versions again and those rows are
identical still, while the re-created tables start empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from conftest import SQL_DIR, scratch_database
from dataset import ROWS_PER_TABLE, checksum, populate
from processes import assert_one_line_error, liftdb, recorded_versions

from runner import api, catalog, database, loader
from runner.errors import EXIT_USAGE

HEAD = loader.load(SQL_DIR).head


def tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
    )
    return [name for (name,) in rows if not re.match(catalog.BOOKKEEPING_PATTERN, name)]


def checksums(conn: psycopg.Connection, names: list[str]) -> dict[str, tuple[int, str]]:
    return {name: checksum(conn, name) for name in names}


@pytest.fixture(scope="module")
def tables_at(server_url: str) -> dict[int, list[str]]:
    """The tables the chain has at each version."""
    found = {}
    with scratch_database(server_url) as url, psycopg.connect(url, autocommit=True) as conn:
        for version in range(1, HEAD + 1):
            api.migrate(url, SQL_DIR, to=version)
            found[version] = tables(conn)
    return found


@pytest.fixture(scope="module")
def populated_template(server_url: str) -> Iterator[str]:
    """The name of a database with the whole chain and the dataset, to copy per test
    (copying is a file copy: much cheaper than applying and filling again)."""
    with scratch_database(server_url) as url:
        api.migrate(url, SQL_DIR)
        with psycopg.connect(url, autocommit=True) as conn:
            populate(conn)
        yield database.database_name(url)


@pytest.fixture
def populated_url(server_url: str, populated_template: str) -> Iterator[str]:
    with scratch_database(server_url, template=populated_template) as url:
        yield url


@pytest.mark.parametrize("version", range(1, HEAD))
def test_rolling_back_and_reapplying_later_versions_keeps_every_earlier_row(
    populated_url, tables_at, version
):
    url = populated_url
    earlier, later = tables_at[version], sorted(set(tables_at[HEAD]) - set(tables_at[version]))
    with psycopg.connect(url, autocommit=True) as conn:
        before = checksums(conn, tables(conn))
        assert sorted(before) == tables_at[HEAD]
        assert all(count == ROWS_PER_TABLE for count, _ in before.values()), before

        refused = liftdb(url, SQL_DIR, "rollback", "--to", str(version))
        line = assert_one_line_error(refused, EXIT_USAGE, "drop table(s) holding rows: ")
        assert "nothing was changed" in line and "--yes" in line
        named = line.split("holding rows: ", 1)[1].split(";", 1)[0].split(", ")
        assert sorted(named) == later
        assert checksums(conn, tables(conn)) == before
        assert recorded_versions(url) == list(range(1, HEAD + 1))

        rolled_back = liftdb(url, SQL_DIR, "rollback", "--to", str(version), "--yes")
        assert rolled_back.returncode == 0, rolled_back.stderr
        assert tables(conn) == earlier
        assert checksums(conn, earlier) == {name: before[name] for name in earlier}

        reapplied = liftdb(url, SQL_DIR, "migrate")
        assert reapplied.returncode == 0, reapplied.stderr
        assert checksums(conn, earlier) == {name: before[name] for name in earlier}
        assert {name: checksum(conn, name)[0] for name in later} == dict.fromkeys(later, 0)
        assert recorded_versions(url) == list(range(1, HEAD + 1))
