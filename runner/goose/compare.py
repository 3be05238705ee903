"""Whether a goose file and a pair of liftdb files make PostgreSQL do the same thing.

Invariant: ``version_difference`` is None only when, in each direction, goose and liftdb
send the server statements it executes identically, under the same transaction mode:
the same syntax trees (PostgreSQL's parser, pglast; every value inside a literal, a
quoted identifier and a function body, byte for byte), the same meaning for every string
literal where ``standard_conforming_strings`` is off too (a plain ``'...'`` holding a
backslash reads as ``E'...'`` there; ``U&'...'`` is refused there), no change of that
setting before a literal in a transactional version (liftdb's one string is read whole
before it runs, goose's statements one by one), and, outside a transaction, one
statement per string sent (the server runs a string of several as one implicit
transaction). Whitespace and comments outside literals, and the case of keywords, do not
count. An Up section without a statement is an empty version to goose, which liftdb runs
only when the up file says ``-- empty: true``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner import loader
from runner.errors import LayoutError
from runner.goose.parser import NO_TRANSACTION, GooseFile, GooseStatement


@dataclass(frozen=True)
class Tree:
    """One SQL statement as the server would execute it, and where it is written."""

    tree: str  # its syntax tree, as JSON without source positions
    literals: tuple[str | None, ...]  # each string constant's meaning where scs is off
    printed: str  # a one-line rendering, to show a person where two statements part
    where: str  # file:line
    piece: int  # which string sent to the server it came in


def _without_locations(node):
    if isinstance(node, dict):
        return {
            key: _without_locations(value)
            for key, value in node.items()
            if key not in ("location", "stmt_location", "stmt_len")
        }
    if isinstance(node, list):
        return [_without_locations(value) for value in node]
    return node


def _literals(sql: str) -> tuple[str | None, ...]:
    """What each string constant of the statement means under
    ``standard_conforming_strings = off``, where that differs from its value in the tree
    (which is its meaning under ``on``): a plain ``'...'`` holding a backslash reads as an
    ``E'...'`` there, and a ``U&'...'`` is refused; None for every other constant."""
    from pglast.parser import scan

    found: list[str | None] = []
    previous = None
    for token in scan(sql):
        text = sql[token.start : token.end + 1]
        after_uescape, previous = previous == "UESCAPE", token.name
        if after_uescape:
            continue  # U&'...' UESCAPE '!': the escape character, part of the U& literal
        if token.name == "USCONST":
            found.append("<refused where standard_conforming_strings is off>")
        elif token.name == "SCONST" and text.startswith("'") and "\\" in text:
            found.append(_as_escape_string(text))
        elif token.name in ("SCONST", "BCONST", "XCONST"):
            found.append(None)
    return tuple(found)


def _as_escape_string(quoted: str) -> str:
    """A plain literal's value where backslashes are escapes, as PostgreSQL's own parser
    reads the same text written ``E'...'``; a text that is no escape string then is an
    error on the server."""
    from pglast.parser import ParseError, parse_sql_json

    try:
        document = json.loads(parse_sql_json(f"SELECT E{quoted}"))
    except ParseError:
        return "<a syntax error where standard_conforming_strings is off>"
    target = document["stmts"][0]["stmt"]["SelectStmt"]["targetList"][0]["ResTarget"]["val"]
    return json.dumps(_without_locations(target), sort_keys=True)


def _sets_string_reading(tree: Tree) -> bool:
    """Whether the statement changes how later literals are read (SET, SET LOCAL or RESET
    of standard_conforming_strings, or RESET ALL)."""
    node = json.loads(tree.tree).get("VariableSetStmt")
    if node is None:
        return False
    return (
        node.get("name") in ("standard_conforming_strings", None)
        or node.get("kind") == "VAR_RESET_ALL"
    )


def reading_difference(ours: list[Tree], transactional: bool, what: str) -> str | None:
    """liftdb sends a transactional version as one string, which the server reads whole
    before it runs any of it; goose sends statement by statement. A statement that changes
    standard_conforming_strings therefore changes how a later literal of the version reads
    under goose, and not under liftdb."""
    if not transactional:
        return None  # liftdb sends those one by one too
    for index, tree in enumerate(ours):
        if not _sets_string_reading(tree):
            continue
        later = next((t for t in ours[index + 1 :] if any(v is not None for v in t.literals)), None)
        if later is not None:
            return (
                f"{later.where}: {what} statement reads a literal after {tree.where} changes"
                " standard_conforming_strings: goose (statement by statement) reads it under"
                " the new setting, liftdb (the whole version is read before it runs) under the"
                " old one; put the setting and the literal in separate versions"
            )
    return None


def trees(path: Path, pieces: Iterable[tuple[str, int]], hint: str = "") -> list[Tree]:
    """Each SQL statement of the pieces (strings sent to the server, with the line each
    starts on), in order."""
    from pglast.parser import ParseError, parse_sql_json
    from pglast.stream import RawStream

    from runner import sqltree

    found = []
    for index, (sql, line) in enumerate(pieces):
        try:
            raws = sqltree.parse(sql)
            document = json.loads(parse_sql_json(sql))
        except ParseError as exc:
            offset = exc.args[1] if len(exc.args) > 1 else 0
            at = line + sql.count("\n", 0, offset or 0)
            reason = " ".join(str(exc.args[0]).split())  # its quote of the SQL spans lines
            reason = reason if len(reason) <= 80 else reason[:77] + "..."
            raise LayoutError(f"{path}:{at}: {reason}{hint}") from None
        for raw, stmt in zip(raws, document.get("stmts", []), strict=True):
            start = raw.stmt_location
            end = start + raw.stmt_len if raw.stmt_len else len(sql)
            found.append(
                Tree(
                    tree=json.dumps(_without_locations(stmt["stmt"]), sort_keys=True),
                    literals=_literals(sql[start:end]),
                    printed=RawStream()(raw.stmt),
                    where=f"{path}:{line + sql.count(chr(10), 0, start)}",
                    piece=index,
                )
            )
    return found


def file_trees(sql_file: loader.SqlFile) -> list[Tree]:
    """liftdb's side: each statement of the file is sent as it is written."""
    return trees(sql_file.path, ((s.sql, s.line) for s in sql_file.statements))


def goose_trees(path: Path, statements: Sequence[GooseStatement]) -> list[Tree]:
    hint = " (as goose splits it: does a statement holding ';' lack StatementBegin/End?)"
    return trees(path, ((s.sql, s.line) for s in statements), hint)


def first_difference(ours: list[Tree], theirs: list[Tree], what: str) -> str | None:
    """The first statement where two lists of trees part, named for a person."""
    for index, (mine, other) in enumerate(zip(ours, theirs, strict=False), start=1):
        if mine.tree != other.tree:
            return (
                f"{other.where}: {what} statement {index} differs from {mine.where}:"
                f" {excerpt(other.printed, mine.printed)}"
            )
        if mine.literals != other.literals:
            return (
                f"{other.where}: {what} statement {index} writes a string literal that reads"
                f" otherwise than {mine.where}'s where standard_conforming_strings is off"
                " (a backslash in a plain '...', or U&'...'): write it the same way on both"
                " sides"
            )
    if len(ours) > len(theirs):
        extra = ours[len(theirs)]
        return f"{extra.where}: {what} statement {len(theirs) + 1} is missing from the goose file"
    if len(theirs) > len(ours):
        extra = theirs[len(ours)]
        return f"{extra.where}: {what} statement {len(ours) + 1} is not in sql/"
    return None


def excerpt(theirs: str, ours: str, width: int = 40) -> str:
    """Both texts from a little before the first character where they differ."""
    at = next((i for i, (a, b) in enumerate(zip(theirs, ours, strict=False)) if a != b), None)
    if at is None:
        at = min(len(theirs), len(ours))
    start = max(0, at - 20)

    def cut(text: str) -> str:
        piece = text[start : start + width]
        return ("..." if start else "") + piece + ("..." if start + width < len(text) else "")

    return f"goose has {cut(theirs)!r}, sql/ has {cut(ours)!r}"


def _one_per_piece(theirs: list[Tree], what: str) -> str | None:
    """Outside a transaction each string goose sends must hold one statement: the server
    runs a string of several as one implicit transaction (where CREATE INDEX
    CONCURRENTLY fails), while liftdb sends them one by one."""
    for earlier, later in zip(theirs, theirs[1:], strict=False):
        if earlier.piece == later.piece:
            return (
                f"{later.where}: {what} statement shares one string with the one before"
                f" ({earlier.where}) under '-- +goose {NO_TRANSACTION}', so the server would"
                " run both in one implicit transaction; give each its own line ending in ';'"
            )
    return None


def transaction_difference(version: loader.Version, goose_file: GooseFile) -> str | None:
    """goose's one mode for the file against each liftdb file that runs something."""
    for sql_file in (version.up, version.rollback):
        if sql_file.statements and sql_file.transactional != goose_file.transactional:
            if goose_file.transactional:
                return (
                    f"{goose_file.path}: lacks '-- +goose {NO_TRANSACTION}';"
                    f" {sql_file.path} says transactional: false"
                )
            return f"{goose_file.path}: has '-- +goose {NO_TRANSACTION}'; {sql_file.path} does not"
    return None


def empty_difference(version: loader.Version, goose_file: GooseFile) -> str | None:
    """goose applies and records a version whose Up sends nothing; liftdb runs one only
    when its up file says ``-- empty: true`` (else it takes it for a template left
    unfilled, and refuses it)."""
    says_empty = version.up.empty
    if not version.up.statements and not says_empty:
        return (
            f"{version.up.path}: holds no SQL statement, which migrate refuses, while goose"
            f" applies {goose_file.path.name} as an empty version; if it is empty on purpose,"
            " say '-- empty: true' in its leading comments"
        )
    return None


def version_difference(version: loader.Version, goose_file: GooseFile) -> str | None:
    """The first thing that would make goose and liftdb do different things, or None."""
    found = transaction_difference(version, goose_file) or empty_difference(version, goose_file)
    if found:
        return found
    for what, sql_file, statements in (
        ("Up", version.up, goose_file.up),
        ("Down", version.rollback, goose_file.down),
    ):
        ours, theirs = file_trees(sql_file), goose_trees(goose_file.path, statements)
        found = first_difference(ours, theirs, what) or reading_difference(
            ours, sql_file.transactional, what
        )
        if not found and not goose_file.transactional:
            found = _one_per_piece(theirs, what)
        if found:
            return found
    return None
