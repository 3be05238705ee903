"""Export: the chain as goose files, one per version, Up the up file and Down its rollback.

Invariant: a file ``export`` writes is read by goose's rules (``parser.parse``) into
exactly what liftdb runs (``compare.version_difference`` finds nothing), and holds every
comment of both files, ``--`` and ``/* */`` alike; what goose cannot express is refused,
naming the file, before anything is written: a version whose up and rollback files run in
different transaction modes (goose has one mode per file), a comment goose would take for
an annotation, a line ending inside a string literal written with CRLF line endings
(goose drops the carriage return), a ``/* */`` comment in a section with no statement to
carry it.
"""

from __future__ import annotations

from pathlib import Path

from runner import loader
from runner.errors import LayoutError, Mismatch, UsageError
from runner.goose import compare
from runner.goose.parser import (
    DOWN,
    GOOSE_FILE,
    NO_TRANSACTION,
    STATEMENT_BEGIN,
    STATEMENT_END,
    UP,
    ends_statement,
    go_trim,
    is_annotation,
    parse,
    tidy,
)


def export(sql_dir: Path | str, goose_dir: Path | str) -> list[Path]:
    """Write one goose file per version of the chain into ``goose_dir``; return their paths."""
    chain = loader.load(sql_dir)
    goose_dir = Path(goose_dir)
    rendered = {}
    for version in chain:
        path = goose_dir / f"{version.label}.sql"
        text = render(version)
        difference = compare.version_difference(version, parse(path, text))
        if difference:  # a statement goose would split or join differently
            raise Mismatch(f"cannot export {version.label}: {difference}")
        rendered[path] = text
    if goose_dir.is_dir():
        for path in sorted(goose_dir.iterdir()):
            if GOOSE_FILE.match(path.name) and path not in rendered:
                raise UsageError(
                    f"{path}: not a version of {chain.directory}; export into an empty folder"
                )
    write_all(goose_dir, rendered)
    return list(rendered)


def render(version: loader.Version) -> str:
    """The goose file for one version: its up file as Up, its rollback file as Down."""
    head = [f"-- +goose {UP}"]
    if not transactional(version):
        head.append(f"-- +goose {NO_TRANSACTION}")
    up = _render_section(version.up)
    down = _render_section(version.rollback)
    return "\n".join(head) + "\n" + up + f"\n-- +goose {DOWN}\n" + down


def transactional(version: loader.Version) -> bool:
    """The one transaction mode goose will run the file in, for Up and Down alike.

    A file without a statement runs nothing, so its mode does not matter; two files that
    run statements in different modes cannot be one goose file."""
    running = [f for f in (version.up, version.rollback) if f.statements]
    modes = {f.transactional for f in running}
    if len(modes) > 1:
        up, rollback = version.up, version.rollback
        raise LayoutError(
            f"cannot export {version.label}: goose runs a file's Up and Down in one mode"
            f" ('-- +goose {NO_TRANSACTION}' covers both), but {up.path} says transactional:"
            f" {str(up.transactional).lower()} and {rollback.path} says"
            f" {str(rollback.transactional).lower()}; put '-- transactional: false' in both,"
            " or in neither"
        )
    return modes.pop() if modes else version.up.transactional


def _render_section(sql_file: loader.SqlFile) -> str:
    """A file's statements in goose's terms, with every comment between them kept: ``--``
    comments on lines of their own, ``/* */`` comments with the statement they precede
    (the last ones with the statement they follow), inside StatementBegin/End when goose
    would otherwise end the statement early."""
    text = sql_file.text
    lines: list[str | list[str]] = []
    chunks: list[list[str]] = []  # per statement: its lines, not yet wrapped
    cursor = 0
    for statement in sql_file.statements:
        start = text.index(statement.sql, cursor)
        standalone, prefix = _gap(sql_file, cursor, start)
        lines += standalone
        chunk = prefix + _statement_lines(sql_file, statement)
        if ";" in statement.sql:
            chunk.insert(0, _WRAP)  # goose could end it at a line ending in that semicolon
        chunks.append(chunk)
        lines.append(chunk)  # a placeholder, replaced once the chunk is final
        cursor = start + len(statement.sql)
    standalone, trailing = _gap(sql_file, cursor, len(text), last=True)
    if trailing:
        if not chunks:
            raise LayoutError(
                f"{sql_file.path}: a /* */ comment in a file without a statement, which goose"
                " would send as an unfinished statement; write it as -- comments"
            )
        chunks[-1].extend(trailing)  # after the last statement's semicolon, in its block
    else:
        lines += standalone
    out: list[str] = []
    for item in lines:
        out += _wrapped(item) if isinstance(item, list) else [item]
    return tidy(out)


_WRAP = object()  # marks a chunk whose statement holds a semicolon of its own


def _wrapped(chunk: list) -> list[str]:
    """The chunk as goose must see it: in StatementBegin/End if its statement holds a
    semicolon or a line before its last could end it, or its last line would not."""
    marked = chunk[:1] == [_WRAP]
    chunk = chunk[1:] if marked else chunk
    early = any(ends_statement(line) or ";" in line for line in chunk[:-1])
    if marked or early or not ends_statement(chunk[-1]):
        return [f"-- +goose {STATEMENT_BEGIN}", *chunk, f"-- +goose {STATEMENT_END}"]
    return chunk


def _gap(
    sql_file: loader.SqlFile, start: int, end: int, *, last: bool = False
) -> tuple[list[str], list[str]]:
    """What lies between two statements (comments, semicolons, white space), as the lines
    to write on their own (``--`` comments, single blank lines) and the lines that must go
    with a statement: from the first ``/* */`` comment on."""
    from pglast.parser import scan

    gap = sql_file.text[start:end]
    blocks: list[tuple[int, int]] = []
    chars = list(gap)
    for token in scan(gap):
        if token.name == "ASCII_59":
            chars[token.start] = " "  # an empty statement, or the one before's end
        elif token.name == "C_COMMENT":
            blocks.append((token.start, token.end + 1))
    gap = "".join(chars)
    first_line = sql_file.text.count("\n", 0, start) + 1
    standalone: list[str] = []
    carried: list[str] = []
    offset = 0
    pieces = gap.split("\n")
    for index, piece in enumerate(pieces):
        piece_start, piece_end = offset, offset + len(piece)
        offset = piece_end + 1
        whole = 0 < index < len(pieces) - 1 or last
        line = piece.removesuffix("\r")
        if carried:
            if index == len(pieces) - 1 and not last:
                line = line.rstrip()  # the indentation before the statement's first line
                if not line:
                    continue
            _refuse_annotation_lookalike(sql_file, first_line + index, line)
            carried.append(line)
        elif any(a < piece_end and piece_start < b for a, b in blocks):
            line = line.strip() if index == 0 else line.rstrip()
            _refuse_annotation_lookalike(sql_file, first_line + index, line)
            carried.append(line)
        elif go_trim(line).startswith("--"):
            _refuse_annotation_lookalike(sql_file, first_line + index, line)
            standalone.append(go_trim(line))
        elif not go_trim(line) and whole and standalone[-1:] != [""]:
            standalone.append("")
    while last and carried and not carried[-1].strip():
        carried.pop()
    return standalone, carried


def _statement_lines(sql_file: loader.SqlFile, statement: loader.Statement) -> list[str]:
    _refuse_crlf_in_literal(sql_file, statement)
    lines = [line.removesuffix("\r") for line in statement.sql.split("\n")]
    for offset, line in enumerate(lines):
        _refuse_annotation_lookalike(sql_file, statement.line + offset, line)
    if ends_statement(lines[-1] + ";"):
        lines[-1] += ";"
    else:
        lines.append(";")  # the statement ends in a comment: the semicolon goes below it
    return lines


def _refuse_annotation_lookalike(sql_file: loader.SqlFile, line_number: int, line: str) -> None:
    if is_annotation(line):
        raise LayoutError(
            f"{sql_file.path}:{line_number}: a line holding '+goose' after '--', which goose"
            " would read as an annotation; reword it"
        )


def _refuse_crlf_in_literal(sql_file: loader.SqlFile, statement: loader.Statement) -> None:
    """goose reads lines without the carriage return before each newline, so a string
    literal (or function body) spanning CRLF lines would hold other bytes under goose."""
    from pglast.parser import scan

    if "\r\n" not in statement.sql:
        return
    quoted = ("SCONST", "USCONST", "BCONST", "XCONST", "IDENT", "UIDENT")
    for token in scan(statement.sql):
        if token.name in quoted and "\r\n" in statement.sql[token.start : token.end + 1]:
            line = statement.line + statement.sql.count("\n", 0, token.start)
            raise LayoutError(
                f"{sql_file.path}:{line}: a literal spanning CRLF line endings; goose"
                " would store it without the carriage returns: save the file with LF"
                " line endings"
            )


def write_all(directory: Path, files: dict[Path, str]) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LayoutError(f"cannot write {exc.filename or directory}: {exc.strerror}") from None
