"""Import: a goose folder as liftdb files, an up file and its rollback per goose file.

Invariant: nothing is written unless every goose file maps to a pair that makes
PostgreSQL do what goose would (``compare.version_difference`` finds nothing), and no file
is overwritten. ``-- +goose NO TRANSACTION`` covers Up and Down, so both files get
``-- transactional: false``; an Up that sends nothing, which goose applies and records,
becomes an up file that says ``-- empty: true``, which migrate runs as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner import loader
from runner.directives import read_directives
from runner.errors import LayoutError, Mismatch, UsageError
from runner.goose import compare
from runner.goose.export import write_all
from runner.goose.parser import NO_TRANSACTION, GooseFile, read_folder


@dataclass(frozen=True)
class Imported:
    written: tuple[Path, ...]
    without_down: tuple[int, ...]  # versions whose goose file had no Down section


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
        if not loader.SNAKE_CASE.fullmatch(goose_file.name):
            raise LayoutError(f"{goose_file.path}: name {goose_file.name!r} is not snake_case")
        label = f"{goose_file.number:0{loader.NUMBER_WIDTH}d}_{goose_file.name}"
        up_text = _with_directives(goose_file, goose_file.up_text, empty=not goose_file.up)
        down_text = goose_file.down_text or "-- The goose file had no Down section.\n"
        up = loader.SqlFile(sql_dir / f"{label}.sql", up_text)
        rollback = loader.SqlFile(
            sql_dir / f"{label}.rollback.sql", _with_directives(goose_file, down_text)
        )
        version = loader.Version(goose_file.number, goose_file.name, up, rollback)
        difference = compare.version_difference(version, goose_file)
        if difference:
            raise Mismatch(f"cannot import {goose_file.path.name}: {difference}")
        files[up.path] = up.text
        files[rollback.path] = rollback.text
    for path in files:
        if path.exists():
            raise UsageError(f"{path}: already exists; import into an empty folder")
    write_all(sql_dir, files)
    return Imported(
        written=tuple(files),
        without_down=tuple(f.number for f in goose_files if not f.has_down),
    )


def _with_directives(goose_file: GooseFile, text: str, *, empty: bool = False) -> str:
    """A section as a liftdb file: goose's NO TRANSACTION as ``-- transactional: false``
    and an Up that sends nothing as ``-- empty: true``, in its leading comments."""
    said = read_directives(text)
    said_transactional = said.transactional
    if said_transactional != goose_file.transactional and goose_file.transactional:
        raise LayoutError(
            f"{goose_file.path}: says transactional: false but has no '-- +goose {NO_TRANSACTION}'"
        )
    head = []
    if said_transactional != goose_file.transactional:
        head.append("-- transactional: false")
    if empty and (said.get("empty") or "false").lower() != "true":
        head.append("-- empty: true")
    return "".join(line + "\n" for line in head) + ("\n" if head and text else "") + text
