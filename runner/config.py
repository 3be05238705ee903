"""The project's liftdb settings: ``[tool.liftdb]`` in the pyproject.toml beside the chain.

Invariant: a setting is read from the nearest ``pyproject.toml`` at or above
the migration folder, and has a default when there is none; a value liftdb
cannot use is a ``UsageError`` naming the file and the key, never a guess.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from runner import features
from runner.errors import UsageError

SETTINGS_FILE = "pyproject.toml"
DEFAULT_MIN_SERVER_VERSION = features.OLDEST


def min_server_version(sql_dir: Path | str) -> int:
    """The oldest PostgreSQL major version the chain must run on (default 15)."""
    path, settings = _settings(Path(sql_dir).resolve())
    value = settings.get("min_server_version", DEFAULT_MIN_SERVER_VERSION)
    known = range(features.OLDEST, features.NEWEST + 1)
    if isinstance(value, bool) or not isinstance(value, int) or value not in known:
        raise UsageError(
            f"{path}: [tool.liftdb] min_server_version must be one of"
            f" {', '.join(map(str, known))} (the versions liftdb knows), not {value!r}"
        )
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
