"""The bridge to goose (pressly/goose): export the chain as goose files, check a goose
folder against it, import one, and adopt a database that goose migrated.

Invariant: a goose file this module writes or accepts means, statement for statement,
what its pair of liftdb files means. Every translation is checked before anything is
written or recorded, by parsing both sides with PostgreSQL's own parser (pglast) and
comparing the syntax trees, so whitespace and comments never count and a changed
statement always does. ``parse`` mirrors goose's annotation parser
(``internal/sqlparser/parser.go``): annotations are ``-- +goose ...`` lines at column 0,
matched case-insensitively; a statement ends at a line whose last word ends in ``;``,
unless it sits between ``StatementBegin`` and ``StatementEnd``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner import adopt as adoption
from runner import loader
from runner.directives import read_directives
from runner.errors import LayoutError, Mismatch, UsageError
from runner.executor import DEFAULT_LOCK_TIMEOUT_MS

GOOSE_TABLE = "goose_db_version"

# goose's annotations, in goose's spelling; a line is matched against them ignoring case.
UP = "Up"
DOWN = "Down"
STATEMENT_BEGIN = "StatementBegin"
STATEMENT_END = "StatementEnd"
NO_TRANSACTION = "NO TRANSACTION"
ENVSUB_ON = "ENVSUB ON"
ENVSUB_OFF = "ENVSUB OFF"
ANNOTATIONS = (UP, DOWN, STATEMENT_BEGIN, STATEMENT_END, NO_TRANSACTION, ENVSUB_ON, ENVSUB_OFF)

# goose reads a version from the digits before the first underscore of a .sql or .go file.
GOOSE_FILE = re.compile(r"^(?P<number>\d+)_(?P<name>.*)\.(?P<ext>sql|go)$")

# goose's parser states (the names of its own state machine).
_START, _UP, _BEGIN_UP, _END_UP, _DOWN, _BEGIN_DOWN, _END_DOWN = range(7)
_UP_STATES = (_UP, _BEGIN_UP, _END_UP)
_DOWN_STATES = (_DOWN, _BEGIN_DOWN, _END_DOWN)


@dataclass(frozen=True)
class GooseStatement:
    """One statement as goose sends it to the server, and the line it starts on."""

    sql: str
    line: int


@dataclass(frozen=True)
class GooseFile:
    """A goose SQL migration as goose reads it, plus what liftdb needs to import it."""

    path: Path
    number: int  # the version its name carries; 0 for a name that carries none
    name: str
    up: tuple[GooseStatement, ...]
    down: tuple[GooseStatement, ...]
    transactional: bool
    envsub: bool  # an ENVSUB ON annotation: statements are templates, not SQL
    has_down: bool
    up_text: str  # the Up section (and the comments above it) as plain SQL
    down_text: str  # the Down section as plain SQL


@dataclass(frozen=True)
class CheckResult:
    versions: int
    statements: int


@dataclass(frozen=True)
class Imported:
    written: tuple[Path, ...]
    without_down: tuple[int, ...]  # versions whose goose file had no Down section


# --- goose's parser -----------------------------------------------------------------


def _annotation(line: str, path: Path, number: int) -> str:
    """The annotation a ``-- +goose`` line holds, or the error goose would raise."""
    where = f"{path}:{number}"
    if line[:1] in (" ", "\t"):
        raise LayoutError(f"{where}: goose annotation with leading whitespace: {line.strip()!r}")
    command = line.replace("--", "").replace("+goose", "", 1)
    if "+goose" in command:
        raise LayoutError(f"{where}: more than one +goose on one line: {line.strip()!r}")
    command = command.strip()
    for known in ANNOTATIONS:
        if command.casefold() == known.casefold():
            return known
    raise LayoutError(f"{where}: unknown goose annotation {line.strip()!r}")


def _ends_statement(line: str) -> bool:
    """goose's test for the end of a statement: the last word before any ``--`` ends in ``;``."""
    last = ""
    for word in line.split():
        if word.startswith("--"):
            break
        last = word
    return last.endswith(";")


def parse(path: Path | str, text: str | None = None) -> GooseFile:
    """Read a goose SQL file as goose does, refusing what goose refuses."""
    path = Path(path)
    if text is None:
        text = loader.read_file(path).text
    state = _START
    transactional, envsub = True, False
    statements: dict[int, list[GooseStatement]] = {_UP: [], _DOWN: []}
    sections: dict[int, list[str]] = {_START: [], _UP: [], _DOWN: []}
    buffer: list[str] = []
    started = 0
    has_down = False

    def direction() -> int:
        return _UP if state in _UP_STATES else _DOWN

    def store() -> None:
        nonlocal buffer
        sql = "\n".join(buffer).strip()
        statements[direction()].append(GooseStatement(sql, started))
        if state in (_END_UP, _END_DOWN) and sql and not sql.endswith(";"):
            sections[direction()].append(";")  # goose needs none there; a file of SQL does
        buffer = []

    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if state == _START and not line.strip():
            continue
        if line.strip().startswith("--") and "+goose" in line:
            annotation = _annotation(line, path, number)
            if annotation == UP:
                if state != _START:
                    raise LayoutError(f"{path}:{number}: a second '-- +goose Up'")
                state = _UP
                continue
            if annotation == DOWN:
                if state not in (_UP, _END_UP):
                    raise LayoutError(
                        f"{path}:{number}: '-- +goose Down' before '-- +goose Up'"
                        " or inside StatementBegin/StatementEnd"
                    )
                if "".join(buffer).strip():
                    raise LayoutError(f"{path}:{started}: statement not ended by a semicolon")
                state, has_down = _DOWN, True
                continue
            if annotation == STATEMENT_BEGIN:
                if state not in (_UP, _END_UP, _DOWN, _END_DOWN):
                    raise LayoutError(
                        f"{path}:{number}: StatementBegin outside an Up or Down section"
                    )
                state = _BEGIN_UP if state in _UP_STATES else _BEGIN_DOWN
                continue
            if annotation == STATEMENT_END:
                if state not in (_BEGIN_UP, _BEGIN_DOWN):
                    raise LayoutError(f"{path}:{number}: StatementEnd without StatementBegin")
                state = _END_UP if state == _BEGIN_UP else _END_DOWN
            else:
                if annotation == NO_TRANSACTION:
                    transactional = False
                else:
                    envsub = envsub or annotation == ENVSUB_ON
                continue
        else:
            sections[_START if state == _START else direction()].append(line)
        if not buffer and (line.strip().startswith("--") or line == ""):
            continue  # comments and empty lines between statements are not sent
        if state == _START:
            raise LayoutError(f"{path}:{number}: SQL before '-- +goose Up'")
        if state not in (_END_UP, _END_DOWN):
            if not buffer:
                started = number
            buffer.append(line)
        if state in (_UP, _DOWN):
            if _ends_statement(line):
                store()
        elif state in (_END_UP, _END_DOWN):
            store()
            state = _UP if state == _END_UP else _DOWN

    if state == _START:
        raise LayoutError(f"{path}: no '-- +goose Up' annotation")
    if state in (_BEGIN_UP, _BEGIN_DOWN):
        raise LayoutError(f"{path}: StatementBegin without StatementEnd")
    if "".join(buffer).strip():
        raise LayoutError(f"{path}:{started}: statement not ended by a semicolon")
    match = GOOSE_FILE.match(path.name)
    return GooseFile(
        path=path,
        number=int(match["number"]) if match else 0,
        name=match["name"] if match else path.stem,
        up=tuple(statements[_UP]),
        down=tuple(statements[_DOWN]),
        transactional=transactional,
        envsub=envsub,
        has_down=has_down,
        up_text=_tidy(sections[_START] + sections[_UP]),
        down_text=_tidy(sections[_DOWN]),
    )


def read_folder(directory: Path | str) -> list[GooseFile]:
    """Every goose migration of a folder, by version; refuses what liftdb cannot map."""
    directory = Path(directory)
    if not directory.is_dir():
        raise LayoutError(f"{directory}: goose folder not found")
    files: dict[int, GooseFile] = {}
    for path in sorted(directory.iterdir()):
        if path.name.endswith("_test.go") or path.suffix not in (".sql", ".go"):
            continue  # goose reads only .sql and .go files, and never Go tests
        match = GOOSE_FILE.match(path.name)
        if not match:
            if path.suffix == ".go":
                continue  # the Go code that registers migrations, not a migration
            raise LayoutError(f"{path}: goose cannot read a version from this name")
        if match["ext"] == "go":
            raise LayoutError(f"{path}: a Go migration; liftdb can only take SQL migrations")
        goose_file = parse(path)
        if goose_file.envsub:
            raise LayoutError(
                f"{path}: uses '-- +goose ENVSUB ON'; its statements are templates filled"
                " from the environment, which liftdb cannot map"
            )
        if goose_file.number in files:
            other = files[goose_file.number].path.name
            raise LayoutError(f"{path}: version {goose_file.number} also in {other}")
        files[goose_file.number] = goose_file
    return [files[number] for number in sorted(files)]


# --- comparing statements as syntax trees -------------------------------------------


@dataclass(frozen=True)
class _Tree:
    printed: str  # pglast's one-line print of the statement's syntax tree
    where: str  # file:line


def _trees(path: Path, pieces: Iterable[tuple[str, int]], hint: str = "") -> list[_Tree]:
    """Each SQL statement of the pieces, as a syntax tree printed on one line."""
    from pglast.parser import ParseError
    from pglast.stream import RawStream

    from runner import sqltree

    trees = []
    for sql, line in pieces:
        try:
            raws = sqltree.parse(sql)
        except ParseError as exc:
            offset = exc.args[1] if len(exc.args) > 1 else 0
            at = line + sql.count("\n", 0, offset or 0)
            reason = " ".join(str(exc.args[0]).split())  # its quote of the SQL spans lines
            reason = reason if len(reason) <= 80 else reason[:77] + "..."
            raise LayoutError(f"{path}:{at}: {reason}{hint}") from None
        for raw in raws:
            at = line + sql.count("\n", 0, raw.stmt_location)
            trees.append(_Tree(RawStream()(raw.stmt), f"{path}:{at}"))
    return trees


def _file_trees(sql_file: loader.SqlFile) -> list[_Tree]:
    # goose reads lines without their carriage return; a CRLF checkout means the same.
    pieces = ((s.sql.replace("\r\n", "\n"), s.line) for s in sql_file.statements)
    return _trees(sql_file.path, pieces)


def _goose_trees(path: Path, statements: Sequence[GooseStatement]) -> list[_Tree]:
    hint = " (as goose splits it: does a statement holding ';' lack StatementBegin/End?)"
    return _trees(path, ((s.sql, s.line) for s in statements), hint)


def _first_difference(ours: list[_Tree], theirs: list[_Tree], what: str) -> str | None:
    """The first statement where two lists of trees part, named for a person."""
    for index, (mine, other) in enumerate(zip(ours, theirs, strict=False), start=1):
        if mine.printed != other.printed:
            return (
                f"{other.where}: {what} statement {index} differs from {mine.where}:"
                f" {_excerpt(other.printed, mine.printed)}"
            )
    if len(ours) > len(theirs):
        extra = ours[len(theirs)]
        return f"{extra.where}: {what} statement {len(theirs) + 1} is missing from the goose file"
    if len(theirs) > len(ours):
        extra = theirs[len(ours)]
        return f"{extra.where}: {what} statement {len(ours) + 1} is not in sql/"
    return None


def _excerpt(theirs: str, ours: str, width: int = 40) -> str:
    """Both texts from a little before the first character where they differ."""
    at = next((i for i, (a, b) in enumerate(zip(theirs, ours, strict=False)) if a != b), None)
    if at is None:
        at = min(len(theirs), len(ours))
    start = max(0, at - 20)

    def cut(text: str) -> str:
        piece = text[start : start + width]
        return ("..." if start else "") + piece + ("..." if start + width < len(text) else "")

    return f"goose has {cut(theirs)!r}, sql/ has {cut(ours)!r}"


def _version_difference(version: loader.Version, goose_file: GooseFile) -> str | None:
    if goose_file.transactional != version.transactional:
        if version.transactional:
            return f"{goose_file.path}: has '-- +goose NO TRANSACTION'; {version.up.path} does not"
        return (
            f"{goose_file.path}: lacks '-- +goose NO TRANSACTION';"
            f" {version.up.path} says transactional: false"
        )
    return _first_difference(
        _file_trees(version.up), _goose_trees(goose_file.path, goose_file.up), "Up"
    ) or _first_difference(
        _file_trees(version.rollback), _goose_trees(goose_file.path, goose_file.down), "Down"
    )


# --- export ------------------------------------------------------------------------


def render(version: loader.Version) -> str:
    """The goose file for one version: its up file as Up, its rollback file as Down."""
    head = [f"-- +goose {UP}"]
    if not version.transactional:
        head.append(f"-- +goose {NO_TRANSACTION}")
    up = _render_section(version.up)
    down = _render_section(version.rollback)
    return "\n".join(head) + "\n" + up + f"\n-- +goose {DOWN}\n" + down


def _render_section(sql_file: loader.SqlFile) -> str:
    """A file's statements in goose's terms, with the comments between them kept."""
    text = sql_file.text
    lines: list[str] = []
    cursor = 0
    for statement in sql_file.statements:
        start = text.index(statement.sql, cursor)
        _add_comments(lines, sql_file, cursor, start)
        lines += _statement_lines(sql_file, statement)  # verbatim: blank lines in it stay
        cursor = start + len(statement.sql)
    _add_comments(lines, sql_file, cursor, len(text))
    return _tidy(lines)


def _add_comments(lines: list[str], sql_file: loader.SqlFile, start: int, end: int) -> None:
    """The ``--`` comments between two statements, each on its line, and the blank lines
    between them (several as one); the rest there is semicolons and spaces."""
    first_line = sql_file.text.count("\n", 0, start) + 1
    pieces = sql_file.text[start:end].split("\n")
    for offset, piece in enumerate(pieces):
        piece = piece.strip().lstrip(";").strip()
        if piece.startswith("--"):
            _refuse_annotation_lookalike(sql_file, first_line + offset, piece)
            lines.append(piece)
        elif not piece and 0 < offset < len(pieces) - 1:  # a whole line, and empty
            _add_blank(lines)


def _add_blank(lines: list[str]) -> None:
    if lines and lines[-1] != "":
        lines.append("")


def _statement_lines(sql_file: loader.SqlFile, statement: loader.Statement) -> list[str]:
    lines = [line.removesuffix("\r") for line in statement.sql.split("\n")]
    for offset, line in enumerate(lines):
        if line.strip().startswith("--"):
            _refuse_annotation_lookalike(sql_file, statement.line + offset, line)
    if _ends_statement(lines[-1] + ";"):
        lines[-1] += ";"
    else:
        lines.append(";")  # the statement ends in a comment: the semicolon goes below it
    if ";" in statement.sql:
        # goose would end the statement at the first line ending in a semicolon.
        return [f"-- +goose {STATEMENT_BEGIN}", *lines, f"-- +goose {STATEMENT_END}"]
    return lines


def _refuse_annotation_lookalike(sql_file: loader.SqlFile, line_number: int, line: str) -> None:
    if "+goose" in line:
        raise LayoutError(
            f"{sql_file.path}:{line_number}: a comment holding '+goose', which goose would"
            " read as an annotation; reword it"
        )


def _tidy(lines: list[str]) -> str:
    """The lines without blank ones at either end, ending in one newline (or empty)."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "".join(line + "\n" for line in lines[start:end])


def export(sql_dir: Path | str, goose_dir: Path | str) -> list[Path]:
    """Write one goose file per version of the chain into ``goose_dir``; return their paths."""
    chain = loader.load(sql_dir)
    goose_dir = Path(goose_dir)
    rendered = {}
    for version in chain:
        path = goose_dir / f"{version.label}.sql"
        text = render(version)
        difference = _version_difference(version, parse(path, text))
        if difference:  # a statement goose would split or join differently
            raise Mismatch(f"cannot export {version.label}: {difference}")
        rendered[path] = text
    if goose_dir.is_dir():
        for path in sorted(goose_dir.iterdir()):
            if GOOSE_FILE.match(path.name) and path not in rendered:
                raise UsageError(
                    f"{path}: not a version of {chain.directory}; export into an empty folder"
                )
    _write_all(goose_dir, rendered)
    return list(rendered)


def _write_all(directory: Path, files: dict[Path, str]) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LayoutError(f"cannot write {exc.filename or directory}: {exc.strerror}") from None


# --- check -------------------------------------------------------------------------


def check(goose_dir: Path | str, sql_dir: Path | str) -> CheckResult:
    """Compare a goose folder with the chain; raise ``Mismatch`` naming the first difference."""
    chain = loader.load(sql_dir)
    goose_files = {f.number: f for f in read_folder(goose_dir)}
    statements = 0
    for number in sorted(set(goose_files) | {v.number for v in chain}):
        version, goose_file = chain.get(number), goose_files.get(number)
        if goose_file is None:
            raise Mismatch(
                f"{version.up.path}: version {version.label} has no goose file in {goose_dir}"
            )
        if version is None:
            raise Mismatch(f"{goose_file.path}: version {number} is not in {chain.directory}")
        if goose_file.name != version.name:
            raise Mismatch(
                f"{goose_file.path}: named {goose_file.name!r}; {chain.directory} calls"
                f" version {number} {version.name!r}"
            )
        difference = _version_difference(version, goose_file)
        if difference:
            raise Mismatch(difference)
        statements += len(version.up.statements) + len(version.rollback.statements)
    return CheckResult(versions=len(chain), statements=statements)


# --- import ------------------------------------------------------------------------


def import_folder(goose_dir: Path | str, sql_dir: Path | str) -> Imported:
    """Write an up and a rollback file per goose migration into ``sql_dir``."""
    goose_files = read_folder(goose_dir)
    sql_dir = Path(sql_dir)
    files: dict[Path, str] = {}
    for expected, goose_file in enumerate(goose_files, start=1):
        if goose_file.number != expected:
            raise LayoutError(
                f"{goose_file.path}: goose version {goose_file.number} where liftdb expects"
                f" {expected} (versions run 1, 2, 3...); renumber with `goose fix` first"
            )
        if not loader.SNAKE_CASE.match(goose_file.name):
            raise LayoutError(f"{goose_file.path}: name {goose_file.name!r} is not snake_case")
        label = f"{goose_file.number:0{loader.NUMBER_WIDTH}d}_{goose_file.name}"
        up = loader.SqlFile(sql_dir / f"{label}.sql", _with_directive(goose_file))
        rollback = loader.SqlFile(
            sql_dir / f"{label}.rollback.sql",
            goose_file.down_text or "-- The goose file had no Down section.\n",
        )
        version = loader.Version(goose_file.number, goose_file.name, up, rollback)
        difference = _version_difference(version, goose_file)
        if difference:
            raise Mismatch(f"cannot import {goose_file.path.name}: {difference}")
        files[up.path] = up.text
        files[rollback.path] = rollback.text
    for path in files:
        if path.exists():
            raise UsageError(f"{path}: already exists; import into an empty folder")
    _write_all(sql_dir, files)
    return Imported(
        written=tuple(files),
        without_down=tuple(f.number for f in goose_files if not f.has_down),
    )


def _with_directive(goose_file: GooseFile) -> str:
    """The Up section as an up file, carrying NO TRANSACTION as ``-- transactional: false``."""
    text = goose_file.up_text
    said = read_directives(text).transactional
    if said == goose_file.transactional:
        return text
    if goose_file.transactional:
        raise LayoutError(
            f"{goose_file.path}: says transactional: false but has no '-- +goose NO TRANSACTION'"
        )
    return "-- transactional: false\n\n" + text


# --- adopt -------------------------------------------------------------------------


def goose_applied(conn) -> list[int]:
    """The versions ``goose_db_version`` records as applied: each one's latest row says so."""
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (GOOSE_TABLE,)).fetchone()[0]
    if not exists:
        return []
    rows = conn.execute(
        f"SELECT DISTINCT ON (version_id) version_id, is_applied FROM {GOOSE_TABLE}"
        " ORDER BY version_id, id DESC"
    ).fetchall()
    return [version for version, is_applied in rows if is_applied and version > 0]


def adopt(
    url: str, sql_dir: Path | str, lock_ms: int = DEFAULT_LOCK_TIMEOUT_MS
) -> adoption.Adopted:
    """Record as applied every version goose applied, once the live schema is checked
    (``runner.adopt``), under the migration lock."""
    from runner import database, lock, recorder

    chain = loader.load(sql_dir)
    with database.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (GOOSE_TABLE,)).fetchone()[0]
        if not exists:
            raise UsageError(f"{database.mask(url)} has no {GOOSE_TABLE} table: nothing to adopt")
        lock.acquire(conn, lock_ms)
        by_goose = set(goose_applied(conn))
        ours = {row.number for row in recorder.applied(conn)}
        unknown = sorted(by_goose - {v.number for v in chain})
        if unknown:
            raise Mismatch(
                f"{GOOSE_TABLE} records version {unknown[0]}, which {chain.directory} lacks"
            )
        version = max(by_goose | ours, default=0)
        missing = sorted(set(range(1, version + 1)) - by_goose - ours)
        if missing:
            raise Mismatch(
                f"version {version} is applied but version {missing[0]} is not; liftdb applies"
                " versions in order and cannot adopt a gap"
            )
        to_mark = sorted(by_goose - ours)
        if to_mark:
            adoption.check_schema(conn, url, sql_dir, version)
            adoption.record(conn, chain, to_mark)
        lock.release(conn)
    return adoption.Adopted(marked=tuple(to_mark), version=version)
