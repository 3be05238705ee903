"""The lint engine: layout scan, parse once, fold version by version, then the rules.

Invariant: ``lint`` reads the folder and returns every finding, sorted, with
waived findings removed; it never raises on what the folder holds and never
touches a database. Each file is parsed once; each version is folded once up,
and its rollback is folded on a copy of just the objects the version touches,
which is what keeps a long chain fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pglast import ast

from runner import settings, sqltree
from runner.lint import fold
from runner.lint.findings import Finding
from runner.lint.model import Model, Table, relation_name
from runner.lint.rules import RULES, StatementContext, conventions, layout, safety
from runner.lint.source import ParsedFile, parse_file

CONTRACT_FILE = "contract.toml"


@dataclass
class Result:
    findings: list[Finding]
    model: Model = field(default_factory=Model)
    waived: list[Finding] = field(default_factory=list)  # removed by a waiver on their statement
    # The locks each statement takes on tables holding data (rules.locks), by place:
    # the lint's claim that runner.trace compares with pg_locks.
    locks: dict[tuple[str, int, int], tuple] = field(default_factory=dict)
    safety_after: int = 0  # [tool.liftdb] lint_safety_after: versions the safety rules skip

    @property
    def clean(self) -> bool:
        return not self.findings


def lint(directory: Path | str, only: set[str] | None = None) -> Result:
    """Every finding for the chain in ``directory``; ``only``: report just these files."""
    directory = Path(directory)
    versions, findings = layout.scan(directory, display)
    project = settings.for_chain(directory)
    if project.problem:
        findings.append(Finding(display(project.source), 1, 1, "unreadable-file", project.problem))
    judged = Judged(project.lint_safety_after)
    files: list[ParsedFile] = []
    model = Model()
    referrers = Referrers()
    with sqltree.parser_built_nodes():  # once for every file: see there
        parsed_versions = [
            (
                version,
                parse_file(version.up, display(version.up)),
                parse_file(version.rollback, display(version.rollback))
                if version.rollback
                else None,
            )
            for version in versions
        ]
    for version, up, rollback in parsed_versions:
        files += [f for f in (up, rollback) if f is not None]
        findings += _fold_version(model, referrers, version.number, up, rollback, judged)
    findings += conventions.check_model(model)
    contract_path = directory / CONTRACT_FILE
    if contract_path.is_file():
        from runner.lint import contract

        findings += contract.check(model, contract_path, display(contract_path))
    for parsed in files:
        if parsed.error is not None:
            findings.append(parsed.error)
        findings += parsed.text_findings
    findings, waived = _apply_waivers(findings, files)
    if only is not None:
        findings = [f for f in findings if f.path in only]
    return Result(
        findings=sorted(set(findings)), model=model, waived=sorted(set(waived)),
        locks=judged.locks, safety_after=judged.after,
    )  # fmt: skip


@dataclass
class Judged:
    """What the safety rules judge: versions after ``after``; and the locks they saw."""

    after: int = 0
    locks: dict[tuple[str, int, int], tuple] = field(default_factory=dict)


def display(path: Path) -> str:
    """A path as findings show it: relative to the working directory when inside it."""
    folder = _shown_folder(str(path.parent), os.getcwd())
    return os.path.join(folder, path.name)


@cache
def _shown_folder(folder: str, cwd: str) -> str:
    resolved = Path(folder).resolve()
    try:
        shown = str(resolved.relative_to(cwd))
    except ValueError:
        return folder
    return "" if shown == "." else shown


def _fold_version(
    model: Model,
    referrers: Referrers,
    number: int,
    up: ParsedFile,
    rollback: ParsedFile | None,
    judged: Judged,
) -> list[Finding]:
    findings: list[Finding] = []
    readable = up.error is None and rollback is not None and rollback.error is None
    touched = _touched(model, referrers, up, rollback)
    before = _snapshot(model, touched) if readable else None
    findings += _fold_file(model, up, number, "up", judged)
    referrers.refresh(model, touched)
    if not readable:
        return findings
    after = _snapshot(model, touched)
    findings += _fold_file(after, rollback, number, "rollback", judged)
    if after != before:
        # "added": left behind by the rollback; "missing": the rollback does not restore it.
        differences = before.differences(after)
        shown = "; ".join(differences[:4]) + (" ..." if len(differences) > 4 else "")
        findings.append(
            Finding(
                rollback.display, 1, 1, "irreversible",
                f"up then rollback does not give back the schema before version {number},"
                f" it has: {shown or 'definitions that differ'}",
            )
        )  # fmt: skip
    return findings


def _fold_file(
    model: Model, parsed: ParsedFile, number: int, direction: str, judged: Judged
) -> list[Finding]:
    findings: list[Finding] = []
    not_valid_here: set[tuple[str, str]] = set()
    new_enum_values: dict[str, str] = {}
    enums_created: set[str] = set()
    for statement in parsed.statements:
        ctx = StatementContext(
            parsed, statement, number, direction, model, not_valid_here, new_enum_values,
            enums_created,
        )  # fmt: skip
        findings += conventions.check_statement(ctx)
        if number > judged.after:
            findings += safety.check_statement(ctx)
            where = statement.where
            judged.locks[(where.path, where.line, where.col)] = tuple(ctx.locks)
        try:
            source = parsed.text[statement.start : statement.end]
            fold.apply(model, statement.node, statement.where, number, source)
        except Exception as exc:  # a statement shape the fold does not know: say so, go on
            findings.append(
                Finding.at(
                    statement.where, "parse-error",
                    f"liftdb lint cannot fold this statement ({type(exc).__name__}: {exc})",
                )
            )  # fmt: skip
    return findings


class Referrers:
    """Which tables' foreign keys point at a table, kept up to date version by version."""

    def __init__(self) -> None:
        self.by_target: dict[str, set[str]] = {}
        self.targets_of: dict[str, set[str]] = {}

    def refresh(self, model: Model, tables: set[str]) -> None:
        for name in tables:
            for target in self.targets_of.pop(name, ()):
                self.by_target.get(target, set()).discard(name)
            table = model.tables.get(name)
            if table is not None:
                targets = {c.references for c in table.constraints.values() if c.references}
                self.targets_of[name] = targets
                for target in targets:
                    self.by_target.setdefault(target, set()).add(name)

    def of(self, names: set[str]) -> set[str]:
        return set().union(*(self.by_target.get(n, ()) for n in names))


def _touched(model: Model, referrers: Referrers, *files: ParsedFile | None) -> set[str]:
    """Tables the files' statements can change, and the tables whose keys point at those."""
    names: set[str] = set()
    reaches_referrers = False
    for parsed in files:
        for statement in parsed.statements if parsed is not None else ():
            reaches_referrers |= _statement_tables(statement.node, names)
    for name in list(names):
        index = model.indexes.get(name)
        if index is not None:
            names.add(index.table)
    if reaches_referrers:  # a drop or rename of a table or column changes the keys pointing at it
        names |= referrers.of(names)
    return names


def _statement_tables(node, names: set[str]) -> bool:
    """Add the relations ``node`` names; True if it may change other tables' foreign keys."""

    def constraints_of(elements) -> None:
        for element in elements or ():
            if isinstance(element, ast.Constraint) and element.pktable is not None:
                names.add(relation_name(element.pktable))
            elif isinstance(element, ast.ColumnDef):
                constraints_of(element.constraints)
            elif isinstance(element, ast.TableLikeClause):
                names.add(relation_name(element.relation))

    relation = getattr(node, "relation", None)
    if isinstance(relation, ast.RangeVar):
        names.add(relation_name(relation))
    if isinstance(node, ast.RenameStmt) and node.newname:
        names.add(node.newname)
    if isinstance(node, ast.CreateStmt):
        constraints_of(node.tableElts)
    elif isinstance(node, ast.AlterTableStmt):
        constraints_of([cmd.def_ for cmd in node.cmds or ()])
    elif isinstance(node, ast.DropStmt | ast.CommentStmt):
        objects = node.objects if isinstance(node, ast.DropStmt) else (node.object,)
        for obj in objects or ():
            if isinstance(obj, tuple):
                parts = [s.sval for s in obj if isinstance(s, ast.String)]
                names.update({".".join(parts), ".".join(parts[:-1]), parts[-1] if parts else ""})
        return isinstance(node, ast.DropStmt)
    return isinstance(node, ast.RenameStmt)


def _snapshot(model: Model, tables: set[str]) -> Model:
    """A copy of the part of the model that the names in ``tables`` can change."""
    return Model(
        tables={n: _clone(model.tables[n]) for n in tables if n in model.tables},
        indexes={
            i.name: _copy(i) for n in tables if n in model.tables for i in model.table_indexes(n)
        },
        functions=dict(model.functions),
        function_comments=dict(model.function_comments),
        triggers={k: v for k, v in model.triggers.items() if k[0] in tables},
        domains={name: _copy_domain(d) for name, d in model.domains.items()},
    )


def _copy_domain(domain):
    clone = _copy(domain)
    clone.checks = dict(domain.checks)
    return clone


def _copy(obj):
    """A shallow copy of a model dataclass, faster than copy.copy (it runs per version)."""
    clone = object.__new__(type(obj))
    clone.__dict__.update(obj.__dict__)
    return clone


def _clone(table: Table) -> Table:
    clone = _copy(table)
    clone.columns = {k: _copy(c) for k, c in table.columns.items()}
    clone.constraints = {k: _copy(c) for k, c in table.constraints.items()}
    clone.index_names = dict(table.index_names)
    return clone


def _apply_waivers(
    findings: list[Finding], files: list[ParsedFile]
) -> tuple[list[Finding], list[Finding]]:
    """(the findings kept, those waived on their statement); a waiver that waives nothing
    is a finding."""
    waivers = {
        (s.where.path, s.where.line, s.where.col, rule): waiver
        for parsed in files
        for s in parsed.statements
        for waiver in s.waivers
        for rule in waiver.rules
    }
    if not waivers:
        return findings, []
    used = set()
    kept, waived = [], []
    for finding in findings:
        key = (finding.path, finding.line, finding.col, finding.rule)
        if key in waivers and RULES.get(finding.rule) != "layout":
            used.add(key)
            waived.append(finding)
        else:
            kept.append(finding)
    for key, waiver in waivers.items():
        if key not in used:
            kept.append(
                Finding.at(
                    waiver.where, "unused-waiver",
                    f"waiver of {key[3]} matches no finding on its statement: remove it",
                )
            )  # fmt: skip
    return kept, waived


def targets(paths) -> list[tuple[Path, set[str] | None]]:
    """(folder, files to report or None for all) per argument, folders merged."""
    merged: dict[Path, set[str] | None] = {}
    for path in map(Path, paths):
        if path.is_file():
            folder = merged.setdefault(path.parent, set())
            if folder is not None:
                folder.add(display(path))
        else:
            merged[path] = None
    return list(merged.items())
