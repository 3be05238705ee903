"""What deleting a parent row does to the rows that point at it, for every foreign key.

Deleting a user erases their maxes and history; deleting a lift or a
progression that history points at fails naming the foreign key; a program
takes its configuration and lookups with it; a variation outlives its parent
lift. A refused RESTRICT delete is SQLSTATE 23503 before PostgreSQL 18 and
23001 from 18 on; either way the error names the foreign key. The table below
is checked against the catalog, so a new foreign key without a case fails here.
"""

from __future__ import annotations

import pytest
from psycopg import sql
from rows import LIFT, PROGRAM, PROGRESSION, USER, insert, insert_parents, refused, valid

CASCADE, RESTRICT, SET_NULL = "CASCADE", "RESTRICT", "SET NULL"


def restrict_violation(conn) -> str:
    """The SQLSTATE of a refused ON DELETE RESTRICT: PostgreSQL 18 reports 23001
    (restrict_violation, commit 086c84b23); 15 to 17 report 23503 (foreign_key_violation)."""
    return "23001" if conn.info.server_version >= 180000 else "23503"


# foreign key -> (child table, changes to its valid row, parent table, parent id, ON DELETE)
FOREIGN_KEYS = {
    "lift_maxes_user_id_fkey": ("lift_maxes", {}, "users", USER, CASCADE),
    "lift_maxes_lift_id_fkey": ("lift_maxes", {}, "lifts", LIFT, RESTRICT),
    "progression_logs_user_id_fkey": ("progression_logs", {}, "users", USER, CASCADE),
    "progression_logs_lift_id_fkey": ("progression_logs", {}, "lifts", LIFT, RESTRICT),
    "progression_logs_progression_id_fkey": (
        "progression_logs",
        {},
        "progressions",
        PROGRESSION,
        RESTRICT,
    ),
    "program_progressions_program_id_fkey": (
        "program_progressions",
        {},
        "programs",
        PROGRAM,
        CASCADE,
    ),
    "program_progressions_progression_id_fkey": (
        "program_progressions",
        {},
        "progressions",
        PROGRESSION,
        CASCADE,
    ),
    "program_progressions_lift_id_fkey": (
        "program_progressions",
        {"lift_id": LIFT},
        "lifts",
        LIFT,
        CASCADE,
    ),
    "weekly_lookups_program_id_fkey": ("weekly_lookups", {}, "programs", PROGRAM, CASCADE),
    "daily_lookups_program_id_fkey": (
        "daily_lookups",
        {"program_id": PROGRAM},
        "programs",
        PROGRAM,
        CASCADE,
    ),
    "lifts_parent_lift_id_fkey": ("lifts", {"parent_lift_id": LIFT}, "lifts", LIFT, SET_NULL),
}


@pytest.fixture
def parents(db):
    insert_parents(db)
    return db


def delete(conn, table: str, id) -> None:
    conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table)), [id])


def fetch(conn, table: str, id, column: str = "id"):
    query = sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
        sql.Identifier(column), sql.Identifier(table)
    )
    return conn.execute(query, [id]).fetchall()


@pytest.mark.parametrize(
    ("fkey", "child_table", "changes", "parent_table", "parent_id", "rule"),
    [pytest.param(name, *case, id=name) for name, case in FOREIGN_KEYS.items()],
)
def test_deleting_the_parent(parents, fkey, child_table, changes, parent_table, parent_id, rule):
    child = insert(parents, child_table, valid(child_table) | changes)
    column = fkey.removeprefix(f"{child_table}_").removesuffix("_fkey")
    if rule == RESTRICT:
        with refused(parents, restrict_violation(parents), fkey):
            delete(parents, parent_table, parent_id)
        assert fetch(parents, parent_table, parent_id) == [(parent_id,)]
        assert fetch(parents, child_table, child["id"], column) == [(parent_id,)]
    elif rule == CASCADE:
        delete(parents, parent_table, parent_id)
        assert fetch(parents, child_table, child["id"]) == []
    else:
        delete(parents, parent_table, parent_id)
        assert fetch(parents, child_table, child["id"], column) == [(None,)]


def test_deleting_a_user_erases_their_maxes_and_history_only(parents):
    other = insert(parents, "users", valid("users"))
    for user in (USER, other["id"]):
        insert(parents, "lift_maxes", valid("lift_maxes") | {"user_id": user})
        insert(parents, "progression_logs", valid("progression_logs") | {"user_id": user})
    delete(parents, "users", USER)
    for table in ("lift_maxes", "progression_logs"):
        query = sql.SQL("SELECT user_id FROM {}").format(sql.Identifier(table))
        assert parents.execute(query).fetchall() == [(other["id"],)], table


def test_a_progression_with_history_cannot_be_deleted_even_through_a_program(parents):
    link = insert(parents, "program_progressions", valid("program_progressions"))
    insert(parents, "progression_logs", valid("progression_logs"))
    with refused(parents, restrict_violation(parents), "progression_logs_progression_id_fkey"):
        delete(parents, "progressions", PROGRESSION)
    assert fetch(parents, "program_progressions", link["id"]) == [(link["id"],)]


def test_every_foreign_key_has_the_on_delete_rule_above(db):
    rules = {"c": CASCADE, "r": RESTRICT, "n": SET_NULL, "a": "NO ACTION", "d": "SET DEFAULT"}
    found = db.execute(
        """SELECT conname, confdeltype::text FROM pg_constraint
           WHERE contype = 'f' AND connamespace = 'public'::regnamespace"""
    ).fetchall()
    assert {name: rules[rule] for name, rule in found} == {
        name: case[-1] for name, case in FOREIGN_KEYS.items()
    }


def test_every_foreign_key_is_served_by_an_index_that_leads_with_its_columns(db):
    unserved = db.execute(
        """SELECT k.conname FROM pg_constraint k
           WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
             AND NOT EXISTS (
                 SELECT 1 FROM pg_index x
                 WHERE x.indrelid = k.conrelid
                   AND (x.indkey::int2[])[0:cardinality(k.conkey) - 1] = k.conkey
             )"""
    ).fetchall()
    assert unserved == []
