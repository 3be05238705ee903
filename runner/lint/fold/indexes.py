"""CREATE INDEX, and the indexes a partition or a ``LIKE ... INCLUDING INDEXES`` copy gets.

Invariant: an index is keyed by its name in its table's schema (bare in
``public``); one made for a partition from its partitioned table's index is
that index's child (``parent``), named by the server's rule, unless the
partition already had an equal index, which is then attached instead.
"""

from __future__ import annotations

from pglast.enums import SortByNulls

from runner.lint.fold import names
from runner.lint.fold.context import Fold, bare, in_schema, relation_taken, schema_of
from runner.lint.model import Expr, Index, Table, index_element, relation_name


def create_index(f: Fold, node) -> None:
    model = f.model
    table = model.tables.get(relation_name(node.relation))
    if table is None:
        return
    schema = schema_of(table.name)
    params = node.indexParams or ()
    index = Index(
        name="", table=table.name, elements=tuple(index_element(e) for e in params),
        unique=bool(node.unique), nulls_not_distinct=bool(node.nulls_not_distinct),
        where=Expr(node.whereClause) if node.whereClause is not None else None,
        method=node.accessMethod or "btree",
        include=tuple(e.name for e in node.indexIncludingParams or ()),
        options=tuple(element_options(e) for e in params), origin=f.where,
    )  # fmt: skip
    if node.idxname:
        index.name = in_schema(schema, node.idxname)
        if index.name in model.tables or index.name in model.indexes:
            return  # IF NOT EXISTS skips it; without, the server refuses the statement
    else:
        colnames = names.index_column_names(
            [names.element_name(e) for e in (*params, *(node.indexIncludingParams or ()))]
        )
        index.name = choose_name(f, table, colnames)
    model.add_index(index)
    if table.partition_key is not None and node.relation.inh:  # not CREATE INDEX ON ONLY
        for partition in model.children(table.name):
            clone_index(f, index, partition)


def element_options(elem) -> str:
    """What an index element says beyond its key and direction, as SQL."""
    parts = []
    if elem.collation:
        parts.append("COLLATE " + ".".join(f'"{n.sval}"' for n in elem.collation))
    if elem.opclass:
        opclass = ".".join(n.sval for n in elem.opclass)
        if elem.opclassopts:
            from runner.lint.model import deparse

            opclass += f" ({', '.join(deparse(o) for o in elem.opclassopts)})"
        parts.append(opclass)
    if elem.nulls_ordering == SortByNulls.SORTBY_NULLS_FIRST:
        parts.append("NULLS FIRST")
    elif elem.nulls_ordering == SortByNulls.SORTBY_NULLS_LAST:
        parts.append("NULLS LAST")
    return " ".join(parts)


def choose_name(f: Fold, table: Table, colnames: list[str]) -> str:
    schema = schema_of(table.name)
    chosen = names.choose(
        bare(table.name), names.name_addition(colnames), "idx", relation_taken(f.model, schema)
    )
    return in_schema(schema, chosen)


def colnames_of(index: Index) -> list[str]:
    """The names an existing index's columns carry (what a copy of it is named from)."""
    originals = [
        key if isinstance(key, str) else names.figure_colname(key.node)[0] or "expr"
        for key, _ in index.elements
    ]
    return names.index_column_names([*originals, *index.include])


def same_definition(one: Index, other: Index) -> bool:
    return (one.elements, one.unique, one.nulls_not_distinct, one.where, one.method) == (
        other.elements, other.unique, other.nulls_not_distinct, other.where, other.method,
    ) and (one.include, one.options) == (other.include, other.options)  # fmt: skip


def copy_index(f: Fold, index: Index, table: Table, parent: str | None = None) -> Index:
    copy = Index(
        name=choose_name(f, table, colnames_of(index)), table=table.name,
        elements=index.elements, unique=index.unique,
        nulls_not_distinct=index.nulls_not_distinct, where=index.where, method=index.method,
        include=index.include, options=index.options, origin=index.origin, parent=parent,
    )  # fmt: skip
    f.model.add_index(copy)
    return copy


def clone_index(f: Fold, index: Index, partition: Table) -> None:
    """A partitioned table's index on one partition: an equal one it has, or a new one;
    then on that partition's own partitions."""
    for mine in f.model.table_indexes(partition.name):
        if mine.parent is None and same_definition(mine, index):
            mine.parent = index.name
            child = mine
            break
    else:
        child = copy_index(f, index, partition, parent=index.name)
    for grandchild in f.model.children(partition.name):
        clone_index(f, child, grandchild)
