"""Check: a goose folder against the chain, version by version, as PostgreSQL would run it.

Invariant: ``check`` passes only when every version of the chain has a goose file of the
same number and name, and none more, and each makes PostgreSQL do what liftdb's pair
does (``compare.version_difference``); otherwise it names the first difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner import loader
from runner.errors import Mismatch
from runner.goose import compare
from runner.goose.parser import read_folder


@dataclass(frozen=True)
class CheckResult:
    versions: int
    statements: int


def check(goose_dir: Path | str, sql_dir: Path | str) -> CheckResult:
    """Compare a goose folder with the chain; raise ``Mismatch`` naming the first difference."""
    chain = loader.load(sql_dir)
    goose_files = {f.number: f for f in read_folder(goose_dir)}
    statements = 0
    for number in sorted(set(goose_files) | {v.number for v in chain}):
        version, goose_file = chain.get(number), goose_files.get(number)
        if goose_file is None:
            raise Mismatch(
                f"{version.up.path}: version {version.label} has no goose file in {goose_dir}"
            )
        if version is None:
            raise Mismatch(f"{goose_file.path}: version {number} is not in {chain.directory}")
        if goose_file.name != version.name:
            raise Mismatch(
                f"{goose_file.path}: named {goose_file.name!r}; {chain.directory} calls"
                f" version {number} {version.name!r}"
            )
        difference = compare.version_difference(version, goose_file)
        if difference:
            raise Mismatch(difference)
        statements += len(version.up.statements) + len(version.rollback.statements)
    return CheckResult(versions=len(chain), statements=statements)
