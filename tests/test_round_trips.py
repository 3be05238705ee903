"""Every version undoes exactly what it does, and can be done again.

For each version k: the catalog after rolling k back equals the catalog at
k - 1, and applying k again gives back the catalog at k (tables, columns,
types, defaults, constraints, indexes, triggers, functions, comments, as
``runner.catalog`` reads them). Rolling back the whole chain leaves nothing.
"""

from __future__ import annotations

import psycopg
import pytest
from conftest import SQL_DIR

from runner import api, catalog, loader

VERSIONS = loader.load(SQL_DIR).versions


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v.number:05d}_{v.name}")
def test_rolling_back_and_reapplying_a_version_restores_the_catalog(database_url, version):
    with psycopg.connect(database_url, autocommit=True) as conn:
        api.migrate(database_url, SQL_DIR, to=version.number - 1)
        before = catalog.snapshot(conn)
        api.migrate(database_url, SQL_DIR, to=version.number)
        applied = catalog.snapshot(conn)
        assert catalog.differences(before, applied), "the version changes nothing"

        api.rollback(database_url, SQL_DIR, steps=1)
        assert catalog.differences(before, catalog.snapshot(conn)) == []

        api.migrate(database_url, SQL_DIR, to=version.number)
        assert catalog.differences(applied, catalog.snapshot(conn)) == []
        assert api.applied_versions(database_url) == list(range(1, version.number + 1))


def test_rolling_back_one_version_at_a_time_leaves_no_object_of_the_chain(database_url):
    api.migrate(database_url, SQL_DIR)
    for version in reversed(VERSIONS):
        [step] = api.rollback(database_url, SQL_DIR, steps=1)
        assert step.number == version.number
    with psycopg.connect(database_url, autocommit=True) as conn:
        snap = catalog.snapshot(conn)
    assert catalog.is_empty(snap), catalog.differences({}, snap)
    assert api.applied_versions(database_url) == []
