from conftest import SQL_DIR

from runner import api, loader


def test_whole_chain_applies_and_rolls_back(database_url):
    chain = loader.load(SQL_DIR)
    applied = api.migrate(database_url, SQL_DIR)
    assert [s.number for s in applied] == [v.number for v in chain]
    assert api.applied_versions(database_url) == [v.number for v in chain]
    api.rollback(database_url, SQL_DIR, steps=len(chain))
    assert api.applied_versions(database_url) == []


def test_rollback_of_everything_leaves_an_empty_schema(database_url):
    import psycopg

    from runner import catalog

    with psycopg.connect(database_url, autocommit=True) as conn:
        empty = catalog.snapshot(conn)
        api.migrate(database_url, SQL_DIR)
        full = catalog.snapshot(conn)
        api.rollback(database_url, SQL_DIR, steps=len(loader.load(SQL_DIR)))
        assert catalog.is_empty(empty)
        assert len(full["table"]) == 9
        assert catalog.differences(empty, catalog.snapshot(conn)) == []
