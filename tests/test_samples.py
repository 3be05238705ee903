"""runner.samples fills tables with rows they accept, and says what they refused."""

from __future__ import annotations

import psycopg
import pytest

from runner import samples

SCHEMA = """
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TABLE parents (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    "Code" varchar(12) NOT NULL,
    unit text NOT NULL,
    CONSTRAINT parents_pkey PRIMARY KEY (id),
    CONSTRAINT parents_code_key UNIQUE ("Code"),
    CONSTRAINT parents_unit_check CHECK (unit IN ('lb', 'kg')),
    CONSTRAINT parents_code_check CHECK ("Code" ~ '^[a-z0-9]+$')
);
CREATE TABLE children (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id uuid NOT NULL REFERENCES parents,
    previous numeric(8, 2) NOT NULL,
    next numeric(8, 2) NOT NULL,
    delta numeric(8, 2) NOT NULL,
    feeling mood NOT NULL,
    size positive NOT NULL,
    doubled int GENERATED ALWAYS AS (size * 2) STORED,
    email text NOT NULL CHECK (position('@' IN email) > 1),
    CONSTRAINT children_delta_check CHECK (delta = next - previous)
);
CREATE TABLE impossible (
    id int PRIMARY KEY,
    value int NOT NULL CHECK (value > 0 AND value < 0)
);
"""


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(SCHEMA)
        yield connection


def test_rows_satisfy_checks_keys_domains_and_parents(conn):
    filled = samples.fill(conn, ["children"], 500)
    assert [(f.table, f.rows, f.refused, f.error) for f in filled] == [
        ("parents", 500, {}, None),  # a parent is filled first, for the foreign key
        ("children", 500, {}, None),
    ]
    assert conn.execute("SELECT count(DISTINCT parent_id) FROM children").fetchone() == (500,)
    assert conn.execute("SELECT count(*) FROM parents WHERE unit = 'kg'").fetchone()[0] > 0


def test_filling_again_adds_only_what_is_missing(conn):
    samples.fill(conn, ["parents"], 100)
    [again] = samples.fill(conn, ["parents"], 150)
    assert (again.rows, again.added) == (150, 50)
    assert samples.fill(conn, ["parents"], 150)[0].added == 0


def test_refused_rows_are_counted_under_the_constraint(conn):
    [filled] = samples.fill(conn, ["impossible"], 100)
    assert (filled.rows, filled.error) == (0, None)
    assert filled.refused == {"CHECK impossible_value_check": 100}
    assert "100 by CHECK impossible_value_check refused" in filled.describe()


def test_a_table_refusing_the_insert_keeps_its_rows_and_says_why(conn):
    conn.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'no rows here'; END $$;"
        "CREATE TRIGGER parents_refuse BEFORE INSERT ON parents"
        " FOR EACH ROW EXECUTE FUNCTION refuse()"
    )
    [filled] = samples.fill(conn, ["parents"], 10)
    assert (filled.rows, filled.added, filled.error) == (0, 0, "no rows here")
