"""Reads the migration folder into an ordered chain of versions.

Invariant: a ``Chain`` only exists for a well-formed folder. Versions are
numbered contiguously from 1, each number appears once, each up file
``NNNNN_name.sql`` has its ``NNNNN_name.rollback.sql`` beside it, every file is
readable UTF-8 (a leading byte order mark is dropped: it is not content), and
every ``.sql`` file whose name starts with a digit is one of those. Anything
else is refused with a one-line ``LayoutError`` naming the file, before a single
statement runs. (Parsing is the plan's: ``Plan.parse`` parses every file a run
needs before the run starts.)
"""

from __future__ import annotations

import codecs
import hashlib
import re
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from runner import yoyo
from runner.directives import Directives, read_directives
from runner.errors import LayoutError

# Goose's sequential layout: a zero-padded number, an underscore, a snake_case name.
# ASCII digits only: ``\d`` would also take other scripts' digits, which int() reads.
VERSION_FILE = re.compile(r"(?P<number>[0-9]+)_(?P<name>[^.]+)(?P<rollback>\.rollback)?\.sql")
# A .sql file whose name starts with a digit is meant as a version; one that does not
# match VERSION_FILE (``00002-create.sql``, ``00002_a.down.sql``, ``00002_a.SQL``) is a typo,
# not a bystander.
LOOKS_LIKE_VERSION = re.compile(r"[0-9].*\.sql", re.DOTALL | re.IGNORECASE)
SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*")
NUMBER_WIDTH = 5
MAX_VERSION = 2**31 - 1  # the bookkeeping stores versions as integer

# UTF-32 before UTF-16: the little-endian marks share their first two bytes.
OTHER_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class Statement(NamedTuple):
    """One SQL statement of a file, with where it starts."""

    sql: str
    line: int  # 1-based line of the statement's first token in its file

    @property
    def first_line(self) -> str:
        return self.sql.strip().splitlines()[0] if self.sql.strip() else ""


class Value:
    """A read-only value: equal, hashed and shown by the attributes named in ``_fields``,
    which ``__init__`` sets once (``object.__setattr__``). What ``@dataclass(frozen=True)``
    gave, without compiling six methods each time a class is created (about 0.3 ms each
    on Python 3.11, paid by every cold ``status``: tests/test_startup.py). A
    ``cached_property`` still works: it writes the instance's ``__dict__`` directly."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def _key(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: cannot delete {name!r}")


class SqlFile(Value):
    """One migration file as read from disk."""

    _fields = ("path", "text")
    path: Path
    text: str

    def __init__(self, path: Path, text: str) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "text", text)

    @cached_property
    def checksum(self) -> str:
        """SHA-256 of the text with line endings normalised: a CRLF checkout is not drift
        (nor is a byte order mark, which ``read_file`` drops)."""
        normalised = self.text.replace("\r\n", "\n")
        return hashlib.sha256(normalised.encode("utf-8")).hexdigest()

    @cached_property
    def directives(self) -> Directives:
        """The leading ``-- key: value`` directives (``runner.directives``, their one reader)."""
        return read_directives(self.text)

    @cached_property
    def statements(self) -> tuple[Statement, ...]:
        """The file split into statements by PostgreSQL's own parser.

        ``split`` runs the full parser (a syntax error anywhere refuses the file) without
        building Python syntax trees, which costs a tenth of ``parse_sql``: this runs for
        every file a migration executes. What only psql can run (a ``COPY`` through the
        client, a meta-command, a variable: ``runner.psql_only``) is refused here too, as
        ``LayoutError`` at ``file:line:col``.
        """
        from pglast.parser import ParseError, split

        from runner import psql_only

        try:
            slices = split(self.text, with_parser=True, only_slices=True)
        except ParseError as exc:
            message = exc.args[0]
            offset = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else None
            offset, message = psql_only.explain(
                self.text, len(self.text) if offset is None else offset, message
            )
            line, col = line_col(self.text, offset)
            raise LayoutError(f"{self.path}:{line}:{col}: {one_line(message)}") from None
        statements = []
        # Lines are counted from one statement to the next, never from the file's start:
        # numbering a file of N statements reads it once, not N times.
        line, counted = 1, 0
        for piece in slices:
            sql = self.text[piece].strip()
            if sql:
                line += self.text.count("\n", counted, piece.start)
                counted = piece.start
                refused = sql[:4].lower() == "copy" and psql_only.copy_through_client(sql)
                if refused:
                    col = piece.start - self.text.rfind("\n", 0, piece.start)
                    raise LayoutError(f"{self.path}:{line}:{col}: {refused}")
                statements.append(Statement(sql=sql, line=line))
        return tuple(statements)

    def timeout_ms(self, key: str) -> int | None:
        """The ``lock_timeout`` / ``statement_timeout`` directive in milliseconds, if given."""
        try:
            return self.directives.timeout_ms(key)
        except ValueError as exc:
            raise LayoutError(f"{self.path}: directive {key}: {exc}") from None

    @property
    def lock_retries(self) -> int | None:
        """The ``lock_retries`` directive, if given."""
        try:
            return self.directives.lock_retries
        except ValueError as exc:
            raise LayoutError(f"{self.path}: directive lock_retries: {exc}") from None

    def check_directives(self) -> None:
        """Raise ``LayoutError`` at the first directive whose value the runner cannot use."""
        for directive, problem in self.directives.problems:
            raise LayoutError(f"{self.path}:{directive.line}:{directive.col}: {problem}")

    @property
    def transactional(self) -> bool:
        return self.directives.transactional

    @property
    def empty(self) -> bool:
        """``-- empty: true``: a version that runs no statement on purpose (goose applies
        and records such a version; without the directive it is a template left unfilled)."""
        return (self.directives.get("empty") or "false").lower() == "true"


class Version(NamedTuple):
    """A numbered migration: its up file and the rollback file that undoes it."""

    number: int
    name: str
    up: SqlFile
    rollback: SqlFile

    @property
    def label(self) -> str:
        return f"{self.number:0{NUMBER_WIDTH}d}_{self.name}"

    @property
    def transactional(self) -> bool:
        return self.up.transactional


class Chain(Value):
    """The versions of a folder, in order."""

    _fields = ("directory", "versions")
    directory: Path
    versions: tuple[Version, ...]

    def __init__(self, directory: Path, versions: tuple[Version, ...] = ()) -> None:
        object.__setattr__(self, "directory", directory)
        object.__setattr__(self, "versions", versions)

    def __iter__(self):
        return iter(self.versions)

    def __len__(self) -> int:
        return len(self.versions)

    def get(self, number: int) -> Version | None:
        if 1 <= number <= len(self.versions):
            return self.versions[number - 1]
        return None

    @property
    def head(self) -> int:
        return len(self.versions)


def version_named(text: str) -> tuple[int, str | None]:
    """A version as the command line names it: (number, name), the name None when only a
    number is given (``3``, ``00003``); else its label (``00003_add_widgets``), or its up
    or rollback file's name or path (``sql/00003_add_widgets.sql``, as a shell completes
    it). ``ValueError`` for anything else; whether the chain has it is not checked here."""
    if text.strip().isdigit():
        return int(text), None
    base = Path(text).name
    match = VERSION_FILE.fullmatch(base) or VERSION_FILE.fullmatch(base + ".sql")
    if match is None:
        raise ValueError(
            f"{text!r} is not a version number, label (00003_name) or version file name"
        )
    return int(match["number"]), match["name"]


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


MESSAGE_WIDTH = 300  # a syntax error "near" a megabyte-long token quotes all of it


def one_line(text: str) -> str:
    """A message on one line and of readable length, whatever the parser or file held."""
    text = " ".join(str(text).split())
    return text if len(text) <= MESSAGE_WIDTH else text[: MESSAGE_WIDTH - 3] + "..."


DURATION = re.compile(r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|min|h|d)?\s*$")
UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration(text: str) -> int:
    """``5s``, ``500ms``, ``2min``, ``1h`` or ``0`` (off) as milliseconds; ValueError otherwise.

    A bare number other than 0 is refused: PostgreSQL would read it as milliseconds,
    a person often means seconds.
    """
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (examples: 5s, 500ms, 2min, 0 for off)")
    amount = float(match["amount"])
    if match["unit"] is None and amount != 0:
        raise ValueError(f"{text!r} needs a unit (examples: 5s, 500ms, 2min, 0 for off)")
    milliseconds = amount * UNIT_MS[match["unit"] or "ms"]
    if milliseconds > 2**31 - 1:
        raise ValueError(f"{text!r} is longer than PostgreSQL allows (about 24 days)")
    return round(milliseconds)


def read_file(path: Path) -> SqlFile:
    if path.is_symlink() and not path.exists():
        raise LayoutError(f"{path}: dangling symbolic link")
    if path.is_dir():
        raise LayoutError(f"{path}: is a directory, not a migration file")
    if not path.is_file():
        # A FIFO or a device would block or never end: refuse it rather than read it.
        raise LayoutError(f"{path}: not a regular file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LayoutError(f"{path}: cannot read: {exc.strerror}") from None
    for other, encoding in OTHER_BYTE_ORDER_MARKS:
        if raw.startswith(other):
            raise LayoutError(
                f"{path}: is {encoding} (it starts with its byte order mark); save it as UTF-8"
            )
    # A UTF-8 byte order mark (Windows editors write one) is not content: it is dropped
    # before anything reads the text, so adding or removing it is not drift (as in Flyway).
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", "replace")
        line, col = line_col(before, len(before))
        raise LayoutError(
            f"{path}:{line}:{col}: not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        ) from None
    if "\x00" in text:
        raise LayoutError(f"{path}: contains a NUL byte")
    return SqlFile(path=path, text=text)


class VersionPaths(NamedTuple):
    """The files of one version, as the folder holds them (not yet read)."""

    number: int
    name: str
    up: Path
    rollback: Path | None


class Problem(NamedTuple):
    """What is wrong with the folder, at one file: ``rule`` is the lint's name for it;
    ``refuses``: the runner refuses the folder (else a convention only the lint asks for)."""

    path: Path
    rule: str
    message: str
    refuses: bool = True

    def __str__(self) -> str:
        return f"{_shown(self.path)}: {self.message}"


class Layout(NamedTuple):
    """Which files of a folder are versions, and every problem found, in the order the
    runner meets them."""

    versions: tuple[VersionPaths, ...]
    problems: tuple[Problem, ...]


def scan(directory: Path | str) -> Layout:
    """The one reading of which files are versions, for the runner (``load``, which refuses
    at the first problem) and the lint (which reports every one). Reads no file's text.

    A ``.sql`` file whose name starts with a digit is a version and must be
    ``NNNNN_snake_case_name.sql`` or ``.rollback.sql`` beside it; any other file
    (``contract.toml``, a ``00001_x.sql.orig`` backup) is not looked at, except that a
    ``.sql`` or ``.py`` file yoyo would apply is reported (not refused: liftdb never runs it).
    """
    directory = Path(directory)
    if not directory.is_dir():
        return Layout((), (Problem(directory, "unreadable-file", "migration folder not found"),))
    try:
        paths = sorted(directory.iterdir())
    except OSError as exc:
        return Layout((), (Problem(directory, "unreadable-file", f"cannot list: {exc.strerror}"),))
    problems: list[Problem] = []
    ups: dict[int, list[tuple[str, Path]]] = {}
    rollbacks: dict[tuple[int, str], Path] = {}
    for path in paths:
        match = VERSION_FILE.fullmatch(path.name)
        if not match:
            if LOOKS_LIKE_VERSION.fullmatch(path.name):
                problems.append(Problem(path, "snake-case-name",
                    "not a migration file name; versions are NNNNN_snake_case_name.sql"
                    " and NNNNN_snake_case_name.rollback.sql"))  # fmt: skip
            elif yoyo.reads_as_migration(path):  # yoyo would apply it; goose too, if .sql
                problems.append(Problem(path, "snake-case-name",
                    "not a migration file name (NNNNN_snake_case_name.sql), yet yoyo would"
                    f" apply it as migration {path.stem!r}: rename it, or move it into a"
                    " subfolder as the schema dump is (schema/schema.sql)",
                    refuses=False))  # fmt: skip
            continue  # contract.toml and the like live beside the chain (the dump in schema/)
        number = int(match["number"])
        if number < 1 or number > MAX_VERSION:
            problems.append(Problem(path, "version-numbering",
                f"version number {match['number']} is out of range 1..{MAX_VERSION}"))  # fmt: skip
            continue
        name = match["name"]
        if not SNAKE_CASE.fullmatch(name):
            problems.append(
                Problem(path, "snake-case-name", f"name {one_line(repr(name))} is not snake_case")
            )
        if len(match["number"]) != NUMBER_WIDTH:
            problems.append(Problem(path, "version-numbering",
                f"version number {match['number']!r} is not {NUMBER_WIDTH} digits wide",
                refuses=False))  # fmt: skip
        if match["rollback"]:
            if (number, name) in rollbacks:
                problems.append(Problem(path, "version-numbering",
                    f"rollback of version {number} appears more than once:"
                    f" {rollbacks[(number, name)].name}, {path.name}"))  # fmt: skip
                continue
            rollbacks[(number, name)] = path
        else:
            ups.setdefault(number, []).append((name, path))

    for number, entries in ups.items():
        names = ", ".join(p.name for _, p in entries)
        for _, extra in entries[1:]:
            problems.append(Problem(extra, "version-numbering",
                f"version {number} appears more than once: {names}"))  # fmt: skip
    for (number, name), path in sorted(rollbacks.items()):
        if name not in {up_name for up_name, _ in ups.get(number, [])}:
            up_name = path.name.replace(".rollback", "")
            problems.append(
                Problem(path, "missing-rollback", f"rollback file without its up file {up_name}")
            )

    versions = []
    expected = 1
    for number in sorted(ups):
        name, up = ups[number][0]
        if number != expected:
            missing = f"version {expected:0{NUMBER_WIDTH}d} is"
            if number > expected + 1:
                last = f"{number - 1:0{NUMBER_WIDTH}d}"
                missing = f"versions {expected:0{NUMBER_WIDTH}d}..{last} are"
            problems.append(Problem(up, "version-numbering",
                f"{missing} missing before it; versions run 1, 2, 3... without gaps"))  # fmt: skip
        expected = number + 1
        rollback = rollbacks.get((number, name))
        if rollback is None:
            problems.append(Problem(up, "missing-rollback",
                f"has no rollback file {up.stem}.rollback.sql"))  # fmt: skip
        versions.append(VersionPaths(number, name, up, rollback))
    return Layout(tuple(versions), tuple(problems))


def load(directory: Path | str) -> Chain:
    """Read and check the folder; the returned chain is well-formed."""
    directory = Path(directory)
    layout = scan(directory)
    refused = next((problem for problem in layout.problems if problem.refuses), None)
    if refused is not None:
        raise LayoutError(str(refused))
    versions = tuple(
        Version(v.number, v.name, read_file(v.up), read_file(v.rollback)) for v in layout.versions
    )
    return Chain(directory=directory, versions=versions)


def _shown(path: Path) -> str:
    """A path on one line: a file name may hold a newline or a control character, a
    message may not, so those are shown escaped as Python would."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))
