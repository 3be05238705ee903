"""The schema contract (``sql/contract.toml``): what the tickets require of the final schema.

Invariant: ``check`` compares the folded model with the contract and reports
each requirement the model misses, located at the table's section of the
contract; the contract names columns, keys, foreign keys, CHECK names and
access paths, never index names, so any index that serves a path satisfies it.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pglast.enums import SortByDir

from runner import sqltree
from runner.lint.findings import Finding, Location
from runner.lint.model import Model, Table

FLIP = {"ASC": "DESC", "DESC": "ASC"}


def load(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    return tomllib.loads(text), text


def check(model: Model, path: Path, shown: str) -> list[Finding]:
    try:
        contract, text = load(path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [Finding(shown, 1, 1, "contract", f"cannot read the contract: {exc}")]
    findings: list[Finding] = []
    for name, spec in contract.get("tables", {}).items():
        where = _section(shown, text, name)
        table = model.tables.get(name)
        if table is None:
            findings.append(Finding.at(where, "contract", f"table {name} does not exist"))
            continue
        try:
            problems = list(_table_problems(model, table, spec))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            problems = [f"the contract's entry is malformed ({type(exc).__name__}: {exc})"]
        findings += [Finding.at(where, "contract", f"{name}: {p}") for p in problems]
    return findings


def _section(shown: str, text: str, table: str) -> Location:
    """The line of ``[tables.<table>]`` (a TOML header, not SQL)."""
    header = f"[tables.{table}]"
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == header:
            return Location(shown, number, 1)
    return Location(shown, 1, 1)


def _table_problems(model: Model, table: Table, spec: dict):
    yield from _columns(table, spec.get("columns", {}))
    constraints = list(table.constraints.values())
    if "primary_key" in spec:
        keys = [c.columns for c in constraints if c.kind == "primary key"]
        if tuple(spec["primary_key"]) not in keys:
            yield f"primary key is not ({', '.join(spec['primary_key'])})"
    for unique in spec.get("unique", []):
        yield from _unique(model, table, unique)
    for fk in spec.get("foreign_keys", []):
        found = [
            c
            for c in constraints
            if c.kind == "foreign key"
            and c.columns == tuple(fk["columns"])
            and c.references == fk["references"]
        ]
        label = f"foreign key ({', '.join(fk['columns'])}) -> {fk['references']}"
        if not found:
            yield f"{label} is missing"
        elif found[0].on_delete != fk.get("on_delete", "no action").lower():
            have, want = found[0].on_delete.upper(), fk["on_delete"].upper()
            yield f"{label} is ON DELETE {have}, not {want}"
    for name in spec.get("checks", []):
        check = table.constraints.get(name)
        if check is None or check.kind != "check":
            yield f"CHECK {name} is missing"
        elif not check.validated:
            yield f"CHECK {name} is NOT VALID"
    paths = model.access_paths(table.name)
    for path in spec.get("access_paths", []):
        if not any(_serves(elements, path) for _, elements, _ in paths):
            yield f"no index serves the access path ({', '.join(path)})"


def _serves(elements, path: list[str]) -> bool:
    """The index starts with the path's columns; written orders hold, or all flip (backward)."""
    wanted = [element(e) for e in path]
    if len(elements) < len(wanted):
        return False
    if [key for key, _ in elements[: len(wanted)]] != [key for key, _ in wanted]:
        return False
    ordered = [(have, want) for (_, have), (_, want) in zip(elements, wanted, strict=False) if want]
    return all(h == w for h, w in ordered) or all(h == FLIP[w] for h, w in ordered)


def _columns(table: Table, columns: dict):
    for name, want in columns.items():
        column = table.columns.get(name)
        if column is None:
            yield f"column {name} is missing"
            continue
        if column.type != want["type"]:
            yield f"column {name} is {column.type}, not {want['type']}"
        if column.not_null == want.get("nullable", False):
            states = ("NOT NULL", "nullable") if column.not_null else ("nullable", "NOT NULL")
            yield f"column {name} is {states[0]}, not {states[1]}"
        default = want.get("default")
        have = str(column.default) if column.default is not None else None
        if (expression(default) if default is not None else None) != have:
            yield f"column {name} default is {column.default or 'none'}, not {default or 'none'}"
    for name in table.columns.keys() - columns.keys():
        yield f"column {name} is not in the contract"


def _unique(model: Model, table: Table, unique: dict):
    wanted = {element(e)[0] for e in unique["columns"]}
    nnd = bool(unique.get("nulls_not_distinct", False))
    keys = [
        ({*c.columns}, c.nulls_not_distinct)
        for c in table.constraints.values()
        if c.kind in ("primary key", "unique")
    ] + [
        ({key for key, _ in i.elements}, i.nulls_not_distinct)
        for i in model.table_indexes(table.name)
        if i.unique and i.where is None
    ]
    label = f"unique ({', '.join(unique['columns'])})"
    if not any(columns == wanted for columns, _ in keys):
        yield f"{label} is missing"
    elif (wanted, nnd) not in keys:
        yield f"{label} should {'' if nnd else 'not '}be NULLS NOT DISTINCT"


@cache
def element(text: str) -> tuple[str, str | None]:
    """``"applied_at DESC"`` -> ``("applied_at", "DESC")``; no order written -> None."""
    from runner.lint.model import index_element

    elem = sqltree.parse(f"CREATE INDEX x ON t ({text})")[0].stmt.indexParams[0]
    key, direction = index_element(elem)
    return key, None if elem.ordering == SortByDir.SORTBY_DEFAULT else direction


@cache
def expression(text: str) -> str:
    """A default written in the contract, in the model's deparsed form."""
    from runner.lint.model import deparse

    return deparse(sqltree.parse(f"SELECT {text}")[0].stmt.targetList[0].val)
