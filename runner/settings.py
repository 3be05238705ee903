"""The project's settings: ``[tool.liftdb]`` of the pyproject.toml nearest above the chain.

Invariant: ``for_chain`` reads only that table of that file, once per folder; a
folder with no pyproject.toml above it, or one without the table, has every
default. A value that is not what a key needs is reported (``Settings.problem``)
and the default used, never raised: the lint turns it into a finding.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Settings:
    # The newest version every production database has applied: the lint's safety rules,
    # which judge what a statement does to tables holding rows, judge later versions only
    # (strong_migrations' start_after). 0: every version is judged.
    lint_safety_after: int = 0
    source: Path | None = None  # the pyproject.toml read, if any
    problem: str | None = None  # a value that could not be used, for a person


def for_chain(directory: Path | str) -> Settings:
    """The settings that apply to the chain in ``directory``."""
    return _read(Path(directory).resolve())


@cache
def _read(directory: Path) -> Settings:
    candidates = (folder / PYPROJECT for folder in (directory, *directory.parents))
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return Settings()
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("liftdb", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Settings(source=path, problem=f"cannot read [tool.liftdb]: {exc}")
    after = table.get("lint_safety_after", 0)
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        return Settings(
            source=path,
            problem=f"[tool.liftdb] lint_safety_after must be a version number, not {after!r}",
        )
    return Settings(lint_safety_after=after, source=path)
