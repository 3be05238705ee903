"""The gates a deploy relies on, each proved to close: mutations of the code that once
survived the suite are killed here.

- ``status --exit-code`` must exit 3 for an interrupted version, and for versions yoyo
  applied, even when nothing else is pending (a mutation dropping either survived);
- a version renamed on disk is drift, and ``repair`` refuses it (both survived);
- a checksum ignores line endings, and only them (dropping the CRLF normalisation
  survived);
- the data-loss guard sees a schema-qualified ``DROP TABLE`` (reading only the table
  name survived: the table is not on the search_path, so it looked empty).
"""

from __future__ import annotations

import psycopg
from conftest import WIDGETS
from processes import assert_one_line_error, liftdb, recorded_versions, status_document

from runner.errors import EXIT_DRIFT, EXIT_OK, EXIT_PENDING, EXIT_USAGE


def checksums(url: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT version, name, up_sha256, rollback_sha256 FROM liftdb_version ORDER BY 1"
        ).fetchall()


# --- status --exit-code -------------------------------------------------------------------


def test_status_exit_code_is_3_when_the_only_thing_left_is_an_interrupted_version(
    database_url, make_chain
):
    sql_dir = make_chain(
        WIDGETS[0],
        (
            "fill",
            "-- transactional: false\nINSERT INTO widgets VALUES (1, 'a');\nSELECT 1 / 0;\n",
            "DELETE FROM widgets;\n",
        ),
    )
    assert liftdb(database_url, sql_dir, "migrate").returncode == 1
    document = status_document(database_url, sql_dir)
    assert [v["state"] for v in document["versions"]] == ["applied", "interrupted"]
    assert document["invalid_indexes"] == []
    assert (document["pending"], document["interrupted"]) == (0, 1)
    assert liftdb(database_url, sql_dir, "status", "--exit-code").returncode == EXIT_PENDING
    assert liftdb(database_url, sql_dir, "status").returncode == EXIT_OK


def test_status_exit_code_is_3_when_the_only_thing_left_is_what_yoyo_applied(
    database_url, make_chain
):
    from yoyo import get_backend, read_migrations

    sql_dir = make_chain()
    backend = get_backend(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(sql_dir))))
    finally:
        backend.connection.close()
    document = status_document(database_url, sql_dir)
    assert {v["state"] for v in document["versions"]} == {"applied by yoyo"}
    assert document["pending"] == 0
    assert liftdb(database_url, sql_dir, "status", "--exit-code").returncode == EXIT_PENDING
    assert liftdb(database_url, sql_dir, "status").returncode == EXIT_OK


# --- a renamed version --------------------------------------------------------------------


def rename_second(sql_dir) -> None:
    for suffix in (".sql", ".rollback.sql"):
        (sql_dir / f"00002_add_widget_size{suffix}").rename(sql_dir / f"00002_add_size{suffix}")


def test_a_version_renamed_on_disk_is_drift_for_every_command_that_checks(database_url, make_chain):
    sql_dir = make_chain()
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0
    rename_second(sql_dir)
    reason = "00002_add_widget_size: applied under that name, but disk has 00002_add_size"
    for command in (["migrate"], ["rollback", "--all", "--yes"], ["verify"]):
        assert_one_line_error(liftdb(database_url, sql_dir, *command), EXIT_DRIFT, reason)
    status = liftdb(database_url, sql_dir, "status")
    assert status.returncode == EXIT_DRIFT
    assert "00002 add_widget_size applied " in status.stdout  # the name that was applied
    assert "drift: applied under that name, but disk has 00002_add_size" in status.stdout
    assert recorded_versions(database_url) == [1, 2, 3]


def test_repair_refuses_a_renamed_version_and_records_nothing(database_url, make_chain):
    sql_dir = make_chain()
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0
    rename_second(sql_dir)
    before = checksums(database_url)
    assert_one_line_error(
        liftdb(database_url, sql_dir, "repair"),
        EXIT_DRIFT,
        "00002_add_widget_size: applied under that name, but disk has 00002_add_size",
        "restore the file (or its name) first; nothing was changed",
    )
    assert checksums(database_url) == before


# --- line endings -------------------------------------------------------------------------


def rewrite_line_endings(sql_dir, old: str, new: str) -> None:
    for path in sql_dir.glob("*.sql"):
        path.write_bytes(path.read_bytes().replace(old.encode(), new.encode()))


def test_line_endings_are_not_drift_either_way_but_an_edit_still_is(database_url, make_chain):
    sql_dir = make_chain()
    assert liftdb(database_url, sql_dir, "migrate", "--to", "2").returncode == 0
    rewrite_line_endings(sql_dir, "\n", "\r\n")  # a checkout on Windows
    assert liftdb(database_url, sql_dir, "verify").returncode == 0
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0  # 3 applied from CRLF
    rewrite_line_endings(sql_dir, "\r\n", "\n")
    assert liftdb(database_url, sql_dir, "verify").returncode == 0
    assert liftdb(database_url, sql_dir, "status", "--exit-code").returncode == 0

    third = sql_dir / "00003_create_gadgets.sql"
    third.write_text(third.read_text().replace("widget_id int", "widget_id  int"))
    assert_one_line_error(
        liftdb(database_url, sql_dir, "verify"), EXIT_DRIFT, f"{third} changed since"
    )


# --- the data-loss guard ------------------------------------------------------------------


def test_the_data_loss_guard_sees_a_table_dropped_by_its_schema_qualified_name(
    database_url, make_chain
):
    sql_dir = make_chain(
        (
            "create_app_widgets",
            "CREATE SCHEMA app;\nCREATE TABLE app.widgets (id int);\n",
            "DROP TABLE app.widgets;\nDROP SCHEMA app;\n",
        )
    )
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO app.widgets VALUES (1)")
    refused = liftdb(database_url, sql_dir, "rollback")
    assert_one_line_error(
        refused,
        EXIT_USAGE,
        "refused: rolling back 1 version(s) (00001_create_app_widgets) on postgresql://",
        " would drop table(s) holding rows: app.widgets; nothing was changed",
    )
    assert recorded_versions(database_url) == [1]
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM app.widgets").fetchone()[0] == 1
