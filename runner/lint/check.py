"""The lint engine: layout scan, parse once, fold version by version, then the rules.

Invariant: ``lint`` reads the folder and returns every finding, sorted, with
waived findings removed; it never raises on what the folder holds and never
touches a database. Each file is parsed once; each version is folded once up,
and its rollback is folded on a copy of just the objects the version touches,
which is what keeps a long chain fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from pglast import ast

from runner import config, features, sqltree
from runner.lint import fold
from runner.lint.findings import Finding
from runner.lint.model import Model, Table, relation_name, walk
from runner.lint.rules import (
    RULES,
    StatementContext,
    conventions,
    layout,
    safety,
    server_version,
)
from runner.lint.source import ParsedFile, parse_file

CONTRACT_FILE = "contract.toml"
INTERNAL_ERROR = "internal-error"  # not a rule: liftdb's own bug, which no waiver hides
NOT_CHECKED = "; the contract and the schema-wide rules were not checked"


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


def lint(
    directory: Path | str, only: set[str] | None = None, min_server_version: int | None = None
) -> Result:
    """Every finding for the chain in ``directory``; ``only``: report just these files.

    ``min_server_version``: the oldest PostgreSQL the chain must run on (default: the
    project's setting, ``runner.config``; a bad setting raises ``UsageError``)."""
    directory = Path(directory)
    if min_server_version is None:
        min_server_version = config.min_server_version(directory)
    judged = Judged(config.lint_safety_after(directory), min_server_version)
    versions, findings = layout.versions_and_findings(directory, display)
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
        findings += _empty_version(up)  # what the runner refuses to record
        findings += _fold_version(model, referrers, version.number, up, rollback, judged)
    unread = [parsed.error for parsed in files if parsed.error is not None]
    if unread or any(f.rule == INTERNAL_ERROR for f in findings):
        # The model lacks what was not read: judging it whole would report that as missing.
        findings += [replace(error, message=error.message + NOT_CHECKED) for error in unread]
    else:
        findings += conventions.check_model(model)
        contract_path = directory / CONTRACT_FILE
        if contract_path.is_file():
            from runner.lint import contract

            findings += contract.check(model, contract_path, display(contract_path))
    for parsed in files:
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
    """How the chain is judged (``runner.config``): the safety rules judge versions after
    ``after``, the rest hold it to ``min_server_version``; and the locks the safety rules saw."""

    after: int = 0
    min_server_version: int = features.OLDEST
    locks: dict[tuple[str, int, int], tuple] = field(default_factory=dict)


def _empty_version(up: ParsedFile) -> list[Finding]:
    """What migrate refuses as to an up file's statements (``plan.empty_version_problem``):
    none without ``-- empty: true``, some with it."""
    from runner.plan import empty_problem

    if up.error is not None:
        return []
    says_empty = (up.directives.get("empty") or "false").lower() == "true"
    problem = empty_problem(up.path, [s.where.line for s in up.statements], says_empty)
    if problem is None:
        return []
    where, _, message = problem.partition(": ")
    line = int(where.rsplit(":", 1)[1]) if where != str(up.path) else 1
    return [Finding(up.display, line, 1, "empty-version", message)]


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
    referrers.refresh(model, referrers.everything(model) if EVERYTHING in touched else touched)
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
            enums_created, judged.min_server_version,
        )  # fmt: skip
        source = parsed.text[statement.start : statement.end]
        try:
            findings += conventions.check_statement(ctx)
            if number > judged.after:
                findings += safety.check_statement(ctx)
                where = statement.where
                judged.locks[(where.path, where.line, where.col)] = tuple(ctx.locks)
            findings += server_version.check_statement(ctx)
            unmodelled = fold.apply(
                model, statement.node, statement.where, number, source, judged.min_server_version
            )
        except Exception as exc:  # liftdb's own bug: name the statement, go on
            findings.append(internal_error(statement.where, source, exc))
            continue
        for what in unmodelled:
            findings.append(Finding.at(statement.where, "not-modelled", what))
    return findings


def internal_error(where, source: str, exc: Exception) -> Finding:
    """A bug of liftdb's met on a statement: said as such, naming the statement."""
    return Finding.at(
        where, INTERNAL_ERROR,
        f"liftdb lint failed on this statement ({_first_line(source)}):"
        f" {type(exc).__name__}: {exc}; this is a bug in liftdb, please report it{NOT_CHECKED}",
    )  # fmt: skip


def _first_line(source: str) -> str:
    line = source.strip().splitlines()[0] if source.strip() else ""
    return line if len(line) <= 60 else line[:57] + "..."


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

    def everything(self, model: Model) -> set[str]:
        """Every table to refresh: the model's, and those dropped since the last refresh."""
        return set(model.tables) | set(self.targets_of)

    def of(self, names: set[str]) -> set[str]:
        return set().union(*(self.by_target.get(n, ()) for n in names))


EVERYTHING = "*"  # in a set of touched tables: the statement may change any table


def _touched(model: Model, referrers: Referrers, *files: ParsedFile | None) -> set[str]:
    """Tables the files' statements can change, with their partition and inheritance
    families and the tables whose keys point at them; ``EVERYTHING`` in the set when a
    statement reaches further (a schema, a type, a function, a sequence)."""
    names: set[str] = set()
    reaches_referrers = False
    for parsed in files:
        for statement in parsed.statements if parsed is not None else ():
            reaches_referrers |= _statement_tables(statement.node, names)
    if EVERYTHING in names:
        return names
    for name in list(names):
        index = model.indexes.get(name)
        if index is not None:
            names.add(index.table)
    if reaches_referrers:  # a drop or rename of a table or column changes the keys pointing at it
        names |= referrers.of(names)
    if model.has_inheritance:  # the whole family: what reaches a parent reaches its children
        names |= {a for n in names if n in model.tables for a in _ancestors(model, model.tables[n])}
        names |= {t.name for t in model.tables.values() if names & set(_ancestors(model, t))}
    return names


def _ancestors(model: Model, table: Table) -> list[str]:
    found, queue = [], list(table.inherits)
    while queue:
        name = queue.pop()
        if name not in found:
            found.append(name)
            parent = model.tables.get(name)
            queue += list(parent.inherits) if parent is not None else []
    return found


# Statements whose reach is not a list of tables: anything may change.
BROAD = (ast.AlterEnumStmt, ast.DoStmt, ast.DropOwnedStmt)
NAMED_ELSEWHERE = {"OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_VIEW", "OBJECT_MATVIEW",
                   "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT", "OBJECT_TRIGGER",
                   "OBJECT_FOREIGN_TABLE"}  # fmt: skip
RENAMES_INSIDE = {"OBJECT_COLUMN", "OBJECT_TABCONSTRAINT", "OBJECT_TRIGGER"}  # the table stays


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
            elif isinstance(element, ast.PartitionCmd):
                names.add(relation_name(element.name))
            elif isinstance(element, ast.RangeVar):  # INHERIT / NO INHERIT parent
                names.add(relation_name(element))

    if isinstance(node, BROAD) or (
        isinstance(node, ast.CreateSchemaStmt) and node.schemaElts
    ):  # fmt: skip
        names.add(EVERYTHING)
        return True
    relation = getattr(node, "relation", None)
    if isinstance(relation, ast.RangeVar):
        names.add(relation_name(relation))
    into = getattr(node, "into", None) or getattr(node, "intoClause", None)
    if isinstance(into, ast.IntoClause):  # CREATE TABLE AS, SELECT INTO: and what it reads
        names.add(relation_name(into.rel))
        names.update(relation_name(r) for r in walk(node) if isinstance(r, ast.RangeVar))
    if isinstance(node, ast.CreateSeqStmt | ast.AlterSeqStmt):  # OWNED BY: held by the table
        for option in node.options or ():
            if option.defname == "owned_by" and len(option.arg) > 1:
                names.add(".".join(p.sval for p in option.arg[:-1] if p.sval != "public"))
    if isinstance(node, ast.CreateStmt):
        names.update(relation_name(r) for r in node.inhRelations or ())
        constraints_of(node.tableElts)
    elif isinstance(node, ast.AlterTableStmt):
        constraints_of([cmd.def_ for cmd in node.cmds or ()])
    elif isinstance(node, ast.RenameStmt | ast.AlterObjectSchemaStmt):
        kind = node.renameType if isinstance(node, ast.RenameStmt) else node.objectType
        if kind.name not in NAMED_ELSEWHERE:
            names.add(EVERYTHING)  # a schema, a type, a function or a sequence
        elif isinstance(relation, ast.RangeVar) and kind.name not in RENAMES_INSIDE:
            schema = relation.schemaname
            new = node.newname if isinstance(node, ast.RenameStmt) else relation.relname
            target = node.newschema if isinstance(node, ast.AlterObjectSchemaStmt) else schema
            names.add(relation_name(ast.RangeVar(relname=new or "", schemaname=target)))
        return True
    elif isinstance(node, ast.DropStmt):
        if node.removeType.name not in NAMED_ELSEWHERE:
            names.add(EVERYTHING)
        for obj in node.objects or ():
            if isinstance(obj, tuple):
                parts = [s.sval for s in obj if isinstance(s, ast.String)]
                if parts and parts[0] == "public":
                    parts = parts[1:]
                names.update({".".join(parts), ".".join(parts[:-1]), parts[-1] if parts else ""})
        return True
    elif isinstance(node, ast.CommentStmt) and isinstance(node.object, tuple):
        parts = [s.sval for s in node.object if isinstance(s, ast.String)]
        if parts and parts[0] == "public":
            parts = parts[1:]
        names.update({".".join(parts), ".".join(parts[:-1])})
    return False


def _snapshot(model: Model, tables: set[str]) -> Model:
    """A copy of the part of the model that the names in ``tables`` can change (of all of
    it when ``tables`` holds ``EVERYTHING``)."""
    if EVERYTHING in tables:
        tables = set(model.tables)
    return Model(
        tables={n: _clone(model.tables[n]) for n in tables if n in model.tables},
        indexes={
            i.name: _copy(i) for n in tables if n in model.tables for i in model.table_indexes(n)
        },
        functions=dict(model.functions),
        function_comments=dict(model.function_comments),
        triggers={k: v for k, v in model.triggers.items() if k[0] in tables},
        types=dict(model.types),
        schemas=dict(model.schemas),
        sequences={  # those of the tables it copies, and those no column owns
            **dict.fromkeys(model.unowned_sequences),
            **{
                s: (n, c)
                for n in tables
                if n in model.tables
                for s, c in model.tables[n].sequences.items()
            },
        },  # fmt: skip
        unowned_sequences=set(model.unowned_sequences),
    )


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
    clone.sequences = dict(table.sequences)
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
