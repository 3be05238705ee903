"""The schema a chain produces, as plain values: tables, columns, constraints, indexes.

Invariant: two models compare equal exactly when they describe the same schema
objects with the same definitions; where an object was written (``origin``) and
which version created a table never take part in the comparison. Types and
expressions are held in one normal form (PostgreSQL's ``format_type`` spelling,
pglast's one-line deparse), so how the SQL was written does not matter.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from pglast.enums import SortByDir

from runner.lint.findings import Location

NOWHERE = Location("", 0, 0)

# pg_catalog's internal type names, spelled the way format_type() prints them.
TYPE_NAMES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "bpchar": "character",
    "varbit": "bit varying",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
    "decimal": "numeric",
    "int": "integer",
    "integer": "integer",
    "smallint": "smallint",
    "bigint": "bigint",
    "boolean": "boolean",
}
SERIAL_TYPES = {"serial": "integer", "serial4": "integer", "bigserial": "bigint",
                "serial8": "bigint", "smallserial": "smallint", "serial2": "smallint"}  # fmt: skip

ON_DELETE = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}


class Expr:
    """A SQL expression, deparsed only when its text is asked for (deparsing is slow).

    Equal to another ``Expr`` with the same text (or the same node), and to its text.
    """

    __slots__ = ("node", "_text")

    def __init__(self, node) -> None:
        self.node = node
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = deparse(self.node)
        return self._text

    def __str__(self) -> str:
        return self.text

    def __format__(self, spec: str) -> str:
        return format(self.text, spec)

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"

    def __eq__(self, other) -> bool:
        if isinstance(other, Expr):
            return self.node is other.node or self.text == other.text
        if isinstance(other, str):
            return self.text == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)


@dataclass
class Column:
    name: str
    type: str  # format_type() spelling: "character varying(100)", "numeric(8,2)"
    not_null: bool = False
    default: Expr | str | None = None  # compares as its one-line deparse
    comment: str | None = None
    generated: str | None = None  # "stored" | "virtual": ``default`` is the expression
    identity: str | None = None  # "always" | "by default"
    serial: bool = field(default=False, compare=False)  # written as serial/bigserial
    origin: Location = field(default=NOWHERE, compare=False)
    local: bool = field(default=True, compare=False)  # declared here, not only inherited


@dataclass
class Constraint:
    name: str
    kind: str  # "primary key", "unique", "foreign key", "check", "exclusion"
    columns: tuple[str, ...] = ()
    nulls_not_distinct: bool = False
    references: str | None = None
    ref_columns: tuple[str, ...] = ()
    on_delete: str = "no action"
    expression: Expr | None = None  # CHECK
    # Whether existing rows were checked: not the schema's shape, and VALIDATE has no undo,
    # so a rollback need not restore it (the contract and the catalog test read it).
    validated: bool = field(default=True, compare=False)
    comment: str | None = None
    origin: Location = field(default=NOWHERE, compare=False)
    added_in: int = field(default=0, compare=False)  # version, for NOT VALID then VALIDATE
    local: bool = field(default=True, compare=False)  # declared here, not only inherited
    inherit: bool = field(default=True, compare=False)  # a CHECK not marked NO INHERIT


@dataclass
class Index:
    name: str
    table: str
    elements: tuple[tuple[str | Expr, str], ...]  # (column or expression, "ASC" | "DESC")
    unique: bool = False
    nulls_not_distinct: bool = False
    where: Expr | None = None
    method: str = "btree"
    include: tuple[str, ...] = ()  # INCLUDE columns: stored, not searched
    # Per element, what else it says: 'COLLATE "C"', an operator class, 'NULLS LAST'.
    options: tuple[str, ...] = ()
    comment: str | None = None
    origin: Location = field(default=NOWHERE, compare=False)
    parent: str | None = field(default=None, compare=False)  # a partition's: the parent's index


@dataclass
class Table:
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    comment: str | None = None
    inherits: tuple[str, ...] = ()  # parents: INHERITS, or the table PARTITION OF names
    partition_key: str | None = None  # pg_get_partkeydef's "RANGE (at)" of a partitioned table
    partition_bound: str | None = None  # a partition's "FOR VALUES ...", or "DEFAULT"
    created_in: int = field(default=0, compare=False)
    origin: Location = field(default=NOWHERE, compare=False)
    # Names of the table's indexes, in creation order (kept by Model.add/remove_index).
    index_names: dict[str, None] = field(default_factory=dict, compare=False, repr=False)
    # The sequences its columns own, each with the column (kept by Model.set_sequence...).
    sequences: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Trigger:
    """A trigger's definition as written, and the function it executes."""

    definition: str
    function: str = field(default="", compare=False)


@dataclass(frozen=True)
class TypeDef:
    """A type the chain creates: an enum (``detail``: its labels, in order), a domain (its
    base type, and what it checks: what makes a column of it cost a scan or a rewrite), a
    range (its subtype) or a composite type (its attributes are not held). A value: a
    change to a type is a new ``TypeDef`` (the lint's snapshots share them)."""

    name: str
    kind: str  # "enum" | "domain" | "range" | "composite"
    detail: tuple[str, ...] | str
    not_null: bool = False  # a domain's NOT NULL
    checks: frozenset[str] = frozenset()  # a domain's CHECK constraints, by name
    # Those of ``checks`` added NOT VALID and not validated since: VALIDATE has no undo,
    # so a rollback need not restore it (as for a table's constraint).
    not_valid: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def base(self) -> str:
        """A domain's base type, in format_type spelling."""
        return self.detail if self.kind == "domain" else ""

    @property
    def constrained(self) -> bool:
        """A domain whose values are checked: every row using it is read to add or retype."""
        return self.not_null or bool(self.checks)


@dataclass
class Model:
    tables: dict[str, Table] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # signature -> definition
    function_comments: dict[str, str] = field(default_factory=dict)
    triggers: dict[tuple[str, str], Trigger] = field(default_factory=dict)  # (table, name)
    types: dict[str, TypeDef] = field(default_factory=dict)
    schemas: dict[str, None] = field(default_factory=dict)  # created ones; never "public"
    # Sequences, and the (table, column) owning each (serial, identity, OWNED BY), or None.
    sequences: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    # Whether any table ever had a parent (INHERITS, PARTITION OF): lets the lint skip
    # looking for partition and inheritance families in a chain that has none.
    has_inheritance: bool = field(default=False, compare=False)
    # The sequences no column owns (kept by set_sequence / remove_sequence).
    unowned_sequences: set[str] = field(default_factory=set, compare=False, repr=False)

    def owned_sequences(self, table: str, column: str | None = None) -> list[str]:
        """The sequences a table's columns (or one column) own."""
        found = self.tables.get(table)
        if found is None:
            return []
        return [name for name, owner in found.sequences.items() if column in (None, owner)]

    def set_sequence(self, name: str, owner: tuple[str, str] | None) -> None:
        """Hold a sequence, owned by (table, column) or by nothing."""
        self.remove_sequence(name)
        self.sequences[name] = owner
        if owner is None:
            self.unowned_sequences.add(name)
        elif owner[0] in self.tables:
            self.tables[owner[0]].sequences[name] = owner[1]

    def remove_sequence(self, name: str) -> None:
        owner = self.sequences.pop(name, None)
        self.unowned_sequences.discard(name)
        if owner is not None and owner[0] in self.tables:
            self.tables[owner[0]].sequences.pop(name, None)

    def domain(self, name: str) -> TypeDef | None:
        """The domain ``name`` (spelled as a column's type), if the chain created it."""
        found = self.types.get(name)
        return found if found is not None and found.kind == "domain" else None

    def copy(self) -> Model:
        return copy.deepcopy(self)

    def tables_in_schema(self, schema: str) -> list[str]:
        """Names of the tables in ``schema`` (what DROP SCHEMA ... CASCADE drops)."""
        return [n for n in self.tables if (n.rpartition(".")[0] or "public") == schema]

    def referencing(self, table: str) -> list[str]:
        """Tables whose foreign keys reach ``table``, directly or through others (what
        TRUNCATE ... CASCADE also empties), in the order found."""
        found: list[str] = []
        queue = [table]
        while queue:
            target = queue.pop(0)
            for other in self.tables.values():
                refers = any(c.references == target for c in other.constraints.values())
                if refers and other.name != table and other.name not in found:
                    found.append(other.name)
                    queue.append(other.name)
        return found

    def children(self, table: str) -> list[Table]:
        """The tables that inherit from ``table``: its partitions, or INHERITS children."""
        return [t for t in self.tables.values() if table in t.inherits]

    def table_indexes(self, table: str) -> list[Index]:
        found = self.tables.get(table)
        return [self.indexes[n] for n in found.index_names] if found is not None else []

    def add_index(self, index: Index) -> None:
        self.indexes[index.name] = index
        table = self.tables.get(index.table)
        if table is not None:
            table.index_names[index.name] = None

    def remove_index(self, name: str) -> Index | None:
        index = self.indexes.pop(name, None)
        if index is not None and index.table in self.tables:
            self.tables[index.table].index_names.pop(name, None)
        return index

    def access_paths(
        self, table: str, indexes: list[Index] | None = None
    ) -> list[tuple[str, tuple[tuple[str, str], ...], bool]]:
        """Every b-tree a query on the table can use: (name, elements, unique).

        A primary key or unique constraint is its own index; a partial index only
        serves queries that repeat its WHERE, so it is left out.
        """
        paths = []
        for constraint in self.tables[table].constraints.values():
            if constraint.kind in ("primary key", "unique"):
                elements = tuple((c, "ASC") for c in constraint.columns)
                paths.append((constraint.name, elements, True))
        for index in self.table_indexes(table) if indexes is None else indexes:
            if index.where is None:
                paths.append((index.name, index.elements, index.unique))
        return paths

    def differences(self, other: Model) -> list[str]:
        """What ``other`` lacks or holds differently, one line each, for a person."""
        lines = []
        for name in sorted(set(self.tables) | set(other.tables)):
            mine, theirs = self.tables.get(name), other.tables.get(name)
            if mine is None or theirs is None:
                lines.append(f"table {name} {'added' if mine is None else 'missing'}")
            elif mine != theirs:
                lines += [f"table {name}: {d}" for d in _table_differences(mine, theirs)]
        for label, ours, others in (
            ("index", self.indexes, other.indexes),
            ("function", self.functions, other.functions),
            ("function comment", self.function_comments, other.function_comments),
            ("trigger", self.triggers, other.triggers),
            ("type", self.types, other.types),
            ("schema", self.schemas, other.schemas),
            ("sequence", self.sequences, other.sequences),
        ):
            for key in sorted(set(ours) | set(others), key=str):
                name = ".".join(key) if isinstance(key, tuple) else key
                if key not in others:
                    lines.append(f"{label} {name} missing")
                elif key not in ours:
                    lines.append(f"{label} {name} added")
                elif ours[key] != others[key]:
                    lines.append(f"{label} {name} changed")
        return lines


def _table_differences(mine: Table, theirs: Table) -> list[str]:
    lines = []
    if list(mine.columns) != list(theirs.columns):
        lines.append(f"columns {list(mine.columns)} became {list(theirs.columns)}")
    for name in mine.columns.keys() & theirs.columns.keys():
        if mine.columns[name] != theirs.columns[name]:
            lines.append(f"column {name} changed")
    for name in sorted(set(mine.constraints) | set(theirs.constraints)):
        ours, others = mine.constraints.get(name), theirs.constraints.get(name)
        if ours != others:
            state = "missing" if others is None else "added" if ours is None else "changed"
            lines.append(f"constraint {name} {state}")
    if mine.comment != theirs.comment:
        lines.append("comment changed")
    if mine.inherits != theirs.inherits:
        lines.append(f"parents {list(mine.inherits)} became {list(theirs.inherits)}")
    if (mine.partition_key, mine.partition_bound) != (theirs.partition_key, theirs.partition_bound):
        lines.append("partitioning changed")
    return lines


# --- normal forms ---------------------------------------------------------------------


def deparse(node) -> str:
    from pglast.stream import RawStream  # imported on first use: most runs never deparse

    return RawStream()(node)


def type_name(type_node) -> tuple[str, bool]:
    """(format_type spelling, written as serial) of a pglast ``TypeName``."""
    names = [n.sval for n in type_node.names]
    if len(names) == 2 and names[0] == "pg_catalog":
        names = names[1:]
    base = ".".join(n for n in names if n != "public")
    serial = base in SERIAL_TYPES
    base = SERIAL_TYPES.get(base, TYPE_NAMES.get(base, base))
    mods = []
    for mod in type_node.typmods or ():
        value = getattr(getattr(mod, "val", None), "ival", None)
        mods.append(str(value) if value is not None else deparse(mod))
    if base == "interval" and mods:
        base, mods = _interval(mods)
    if mods:
        if base.startswith("timestamp ") or base.startswith("time "):
            word, _, rest = base.partition(" ")
            base = f"{word}({','.join(mods)}) {rest}"
        else:
            base = f"{base}({','.join(mods)})"
    elif base == "character":
        base = "character(1)"  # char without a length is char(1)
    if type_node.arrayBounds:
        base += "[]" * len(type_node.arrayBounds)
    return base, serial


# The fields of an interval typmod (PostgreSQL's datetime.h bits), as format_type names them.
_YEAR, _MONTH, _DAY, _HOUR, _MINUTE, _SECOND = 1 << 2, 1 << 1, 1 << 3, 1 << 10, 1 << 11, 1 << 12
INTERVAL_FIELDS = {
    _YEAR: "year", _MONTH: "month", _DAY: "day", _HOUR: "hour", _MINUTE: "minute",
    _SECOND: "second", _YEAR | _MONTH: "year to month", _DAY | _HOUR: "day to hour",
    _DAY | _HOUR | _MINUTE: "day to minute", _DAY | _HOUR | _MINUTE | _SECOND: "day to second",
    _HOUR | _MINUTE: "hour to minute", _HOUR | _MINUTE | _SECOND: "hour to second",
    _MINUTE | _SECOND: "minute to second",
}  # fmt: skip


def _interval(mods: list[str]) -> tuple[str, list[str]]:
    """``interval`` with its typmod (fields mask, precision) spelled as format_type does:
    ``interval day to second``, precision as the type's modifier: ``interval(3)``."""
    fields = INTERVAL_FIELDS.get(int(mods[0])) if mods[0].isdigit() else None
    base = f"interval {fields}" if fields else "interval"
    return base, mods[1:]


def walk(node):
    """Every pglast node in the tree under ``node``, itself included."""
    from pglast import ast

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif isinstance(item, ast.Node):
            yield item
            stack.extend(getattr(item, attr) for attr in item.__slots__)


def index_element(elem) -> tuple[str | Expr, str]:
    """(column name, or the expression, "ASC" | "DESC") of a pglast ``IndexElem``."""
    key = elem.name if elem.name is not None else Expr(elem.expr)
    return key, "DESC" if elem.ordering == SortByDir.SORTBY_DESC else "ASC"


def relation_name(range_var) -> str:
    """A table's name in the model: bare in ``public``, qualified elsewhere."""
    schema = range_var.schemaname
    return range_var.relname if schema in (None, "public") else f"{schema}.{range_var.relname}"


def qualified(names) -> str:
    parts = [n.sval for n in names]
    if len(parts) > 1 and parts[0] == "public":
        parts = parts[1:]
    return ".".join(parts)
