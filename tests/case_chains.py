"""Cases kept as data, turned into chains: ``tests/lint_cases`` and ``tests/model_cases``.

A case is a file ``NAME.sql`` (with ``NAME.rollback.sql`` beside it, or an empty
rollback), which becomes version 2 on top of ``lint_cases/base.sql``; or a folder
``NAME/``: a whole chain when it has a ``00001_*`` file, else what goes on top of
``base.sql`` (later versions, a ``contract.toml``); in a model case's folder, an up
file without its rollback gets an empty one (a lint case may lack one on purpose).
Adding a case is adding files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

TESTS = Path(__file__).resolve().parent
LINT_CASES = TESTS / "lint_cases"
MODEL_CASES = TESTS / "model_cases"
BASE = LINT_CASES / "base.sql"


def build(source: Path, tmp_path: Path, *, fill_rollbacks: bool = False) -> Path:
    """The case at ``source`` (``NAME.sql`` or ``NAME/``) as a chain in tmp_path/chain."""
    chain = tmp_path / "chain"
    if source.is_dir():
        shutil.copytree(source, chain)
        if not any(chain.glob("00001_*")):
            _base(chain)
        for up in chain.glob("[0-9]*.sql") if fill_rollbacks else ():
            rollback = up.with_name(f"{up.stem}.rollback.sql")
            if not up.name.endswith(".rollback.sql") and not rollback.exists():
                rollback.write_text("")
        return chain
    chain.mkdir()
    _base(chain)
    shutil.copy(source, chain / "00002_case.sql")
    rollback = source.with_name(f"{source.stem}.rollback.sql")
    if rollback.exists():
        shutil.copy(rollback, chain / "00002_case.rollback.sql")
    else:
        (chain / "00002_case.rollback.sql").write_text("")
    return chain


def _base(chain: Path) -> None:
    shutil.copy(BASE, chain / "00001_base.sql")
    shutil.copy(BASE.with_name("base.rollback.sql"), chain / "00001_base.rollback.sql")


def model_cases() -> list[Path]:
    """Every case of ``tests/model_cases``: its ``NAME.sql`` file or ``NAME/`` folder."""
    return sorted(
        p
        for p in MODEL_CASES.iterdir()
        if p.is_dir() or (p.suffix == ".sql" and not p.name.endswith(".rollback.sql"))
    )


def lint_cases(kind: str) -> list[tuple[str, str, Path]]:
    """(rule, case name, source) of every ``lint_cases/<rule>/<kind>/`` case."""
    found = []
    for folder in sorted(p for p in LINT_CASES.iterdir() if (p / kind).is_dir()):
        for case in sorted((folder / kind).iterdir()):
            if case.is_dir() or (case.suffix == ".sql" and not case.name.endswith(".rollback.sql")):
                found.append((folder.name, case.name.removesuffix(".sql"), case))
    return found
