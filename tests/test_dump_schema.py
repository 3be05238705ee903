"""dump-schema: sql/schema/schema.sql is the chain's schema, byte for byte the same on every run
and on every server version the suite runs on (CI: PostgreSQL 18 and 15)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import psycopg
import pytest
from conftest import REPO, SQL_DIR

from runner import catalog, database, dump
from runner.errors import Mismatch


@pytest.fixture(scope="module")
def rendered(server_url: str) -> str:
    return dump.render(server_url, SQL_DIR)


def test_committed_schema_file_is_what_the_chain_gives_here(rendered):
    # Passing on PostgreSQL 18 and on 15 means both give these very bytes.
    assert (SQL_DIR / "schema" / "schema.sql").read_text(encoding="utf-8") == rendered


def test_two_runs_give_the_same_bytes(server_url, rendered):
    assert dump.render(server_url, SQL_DIR) == rendered


def test_schema_file_holds_no_noise(rendered):
    for noise in ("\\restrict", "\\unrestrict", "Dumped from", "Dumped by", "Owner:", "GRANT"):
        assert noise not in rendered
    assert "OWNER TO" not in rendered
    for bookkeeping in ("_yoyo_", "liftdb_version", "goose_db_version"):
        assert bookkeeping not in rendered
    assert [line for line in rendered.splitlines() if line.startswith("SET ")] == [
        "SET check_function_bodies = false;"
    ]


def test_loading_the_schema_file_gives_the_chains_catalog(conn, server_url):
    with (
        database.scratch_database(server_url, "loaded") as loaded_url,
        psycopg.connect(loaded_url, autocommit=True) as loaded,
    ):
        loaded.execute((SQL_DIR / "schema" / "schema.sql").read_text(encoding="utf-8"))
        # A CHECK as pg_dump writes it may read back as other text of the same meaning
        # (catalog.as_reloaded): loading the dump makes that one round trip, so make it on
        # both sides before comparing.
        loaded_snapshot = catalog.as_reloaded(loaded, catalog.snapshot(loaded))
    chain_snapshot = catalog.as_reloaded(conn, catalog.snapshot(conn))
    assert len(chain_snapshot["table"]) >= 9
    assert catalog.differences(chain_snapshot, loaded_snapshot) == []


def test_normalise_drops_what_varies_and_keeps_the_objects():
    raw = (
        "--\n-- PostgreSQL database dump\n--\n\n"
        "\\restrict AbC123\n\n"
        "-- Dumped from database version 18.6\n-- Dumped by pg_dump version 18.6\n\n"
        "SET statement_timeout = 0;\nSET transaction_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n\n"
        "--\n-- Name: t; Type: TABLE; Schema: public; Owner: alice\n--\n\n"
        "CREATE TABLE public.t (\n    id integer\n);\n\n\n"
        "SET default_tablespace = '';\n\n"
        "--\n-- Name: t_idx; Type: INDEX; Schema: public; Owner: alice\n--\n\n"
        "CREATE INDEX t_idx ON public.t USING btree (id);\n\n\n"
        "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict AbC123\n\n"
    )
    assert dump.normalise(raw) == (
        dump.HEADER + "\n-- Name: t; Type: TABLE\n\nCREATE TABLE public.t (\n    id integer\n);\n"
        "\n-- Name: t_idx; Type: INDEX\n\nCREATE INDEX t_idx ON public.t USING btree (id);\n"
    )


def test_check_names_the_stale_line_and_exits_1(tmp_path, server_url):
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    schema = sql_dir / "schema" / "schema.sql"
    lines = schema.read_text().split("\n")
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("CREATE TABLE"))
    lines[number - 1] += " -- edited"
    schema.write_text("\n".join(lines))

    with pytest.raises(Mismatch, match=rf"schema.sql:{number}: out of date with the chain"):
        dump.check(server_url, sql_dir)

    done = subprocess.run(
        [sys.executable, "-m", "runner", "--sql-dir", str(sql_dir), "dump-schema", "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"liftdb: error: {schema}:{number}: out of date")

    done = subprocess.run(
        [sys.executable, "-m", "runner", "--sql-dir", str(sql_dir), "dump-schema"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert schema.read_text() == (SQL_DIR / "schema" / "schema.sql").read_text()
    dump.check(server_url, sql_dir)
