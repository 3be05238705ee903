"""Which project liftdb works on, found the way git finds ``.git``.

Invariant: the migration folder and the embedded server's data folder both come
from here and from nothing else: ``$LIFTDB_SQL_DIR`` when set, else the first
``sql/`` folder at or above the current directory, else ``./sql`` (where
``liftdb new`` starts a chain). The embedded server's data lives in ``.pgdata``
beside that folder (``$LIFTDB_PGDATA`` overrides it), so it belongs to the
project found, never to where liftdb is installed. Reading it costs a few
``stat`` calls and imports nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

SQL_DIR_ENV = "LIFTDB_SQL_DIR"
FOLDER = "sql"


class Found(NamedTuple):
    """The migration folder and why it was chosen (said by ``--verbose`` and ``status``)."""

    sql_dir: Path  # absolute
    source: str  # "$LIFTDB_SQL_DIR", "found above the current directory", ...

    @property
    def root(self) -> Path:
        """The project's folder: the one holding the migration folder."""
        return self.sql_dir.parent


def find(start: Path | None = None) -> Found:
    """``$LIFTDB_SQL_DIR``, else the nearest ``sql/`` at or above ``start`` (default: the
    current directory), else ``start/sql`` (not yet made)."""
    configured = os.environ.get(SQL_DIR_ENV)
    if configured:
        return Found(Path(configured).expanduser().resolve(), f"${SQL_DIR_ENV}")
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / FOLDER
        if candidate.is_dir():
            where = "in" if directory == here else "above"
            return Found(candidate, f"found {where} the current directory")
    return Found(here / FOLDER, "none found: the current directory's")


def relative(path: Path | str) -> Path:
    """``path`` relative to the current directory when it lies under it, else as given:
    the migration folder the CLI works with, so that every path it names (``file:line``,
    status, repair's note in yoyo's log) is short where it can be."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()) or Path(".")
    except (ValueError, OSError):
        return path


def shown(path: Path | str) -> str:
    """``relative(path)`` as text."""
    return str(relative(path))
