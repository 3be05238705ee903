"""runner.sqltree.parse: pglast's trees, built without pglast's per-attribute checks.

The lint and goose read every tree through ``sqltree.parse``; these tests prove
it returns exactly what ``pglast.parse_sql`` returns (same values, same Python
types, same offsets) for every SQL file the repository holds, and that pglast's
checks are back in force for hand-built nodes afterwards, even after a parse
error.
"""

from __future__ import annotations

import enum
from pathlib import Path

import pglast
import pytest
from pglast import ast
from pglast.parser import ParseError

from runner import sqltree

REPO = Path(__file__).resolve().parent.parent
SQL_FILES = sorted(
    [*(REPO / "sql").glob("*.sql"), *(REPO / "tests").rglob("*.sql")],
    key=lambda path: str(path),
)
# Node kinds the repository's files may not reach: a few statements that do.
EXTRA_SQL = [
    "SELECT a, count(*) FILTER (WHERE b > 1.5e3) OVER (PARTITION BY c ORDER BY d DESC NULLS LAST)"
    " FROM t JOIN u USING (id) WHERE x IN (1, 2) AND y IS NOT NULL GROUP BY a HAVING sum(z) > 0",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r LIMIT 3",
    "INSERT INTO t (a, b) VALUES (1, 'x') ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b RETURNING *",
    "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID, ALTER COLUMN b SET DEFAULT 'q'",
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON s.t (lower(a) DESC, b) INCLUDE (c)"
    " NULLS NOT DISTINCT WHERE d",
    "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT a + 1 $$",
    "CREATE TYPE mood AS ENUM ('sad', 'ok'); DROP TABLE IF EXISTS a, b CASCADE",
    "UPDATE t SET a = b'101'::bit(3), c = x'ff', d = -1 FROM u WHERE t.id = u.id",
    "SELECT CASE WHEN a THEN 1 ELSE NULL END, ARRAY[1, 2][1], '{}'::jsonb -> 'k', $1",
]


def shape(value):
    """The value with every node, enum and container spelled out, exact types included."""
    if isinstance(value, ast.Node):
        return (type(value).__name__, {name: shape(getattr(value, name)) for name in value})
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, [shape(item) for item in value])
    if isinstance(value, enum.Enum):
        return (type(value).__name__, value.name)
    return (type(value).__name__, value)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(path.read_bytes().decode(errors="replace"), id=str(path.relative_to(REPO)))
        for path in SQL_FILES
    ]
    + [pytest.param(sql, id=f"extra-{n}") for n, sql in enumerate(EXTRA_SQL)],
)
def test_trees_are_pglasts_own(sql):
    try:
        expected = pglast.parse_sql(sql)
    except ParseError as exc:
        with pytest.raises(ParseError) as raised:
            sqltree.parse(sql)
        assert raised.value.args == exc.args
        return
    assert [shape(raw) for raw in sqltree.parse(sql)] == [shape(raw) for raw in expected]


def test_the_corpus_is_not_empty():
    assert len(SQL_FILES) > 50


def hand_built_node_is_checked() -> bool:
    try:
        ast.Constraint(contype="not a constraint type")
    except ValueError:
        return True
    return False


def test_hand_built_nodes_are_checked_after_a_parse():
    assert hand_built_node_is_checked()
    sqltree.parse("SELECT 1")
    assert hand_built_node_is_checked()


def test_hand_built_nodes_are_checked_after_a_parse_error():
    with pytest.raises(ParseError):
        sqltree.parse("SELECT FROM WHERE (")
    assert hand_built_node_is_checked()


def test_nested_blocks_restore_the_checks_only_at_the_outermost():
    with sqltree.parser_built_nodes():
        with sqltree.parser_built_nodes():
            sqltree.parse("SELECT 1")
        assert not hand_built_node_is_checked()
    assert hand_built_node_is_checked()
