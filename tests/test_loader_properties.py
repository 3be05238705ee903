"""Whatever a migration folder holds, the loader answers with a chain or one clear line.

Hypothesis writes arbitrary text, arbitrary bytes, SQL-like fragments and
arbitrary file names into a folder beside a valid version; ``loader.load``, and
then ``Plan.parse`` over a plan applying every version (what ``migrate`` does
before it runs anything), must either accept the folder, every up file holding
a statement, or raise a ``LayoutError`` whose message is one line naming a file
of the folder. Any other exception, a traceback, fails the test.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner import loader, plan
from runner.errors import LayoutError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIRST_UP = "00001_create_things.sql"
FIRST_ROLLBACK = "00001_create_things.rollback.sql"
VALID = {FIRST_UP: b"CREATE TABLE things (id int);\n", FIRST_ROLLBACK: b"DROP TABLE things;\n"}

# Pieces of SQL that stress the splitter: quotes, dollar quotes, comments, line endings.
SQL_PIECES = st.sampled_from(
    [
        "CREATE TABLE t (id int)", "SELECT 1", ";", "\n", "\r\n", " ", "'", "''", '"', "$$",
        "$fn$", "--", "-- transactional: false\n", "/*", "*/", "E'\\'", "(", ")", "BEGIN",
        "COMMIT", "CREATE INDEX CONCURRENTLY i ON t (id)", "é", "\u2028", "\x85", "\t",
        "DO $$ BEGIN RAISE NOTICE 'x;'; END $$", "\\", "U&'\\0041'", "::", "[", "]",
    ]
)  # fmt: skip
SQL_LIKE = st.lists(SQL_PIECES, max_size=30).map("".join)
# Any name a file can have on Linux: no "/" and no NUL, at most 255 bytes.
FILE_NAMES = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1
).filter(lambda name: name not in (".", "..") and len(name.encode()) <= 255)
VERSION_LIKE_NAMES = st.builds(
    "{}{}{}".format,
    st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    st.sampled_from(["_", "-", "__", ""]),
    st.text(max_size=20).map(lambda s: s.replace("/", "").replace("\x00", ""))
    .map(lambda s: s + ".sql"),
).filter(lambda name: len(name.encode()) <= 255)  # fmt: skip


def load_folder(files: dict[str, bytes]) -> LayoutError | None:
    """Write ``files`` into a fresh folder and load it: the refusal, or None and a sound chain."""
    with tempfile.TemporaryDirectory(prefix="liftdb-props-") as name:
        directory = Path(name)
        for file_name, content in files.items():
            (directory / file_name).write_bytes(content)
        try:
            chain = loader.load(directory)
            plan.Plan(tuple(plan.Step(version, "up") for version in chain)).parse()
        except LayoutError as refusal:
            assert len(refusal.message.splitlines()) == 1, refusal.message
            assert refusal.message == refusal.message.strip()
            assert refusal.message.startswith(str(directory)), refusal.message
            return refusal
    assert [v.number for v in chain] == list(range(1, len(chain) + 1))
    for version in chain:
        assert version.up.statements, version.up.path
        for statement in version.up.statements + version.rollback.statements:
            assert statement.line >= 1
    return None


@SETTINGS
@given(st.text())
def test_any_text_as_an_up_file(text):
    load_folder({**VALID, FIRST_UP: text.encode("utf-8", "surrogatepass")})


@SETTINGS
@given(SQL_LIKE, SQL_LIKE)
def test_sql_like_text_as_up_and_rollback(up, rollback):
    refusal = load_folder({FIRST_UP: up.encode(), FIRST_ROLLBACK: rollback.encode()})
    if refusal:
        assert FIRST_UP in refusal.message or FIRST_ROLLBACK in refusal.message


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_as_a_rollback_file(raw):
    load_folder({**VALID, FIRST_ROLLBACK: raw})


@SETTINGS
@given(st.lists(st.one_of(FILE_NAMES, VERSION_LIKE_NAMES), max_size=4, unique=True))
def test_any_file_names_beside_a_valid_version(names):
    files = {name: b"SELECT 1;\n" for name in names if name not in VALID}
    load_folder({**VALID, **files})
