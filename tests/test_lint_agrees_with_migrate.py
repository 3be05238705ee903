"""The lint and ``liftdb migrate`` read a folder the same way (issue 12, part 4).

Which files are versions, and which folders are refused, is decided by one
scan (``runner.loader.scan``): every broken folder ``migrate`` refuses (the
cases of ``tests/test_bad_input.py``) has a lint finding on the very file
migrate names, and a folder migrate accepts, bystander files and all (a
``00001_x.sql.orig`` backup, an editor's swap file, ``schema.sql``, notes), has
no layout finding and the same versions. Directives are read by one reader
(``runner.directives``) too: a value migrate refuses is a lint finding on that
file, and both say the same file is or is not transactional.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import write_chain
from test_bad_input import CASES, write_folder

from runner import loader, plan
from runner.errors import LayoutError
from runner.lint import lint
from runner.lint.rules import RULES

LAYOUT_RULES = {rule for rule, group in RULES.items() if group == "layout"}
CHAIN = (
    ("create_things", "CREATE TABLE things (id int PRIMARY KEY);\n", "DROP TABLE things;\n"),
    ("add_size", "ALTER TABLE things ADD COLUMN size int;\n",
     "ALTER TABLE things DROP COLUMN size;\n"),
)  # fmt: skip
BYSTANDERS = [
    "00001_create_things.sql.orig",
    "00001_create_things.sql~",
    ".00001_create_things.sql.swp",
    "00002_add_size.rollback.sql.bak",
    "README.md",
    "contract.toml",
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_every_folder_migrate_refuses_has_a_lint_finding_on_the_file_it_names(tmp_path, case):
    sql_dir = write_folder(tmp_path / "sql", {**case.changes, **case.extra})
    with pytest.raises(LayoutError) as refused:  # what migrate checks before it connects
        chain = loader.load(sql_dir)
        plan.Plan(tuple(plan.Step(version, "up") for version in chain)).parse()
    assert str(sql_dir / case.names) in refused.value.message
    named = [f for f in lint(sql_dir).findings if Path(f.path).name == case.names]
    assert named, f"migrate refuses {case.names} ({refused.value.message}); the lint is silent"
    place = re.match(
        rf"{re.escape(str(sql_dir / case.names))}:(\d+):(\d+): ", refused.value.message
    )
    if place:  # migrate names a line and column: the lint says it there
        assert (int(place[1]), int(place[2])) in [(f.line, f.col) for f in named], (
            refused.value.message,
            [f.as_text() for f in named],
        )


@pytest.mark.parametrize("name", BYSTANDERS)
def test_a_file_migrate_does_not_read_is_not_a_version_to_the_lint(tmp_path, name):
    sql_dir = write_chain(tmp_path / "sql", CHAIN)
    (sql_dir / name).write_text("SELECT 1;\n")
    versions = [(v.number, v.up.path, v.rollback.path) for v in loader.load(sql_dir)]
    result = lint(sql_dir)
    assert [f.as_text() for f in result.findings if f.rule in LAYOUT_RULES] == []
    assert versions == [
        (1, sql_dir / "00001_create_things.sql", sql_dir / "00001_create_things.rollback.sql"),
        (2, sql_dir / "00002_add_size.sql", sql_dir / "00002_add_size.rollback.sql"),
    ]
    assert set(result.model.tables) == {"things"}


@pytest.mark.parametrize("name", ["schema.sql", "notes.sql", "seed.py"])
def test_a_file_yoyo_would_apply_is_not_a_version_yet_the_lint_names_it(tmp_path, name):
    # migrate never runs it; yoyo reads every .sql and .py file of the folder (issue 13).
    sql_dir = write_chain(tmp_path / "sql", CHAIN)
    (sql_dir / name).write_text("SELECT 1;\n")
    assert [v.number for v in loader.load(sql_dir)] == [1, 2]
    findings = [f for f in lint(sql_dir).findings if f.rule in LAYOUT_RULES]
    assert [(Path(f.path).name, f.rule) for f in findings] == [(name, "snake-case-name")]
    assert "yoyo would apply it" in findings[0].message


DIRECTIVE_TEXTS = [
    "-- transactional: false\nCREATE INDEX CONCURRENTLY things_size_idx ON things (size);\n",
    "--transactional:FALSE\nSELECT 1;\n",
    "\n\n  -- transactional: False  \nSELECT 1;\n",
    "-- a note first\n-- transactional: false\nSELECT 1;\n",
    "SELECT 1;\n-- transactional: false\n",  # not leading: ignored by all
    "-- lock_timeout: 2s\n-- transactional: true\nSELECT 1;\n",
]


@pytest.mark.parametrize("text", DIRECTIVE_TEXTS)
def test_runner_and_lint_read_a_file_as_equally_transactional(tmp_path, text):
    from runner.lint.source import parse_file

    path = tmp_path / "00001_x.sql"
    path.write_text(text)
    assert loader.read_file(path).transactional == parse_file(path, str(path)).transactional


@pytest.mark.parametrize(
    "directive,says",
    [
        ("-- transactional: no", "directive transactional: 'no' is not true or false"),
        ("-- lock_timeout: 5", "directive lock_timeout: '5' needs a unit"),
    ],
)
def test_a_directive_migrate_refuses_is_a_lint_finding_at_its_line(
    tmp_path, database_url, directive, says
):
    from processes import liftdb

    sql_dir = write_chain(tmp_path / "sql", CHAIN)
    up = sql_dir / "00002_add_size.sql"
    up.write_text(f"-- say why\n{directive}\n{up.read_text()}")
    result = liftdb(database_url, sql_dir, "migrate")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"liftdb: error: {up}:2:{directive.index(':') + 3}: {says}")
    [finding] = [f for f in lint(sql_dir).findings if f.rule == "invalid-directive"]
    assert (finding.path, finding.line, finding.col) == (str(up), 2, directive.index(":") + 3)
    assert finding.message.startswith(says)
    from runner import api

    assert api.applied_versions(database_url) == []  # nothing ran, not even version 1
