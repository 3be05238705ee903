"""Migration files parsed once by PostgreSQL's own parser, with every offset mapped.

Invariant: a ``ParsedFile`` holds either the file's statements (each with its
line and column, and the waivers written on it) or the one finding that says
why it could not be read or parsed, never both; nothing here raises on bad
input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pglast import parser
from pglast.parser import ParseError

from runner import psql_only, sqltree
from runner.directives import Directives, read_directives
from runner.errors import LayoutError
from runner.lint.findings import Finding, Location
from runner.loader import line_col, read_file

WAIVER_PREFIX = "lint:"
MAX_IDENTIFIER = 63  # bytes (NAMEDATALEN - 1)
# 64 bytes or more without a break, or in double quotes: the only places a name that long
# can be (bytes, not characters: PostgreSQL's limit is in bytes).
LONG_WORD = re.compile(rb'[^\s(),;."]{64,}|"[^"]{64,}"')


@dataclass(frozen=True)
class Waiver:
    """``-- lint: allow <rule>[, <rule>] -- <reason>`` written on a statement."""

    rules: tuple[str, ...]
    reason: str
    where: Location


@dataclass
class ParsedStatement:
    node: Any  # the pglast node (RawStmt.stmt)
    where: Location
    start: int  # character offsets of the statement in its file
    end: int
    waivers: list[Waiver] = field(default_factory=list)


@dataclass
class ParsedFile:
    path: Path
    display: str  # the path as findings show it
    text: str = ""
    statements: list[ParsedStatement] = field(default_factory=list)
    directives: Directives = field(default_factory=Directives)
    error: Finding | None = None
    text_findings: list[Finding] = field(default_factory=list)  # bad waivers, long names
    lock_timeout_reported: bool = False  # require-lock-timeout is said once per file

    @property
    def transactional(self) -> bool:
        return self.directives.transactional

    def location(self, offset: int) -> Location:
        line, col = line_col(self.text, offset)
        return Location(self.display, line, col)


def parse_file(path: Path, display: str) -> ParsedFile:
    """Read and parse one file; a problem becomes ``.error``, never an exception."""
    parsed = ParsedFile(path=path, display=display)
    try:
        parsed.text = read_file(path).text
    except LayoutError as exc:
        message = exc.message.removeprefix(f"{path}:").lstrip()
        line, col, message = _position(message)
        parsed.error = Finding(display, line, col, "unreadable-file", message)
        return parsed
    parsed.directives = read_directives(parsed.text)
    for directive, problem in parsed.directives.problems:  # what the runner refuses
        where = Location(display, directive.line, directive.col)
        parsed.text_findings.append(Finding.at(where, "invalid-directive", problem))
    parse_text(parsed)
    return parsed


def _position(message: str) -> tuple[int, int, str]:
    """``3:7: not valid UTF-8`` -> ``(3, 7, "not valid UTF-8")``; no position -> 1:1."""
    head, _, rest = message.partition(": ")
    line, _, col = head.partition(":")
    if rest and line.isdigit() and col.isdigit():
        return int(line), int(col), rest
    return 1, 1, message


def parse_text(parsed: ParsedFile) -> None:
    text = parsed.text
    try:
        raws = sqltree.parse(text)
    except ParseError as exc:
        message = str(exc.args[0]) if exc.args else "syntax error"
        offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        offset, message = psql_only.explain(text, offset, message)  # as migrate says it
        parsed.error = Finding.at(parsed.location(offset), "parse-error", message)
        return
    except Exception as exc:  # pglast raises a few other types on odd input
        parsed.error = Finding(parsed.display, 1, 1, "parse-error", str(exc) or type(exc).__name__)
        return
    for raw in raws:
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(text)
        parsed.statements.append(
            ParsedStatement(node=raw.stmt, where=parsed.location(start), start=start, end=end)
        )
        if type(raw.stmt).__name__ == "CopyStmt":
            _copy_through_client(parsed, start, end)
    if WAIVER_PREFIX in text:
        _attach_waivers(parsed)
    if LONG_WORD.search(text.encode()):  # a cheap look first: scanning every file costs
        _long_identifiers(parsed)


def _copy_through_client(parsed: ParsedFile, start: int, end: int) -> None:
    """A COPY from or to the client, which migrate refuses (``runner.psql_only``)."""
    source = parsed.text[start:end]
    first = next(iter(parser.scan(source)), None)
    at = start + (first.start if first is not None else 0)
    refused = psql_only.copy_through_client(parsed.text[at:end])
    if refused:
        parsed.text_findings.append(Finding.at(parsed.location(at), "parse-error", refused))


def _long_identifiers(parsed: ParsedFile) -> None:
    """The parser truncates names past 63 bytes silently; the scanner still sees them whole."""
    for token in parser.scan(parsed.text):
        if token.name == "IDENT":
            name = parsed.text[token.start : token.end + 1].strip('"')
            if len(name.encode()) > MAX_IDENTIFIER:
                parsed.text_findings.append(
                    Finding.at(
                        parsed.location(token.start), "identifier-too-long",
                        f"{name} is longer than {MAX_IDENTIFIER} bytes; PostgreSQL truncates"
                        f" it to {name.encode()[:MAX_IDENTIFIER].decode(errors='ignore')}",
                    )
                )  # fmt: skip


def _attach_waivers(parsed: ParsedFile) -> None:
    """Each ``-- lint:`` comment belongs to the statement it sits inside, or whose line it
    ends (after the statement's ``;``), else to the statement it precedes."""
    try:
        tokens = parser.scan(parsed.text)
    except Exception:  # the text parsed, so this does not happen; stay safe anyway
        return
    for token in tokens:
        if token.name != "SQL_COMMENT":
            continue
        body = parsed.text[token.start : token.end + 1].removeprefix("--").strip()
        if not body.startswith(WAIVER_PREFIX):
            continue
        where = parsed.location(token.start)
        waiver, problem = _read_waiver(body.removeprefix(WAIVER_PREFIX), where)
        target = _waived_statement(parsed, token.start)
        if problem is None and target is None:
            problem = "waiver after the last statement applies to nothing"
        if problem is not None:
            parsed.text_findings.append(Finding.at(where, "invalid-waiver", problem))
        else:
            target.waivers.append(waiver)


def _waived_statement(parsed: ParsedFile, at: int) -> ParsedStatement | None:
    following = next((s for s in parsed.statements if s.end > at), None)
    if following is not None and following.start <= at:
        return following  # inside it
    before = [s for s in parsed.statements if s.end <= at]
    if before and not parsed.text[before[-1].end : at].strip(" \t;"):
        return before[-1]  # at the end of its line: DROP TABLE t; -- lint: allow ...
    return following


def _read_waiver(body: str, where: Location) -> tuple[Waiver | None, str | None]:
    from runner.lint.rules import RULES

    verb, _, rest = body.strip().partition(" ")
    if verb != "allow":
        return None, f"expected '-- lint: allow <rule> -- <reason>', found 'lint: {body.strip()}'"
    rules_text, separator, reason = rest.partition("--")
    rules = tuple(r.strip() for r in rules_text.split(",") if r.strip())
    if not rules:
        return None, "waiver names no rule: write '-- lint: allow <rule> -- <reason>'"
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        return None, f"waiver names unknown rule {unknown[0]!r}"
    if not separator or not reason.strip():
        return None, f"waiver of {', '.join(rules)} gives no reason: add '-- <why it is safe>'"
    return Waiver(rules=rules, reason=reason.strip(), where=where), None
