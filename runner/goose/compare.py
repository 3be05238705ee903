"""Whether a goose file and a pair of liftdb files make PostgreSQL do the same thing.

Invariant: ``version_difference`` is None only when, in each direction, goose and liftdb
send the server statements it executes identically, under the same transaction mode:
the same syntax trees (PostgreSQL's parser, pglast; every value inside a literal, a
quoted identifier and a function body, byte for byte), the same spelling of every string
literal whose meaning depends on session settings (a plain ``'...'`` holding a backslash
reads differently under ``standard_conforming_strings = off``; ``U&'...'`` is refused
there), and, outside a transaction, one statement per string sent (the server runs a
string of several as one implicit transaction). Whitespace and comments outside
literals, and the case of keywords, do not count. An Up section without a statement is
an empty version to goose, which liftdb runs only when the up file says
``-- empty: true``.
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
    literals: tuple[str | None, ...]  # each string constant's spelling, where it matters
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
    """Each string constant of the statement, in order: its exact spelling when its value
    depends on session settings, else None (its value, in the tree, is all that counts)."""
    from pglast.parser import scan

    found: list[str | None] = []
    for token in scan(sql):
        if token.name in ("SCONST", "USCONST", "BCONST", "XCONST"):
            text = sql[token.start : token.end + 1]
            plain = token.name == "SCONST" and text.startswith("'") and "\\" in text
            found.append(text if plain or token.name == "USCONST" else None)
    return tuple(found)


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
                f"{other.where}: {what} statement {index} spells a string literal otherwise"
                f" than {mine.where}, and its value then depends on"
                " standard_conforming_strings: write it the same way on both sides"
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
        found = first_difference(ours, theirs, what)
        if not found and not goose_file.transactional:
            found = _one_per_piece(theirs, what)
        if found:
            return found
    return None
