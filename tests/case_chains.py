"""Cases kept as data, turned into chains: ``tests/lint_cases`` (and its ``oracle.toml``)
and ``tests/model_cases``.

A case is a file ``NAME.sql`` (with ``NAME.rollback.sql`` beside it, or an empty
rollback), which becomes version 2 on top of ``lint_cases/base.sql``; or a folder
``NAME/``: a whole chain when it has a ``00001_*`` file, else what goes on top of
``base.sql`` (later versions, a ``contract.toml``); in a model case's folder, an up
file without its rollback gets an empty one (a lint case may lack one on purpose).
Adding a case is adding files.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

TESTS = Path(__file__).resolve().parent
LINT_CASES = TESTS / "lint_cases"
MODEL_CASES = TESTS / "model_cases"
BASE = LINT_CASES / "base.sql"
# The server as the judge of the safety rules: its corpus of statements and its matrix of
# column type changes (tests/test_lint_oracle.py) are folded cases too.
ORACLE = tomllib.loads((LINT_CASES / "oracle.toml").read_text())


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


def build_statement(statement: str, tmp_path: Path) -> Path:
    """One statement as version 2 on top of base.sql (an empty rollback), in tmp_path/chain:
    a statement of ``oracle.toml``'s corpus."""
    chain = tmp_path / "chain"
    chain.mkdir()
    _base(chain)
    (chain / "00002_case.sql").write_text(f"-- lock_timeout: 5s\n{statement};\n")
    (chain / "00002_case.rollback.sql").write_text("")
    return chain


def build_type_changes(tmp_path: Path) -> Path:
    """Every change of ``oracle.toml``'s type-change matrix in one chain, in tmp_path/chain:
    version 1 a table with a column of each change's old type, version 2 each column
    changed to its new type (``USING`` as written, ``c`` the column)."""
    changes = ORACLE["matrix"]["type_changes"]
    chain = tmp_path / "chain"
    chain.mkdir()
    columns = "".join(f"    c{i} {change[0]},\n" for i, change in enumerate(changes))
    (chain / "00001_create_retyped.sql").write_text(
        f"CREATE TABLE retyped (\n{columns}    id integer PRIMARY KEY\n);\n"
    )
    (chain / "00001_create_retyped.rollback.sql").write_text("DROP TABLE retyped;\n")
    alters = ",\n".join(
        f"    ALTER COLUMN c{i} TYPE {change[1]}"
        + (f" USING {change[2].replace('c', f'c{i}', 1)}" if len(change) > 2 else "")
        for i, change in enumerate(changes)
    )
    (chain / "00002_retype.sql").write_text(f"ALTER TABLE retyped\n{alters};\n")
    (chain / "00002_retype.rollback.sql").write_text("")
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
