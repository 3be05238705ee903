"""The project's liftdb settings: ``[tool.liftdb]`` in the pyproject.toml beside the chain.

Invariant: this module is the one reader of ``[tool.liftdb]``. A setting is read
from the nearest ``pyproject.toml`` at or above the migration folder (the file
is read once per folder), and has a default when there is none; a value liftdb
cannot use is a ``UsageError`` naming the file and the key, in one line, never
a guess.

- ``min_server_version``: the oldest PostgreSQL major version the chain must run
  on (default 15): the lint reports syntax it lacks and folds its catalog.
- ``lint_safety_after``: the newest version every production database has
  applied (default 0): the lint's safety rules judge later versions only
  (strong_migrations' ``start_after``).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from runner import features
from runner.errors import UsageError

SETTINGS_FILE = "pyproject.toml"
DEFAULT_MIN_SERVER_VERSION = features.OLDEST
DEFAULT_LINT_SAFETY_AFTER = 0


def min_server_version(sql_dir: Path | str) -> int:
    """The oldest PostgreSQL major version the chain must run on (default 15)."""
    known = range(features.OLDEST, features.NEWEST + 1)
    return _integer(
        sql_dir, "min_server_version", DEFAULT_MIN_SERVER_VERSION, known.__contains__,
        f"one of {', '.join(map(str, known))} (the versions liftdb knows)",
    )  # fmt: skip


def lint_safety_after(sql_dir: Path | str) -> int:
    """The version after which the lint's safety rules judge (default 0: every version)."""
    return _integer(
        sql_dir, "lint_safety_after", DEFAULT_LINT_SAFETY_AFTER, lambda value: value >= 0,
        "a version number (0 or more)",
    )  # fmt: skip


def _integer(sql_dir: Path | str, key: str, default: int, fits, expected: str) -> int:
    path, settings = _settings(Path(sql_dir).resolve())
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not fits(value):
        raise UsageError(f"{path}: [tool.liftdb] {key} must be {expected}, not {value!r}")
    return value


@cache
def _settings(folder: Path) -> tuple[Path | None, dict]:
    for directory in (folder, *folder.parents):
        candidate = directory / SETTINGS_FILE
        if candidate.is_file():
            try:
                document = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise UsageError(f"{candidate}: cannot read it: {exc}") from None
            return candidate, document.get("tool", {}).get("liftdb", {})
    return None, {}
