"""goose's SQL migration parser, restated: what goose sends to the server from a file.

Invariant: ``parse`` returns, for any text, exactly the statements goose v3 would send in
each direction and whether it would use a transaction, or refuses the file as goose
would; it follows ``internal/sqlparser/parser.go`` rule for rule, down to Go's notion of
white space. goose reads a file line by line (a carriage return before a newline dropped;
lines up to 4 MiB); annotations are ``--`` lines holding ``+goose``, at column 0,
matched ignoring case; comment lines and empty lines are skipped only between statements;
a statement ends at a line whose last word before any ``--`` ends in ``;``, unless it sits
between ``StatementBegin`` and ``StatementEnd``; and ``NO TRANSACTION`` anywhere in the
file makes both its Up and its Down run outside a transaction.
``tests/goose_cases/`` holds the golden files that pin each rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from runner import loader
from runner.errors import LayoutError

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

# Go's bufio.Scanner gives up on a longer line ("token too long").
MAX_LINE_BYTES = 4 * 1024 * 1024

# What Go's strings.TrimSpace and bufio.ScanWords take for white space (unicode.IsSpace):
# Python's own str.strip() and str.split() also take \x1c to \x1f, which Go does not.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # noqa: E501
_GO_WORDS = re.compile(f"[^{re.escape(GO_SPACE)}]+")

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
    transactional: bool  # False: NO TRANSACTION, for Up and Down alike
    envsub: bool  # an ENVSUB ON annotation: statements are templates, not SQL
    has_down: bool
    up_text: str  # the Up section (and the comments above it) as plain SQL
    down_text: str  # the Down section as plain SQL


def go_trim(text: str) -> str:
    """Go's strings.TrimSpace."""
    return text.strip(GO_SPACE)


def ends_statement(line: str) -> bool:
    """goose's test for the end of a statement: the last word before any ``--`` ends in ``;``."""
    last = ""
    for word in _GO_WORDS.findall(line):
        if word.startswith("--"):
            break
        last = word
    return last.endswith(";")


def is_annotation(line: str) -> bool:
    """Whether goose reads the line as an annotation (and refuses it if it is not one)."""
    return go_trim(line).startswith("--") and "+goose" in line


def _equal_fold(a: str, b: str) -> bool:
    """Go's strings.EqualFold: rune by rune, under simple case folding."""
    if len(a) != len(b):
        return False
    pairs = zip(a, b, strict=True)
    return all(x == y or x.lower() == y.lower() or x.upper() == y.upper() for x, y in pairs)


def _annotation(line: str, path: Path, number: int) -> str:
    """The annotation a ``-- +goose`` line holds, or the error goose would raise."""
    where = f"{path}:{number}"
    if line[:1] in (" ", "\t"):
        raise LayoutError(f"{where}: goose annotation with leading whitespace: {go_trim(line)!r}")
    command = line.replace("--", "").replace("+goose", "", 1)
    if "+goose" in command:
        raise LayoutError(f"{where}: more than one +goose on one line: {go_trim(line)!r}")
    command = go_trim(command)
    for known in ANNOTATIONS:
        if _equal_fold(command, known):
            return known
    raise LayoutError(f"{where}: unknown goose annotation {go_trim(line)!r}")


def _lines(text: str, path: Path) -> list[str]:
    """The file as Go's bufio.Scanner gives it line by line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line; it starts no other
    result = []
    for number, line in enumerate(lines, start=1):
        if len(line.encode("utf-8")) > MAX_LINE_BYTES:
            raise LayoutError(f"{path}:{number}: a line longer than goose reads (4 MiB)")
        result.append(line.removesuffix("\r"))
    return result


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
        sql = go_trim("".join(line + "\n" for line in buffer))
        statements[direction()].append(GooseStatement(sql, started))
        if state in (_END_UP, _END_DOWN) and sql and not sql.endswith(";"):
            sections[direction()].append(";")  # goose needs none there; a file of SQL does
        buffer = []

    for number, line in enumerate(_lines(text, path), start=1):
        if state == _START and not go_trim(line):
            continue
        if is_annotation(line):
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
                if go_trim("".join(buffer)):
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
        if not buffer and (go_trim(line).startswith("--") or line == ""):
            continue  # comments and empty lines between statements are not sent
        if state == _START:
            raise LayoutError(f"{path}:{number}: SQL before '-- +goose Up'")
        if state not in (_END_UP, _END_DOWN):
            if not buffer:
                started = number
            buffer.append(line)
        if state in (_UP, _DOWN):
            if ends_statement(line):
                store()
        elif state in (_END_UP, _END_DOWN):
            store()
            state = _UP if state == _END_UP else _DOWN

    if state == _START:
        raise LayoutError(f"{path}: no '-- +goose Up' annotation")
    if state in (_BEGIN_UP, _BEGIN_DOWN):
        raise LayoutError(f"{path}: StatementBegin without StatementEnd")
    if go_trim("".join(buffer)):
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
        up_text=tidy(sections[_START] + sections[_UP]),
        down_text=tidy(sections[_DOWN]),
    )


def tidy(lines: list[str]) -> str:
    """The lines without blank ones at either end, ending in one newline (or empty)."""
    start, end = 0, len(lines)
    while start < end and not go_trim(lines[start]):
        start += 1
    while end > start and not go_trim(lines[end - 1]):
        end -= 1
    return "".join(line + "\n" for line in lines[start:end])


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
