"""What a file written for psql holds that the server cannot run.

Invariant: liftdb sends a file's statements to the server and nothing else, so
whatever only psql understands is refused before anything runs, at the
``file:line:col`` where it starts, in words that say what it is: a ``COPY``
whose rows travel through the client (``FROM STDIN``, and the data lines psql
would send after it; ``TO STDOUT``), a meta-command (``\\copy``, ``\\i``,
``\\set``, ``\\gexec``, ``\\.``), a psql variable (``:name``, ``:'name'``).
PostgreSQL's parser decides: a ``COPY`` is judged from its syntax tree, and a
meta-command or a variable is named only where the parser stopped on it (the
server's grammar has no backslash token, and no ``:`` before a name).
"""

from __future__ import annotations

import re

# What to do instead, for the meta-commands a migration file is most often found with.
_INSTEAD = {
    "copy": "write the rows as INSERT statements, or COPY FROM a file the server can read",
    "i": "put the included file's statements in this file",
    "ir": "put the included file's statements in this file",
    "include": "put the included file's statements in this file",
    "include_relative": "put the included file's statements in this file",
    "set": "write the value into the SQL",
    "gset": "write the value into the SQL",
    "gexec": "write the statements it would generate, or EXECUTE them in a DO block",
    "c": "a version runs on the database liftdb connects to",
    "connect": "a version runs on the database liftdb connects to",
}
_META_COMMAND = re.compile(r"\\([A-Za-z_.!?]*)")
# A piece of text whose first token is COPY, after any blanks and comments: the only
# pieces worth parsing to find a COPY (the tree decides what it is).
_FIRST_TOKEN_COPY = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*copy\b", re.I | re.S)
_VARIABLE = re.compile(r":(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
BYTE_ORDER_MARK = "\ufeff"

FROM_STDIN = (
    "COPY ... FROM STDIN takes its rows from the client (psql sends the lines after it);"
    " liftdb sends SQL only: write the rows as INSERT statements, or COPY FROM a file the"
    " server can read"
)
TO_STDOUT = (
    "COPY ... TO STDOUT sends rows to the client, and liftdb reads none:"
    " remove it, or COPY TO a file on the server"
)


def copy_through_client(sql: str) -> str | None:
    """Why a statement cannot run, when it is a ``COPY`` from or to the client; else None.

    ``sql`` is one statement that parses. Only a statement starting with ``COPY`` is
    parsed here (a COPY cannot start any other way), so this costs nothing for the rest.
    """
    if sql[:4].lower() != "copy":
        return None
    from pglast.parser import ParseError

    from runner import sqltree

    try:
        [raw] = sqltree.parse(sql)
    except (ParseError, ValueError):
        return None
    return _through_client(raw.stmt)


def _through_client(node) -> str | None:
    from pglast import ast

    if not isinstance(node, ast.CopyStmt) or node.filename is not None or node.is_program:
        return None  # COPY to or from a file or a program runs on the server
    return FROM_STDIN if node.is_from else TO_STDOUT


def explain(text: str, offset: int, message: str) -> tuple[int, str]:
    """The place and words for a syntax error at ``offset`` in ``text``.

    When what stopped the parser is psql's (the data lines after a ``COPY ... FROM
    STDIN``, a meta-command, a variable) or a byte order mark in the middle of the
    file, say that, and where it starts; otherwise the parser's own message.
    """
    copy_at = _copy_from_stdin_before(text, offset)
    if copy_at is not None:
        return copy_at, FROM_STDIN
    here = text[offset : offset + 1]
    if here == "\\":
        match = _META_COMMAND.match(text, offset)
        name = match[1] if match else ""
        instead = _INSTEAD.get(name.lower())
        said = f"\\{name} is a psql meta-command, not SQL: the server cannot run it"
        return offset, f"{said}; {instead}" if instead else said
    if here == ":":
        match = _VARIABLE.match(text, offset)
        if match:
            return offset, f"{match[0]} is a psql variable, not SQL: write its value in"
    if here == BYTE_ORDER_MARK:
        return offset, (
            "a byte order mark (U+FEFF) inside the file, as where two files were joined: remove it"
        )
    return offset, message


def _copy_from_stdin_before(text: str, offset: int) -> int | None:
    """Where the last ``COPY ... FROM STDIN`` before ``offset`` starts, if there is one:
    then the syntax error is in the data lines psql would have sent for it."""
    from pglast.parser import split

    head = text[:offset]
    if "copy" not in head.lower():
        return None
    try:  # the scanner alone: the head holds what made the parser stop
        pieces = split(head, with_parser=False, only_slices=True)
    except Exception:
        return None
    from runner import sqltree

    found = None
    for piece in pieces:
        sql = head[piece]
        if not _FIRST_TOKEN_COPY.match(sql):
            continue
        try:
            raws = sqltree.parse(sql)
        except Exception:
            continue
        for raw in raws:
            if _through_client(raw.stmt) == FROM_STDIN:
                found = piece.start + (raw.stmt_location or 0)
    return found
