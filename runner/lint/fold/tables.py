"""CREATE TABLE and ALTER TABLE: columns, constraints, partitions and inheritance.

Invariant: a table's columns are in the catalog's order (inherited ones first);
what PostgreSQL propagates to partitions and INHERITS children (columns,
defaults, NOT NULL, CHECKs; and to partitions keys, foreign keys and indexes)
is propagated here the same way, and ``ONLY`` stops it where the server does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import AlterTableType as At
from pglast.enums import ConstrType, DropBehavior, ObjectType, TableLikeOption

from runner.lint.fold import names
from runner.lint.fold.context import (
    Fold,
    bare,
    column_refs,
    constraint_taken,
    descendants,
    either,
    expression_reads,
    in_schema,
    relation_taken,
    rename_columns,
    schema_of,
)
from runner.lint.model import (
    ON_DELETE,
    Column,
    Constraint,
    Expr,
    Index,
    Model,
    Table,
    deparse,
    relation_name,
    type_name,
)

KEY_KINDS = ("primary key", "unique")


@dataclass
class Pending:
    """Keys and foreign keys a statement adds, made after its columns and CHECKs, keys
    first (a table's foreign key may point at its own new key), the primary key first."""

    keys: list[tuple[ast.Constraint, str | None]] = field(default_factory=list)
    foreign_keys: list[tuple[ast.Constraint, str | None]] = field(default_factory=list)


# --- CREATE TABLE ---------------------------------------------------------------------


def create_table(f: Fold, node) -> None:
    model = f.model
    if node.relation.relpersistence == "t":
        return  # a temporary table lives for the session, outside the schema
    name = relation_name(node.relation)
    if name in model.tables:
        return  # IF NOT EXISTS skips it; without, the server refuses the statement
    if node.ofTypename is not None:
        f.not_modelled(f"CREATE TABLE {name} OF a composite type: the typed table's columns")
        return
    parents = [model.tables.get(relation_name(r)) for r in node.inhRelations or ()]
    if any(parent is None for parent in parents):
        return  # a parent the chain never created
    table = Table(name=name, created_in=f.version, origin=f.where)
    table.inherits = tuple(parent.name for parent in parents)
    model.has_inheritance |= bool(parents)
    if node.partbound is not None:
        table.partition_bound = partition_bound(node.partbound)
    if node.partspec is not None:
        table.partition_key = partition_key(node.partspec)
    model.tables[name] = table
    for parent in parents:
        partition = node.partbound is not None
        inherit_columns(table, parent, identity=partition and f.partitions_take_identity)
    pending = Pending()
    likes = []
    for element in node.tableElts or ():
        if isinstance(element, ast.ColumnDef):
            add_column(f, table, element, pending)
        elif isinstance(element, ast.Constraint):
            add_constraint(f, table, element, pending, recurse=False)
        elif isinstance(element, ast.TableLikeClause):
            likes.append(element)
            like_columns(f, table, element)
    for parent in parents:
        inherit_checks(table, parent)
        if node.partbound is not None:
            clone_to_partition(f, parent, table)
    flush(f, table, pending, recurse=False)
    for like in likes:
        like_constraints_and_indexes(f, table, like)


def partition_key(spec) -> str:
    """``pg_get_partkeydef``'s spelling: ``RANGE (happened_at)``."""
    strategy = {"r": "RANGE", "l": "LIST", "h": "HASH"}[str(spec.strategy.value)]
    parts = []
    for element in spec.partParams or ():
        text = element.name if element.name is not None else f"({deparse(element.expr)})"
        if element.collation:
            text += f' COLLATE "{element.collation[-1].sval}"'
        if element.opclass:
            text += " " + ".".join(n.sval for n in element.opclass)
        parts.append(text)
    return f"{strategy} ({', '.join(parts)})"


def partition_bound(spec) -> str:
    """``pg_get_expr(relpartbound)``'s spelling of a partition's bound (its values as
    written: the server prints them in their type's own form)."""
    if spec.is_default:
        return "DEFAULT"
    if spec.strategy == "h":
        return f"FOR VALUES WITH (modulus {spec.modulus}, remainder {spec.remainder})"

    def values(datums) -> str:
        shown = []
        for datum in datums or ():
            word = datum.fields[-1].sval if isinstance(datum, ast.ColumnRef) else None
            shown.append(word.upper() if word in ("minvalue", "maxvalue") else deparse(datum))
        return f"({', '.join(shown)})"

    if spec.strategy == "l":
        return f"FOR VALUES IN {values(spec.listdatums)}"
    return f"FOR VALUES FROM {values(spec.lowerdatums)} TO {values(spec.upperdatums)}"


def inherit_columns(table: Table, parent: Table, *, identity: bool) -> None:
    """The parent's columns, first: type, NOT NULL, default and generation (and identity,
    when ``identity``: a partition, from PostgreSQL 17); a column two parents share is
    merged."""
    for column in parent.columns.values():
        mine = table.columns.get(column.name)
        if mine is not None:
            mine.not_null = mine.not_null or column.not_null
            continue
        table.columns[column.name] = Column(
            name=column.name, type=column.type, not_null=column.not_null,
            default=column.default, generated=column.generated,
            identity=column.identity if identity else None, origin=column.origin, local=False,
        )  # fmt: skip


def inherit_checks(table: Table, parent: Table) -> None:
    for constraint in parent.constraints.values():
        if constraint.kind != "check" or not constraint.inherit:
            continue
        mine = table.constraints.get(constraint.name)
        if mine is not None:
            continue  # the child's own CHECK of that name, merged with the parent's
        table.constraints[constraint.name] = Constraint(
            name=constraint.name, kind="check", columns=constraint.columns,
            expression=constraint.expression, validated=constraint.validated,
            origin=constraint.origin, added_in=constraint.added_in, local=False,
        )  # fmt: skip


def add_column(f: Fold, table: Table, coldef, pending: Pending) -> Column | None:
    """A column definition: a new column, or options (a default, constraints) for one the
    table inherited (``PARTITION OF ... (col WITH OPTIONS ...)``, or the same name again)."""
    column = table.columns.get(coldef.colname)
    if column is None:
        if coldef.typeName is None:
            return None
        type_text, serial = type_name(coldef.typeName)
        column = Column(name=coldef.colname, type=type_text, serial=serial, origin=f.where)
        table.columns[column.name] = column
        if serial:
            column.not_null = True
            column.default = nextval(own_sequence(f, table, column.name))
    else:
        column.local = True
    if coldef.is_not_null:
        column.not_null = True
    for constraint in coldef.constraints or ():
        kind = constraint.contype
        if kind == ConstrType.CONSTR_NOTNULL:
            column.not_null = True
        elif kind == ConstrType.CONSTR_NULL:
            column.not_null = False
        elif kind == ConstrType.CONSTR_DEFAULT:
            column.default = Expr(constraint.raw_expr)
        elif kind == ConstrType.CONSTR_IDENTITY:
            column.identity = "always" if constraint.generated_when == "a" else "by default"
            column.not_null = True
            own_sequence(f, table, column.name)
        elif kind == ConstrType.CONSTR_GENERATED:
            column.generated = "virtual" if constraint.generated_kind == "v" else "stored"
            column.default = Expr(constraint.raw_expr)
        else:
            add_constraint(f, table, constraint, pending, recurse=False, column=column.name)
    return column


def own_sequence(f: Fold, table: Table, column: str) -> str:
    """The sequence a serial or identity column gets, ``<table>_<column>_seq``, owned."""
    schema = schema_of(table.name)
    name = names.choose(bare(table.name), column, "seq", relation_taken(f.model, schema))
    f.model.set_sequence(in_schema(schema, name), (table.name, column))
    return in_schema(schema, name)


def nextval(sequence: str) -> Expr:
    """A serial column's default, as the server writes it."""
    from runner import sqltree

    text = f"nextval('{sequence}'::regclass)"
    return Expr(sqltree.parse(f"SELECT {text}")[0].stmt.targetList[0].val)


# --- constraints ----------------------------------------------------------------------


def add_constraint(
    f: Fold, table: Table, node, pending: Pending, *, recurse: bool, column: str | None = None
) -> None:
    """A constraint written on a column (``column``) or the table. CHECKs are made at
    once (and given to the table's children unless ``recurse`` is False or it is NO
    INHERIT); keys and foreign keys wait in ``pending`` for ``flush``."""
    kind = node.contype
    if kind == ConstrType.CONSTR_CHECK:
        add_check(f, table, node, column, recurse=recurse)
    elif kind in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_EXCLUSION):
        pending.keys.append((node, column))
    elif kind == ConstrType.CONSTR_FOREIGN:
        pending.foreign_keys.append((node, column))
    elif kind == ConstrType.CONSTR_NOTNULL:
        for col in _names(node.keys) or ((column,) if column else ()):  # 18: NOT NULL col
            set_not_null(f.model, table, col, True, recurse=recurse)


def add_check(f: Fold, table: Table, node, column: str | None, *, recurse: bool) -> None:
    columns = tuple(column_refs(node.raw_expr))
    name = node.conname
    if name is None:
        only = columns[0] if len(columns) == 1 else None
        taken = constraint_taken(f.model, schema_of(table.name))
        name = names.choose(bare(table.name), only, "check", taken)
    made = Constraint(
        name=name, kind="check", columns=columns, expression=Expr(node.raw_expr),
        validated=not node.skip_validation, origin=f.where, added_in=f.version,
        inherit=not node.is_no_inherit,
    )  # fmt: skip
    existing = table.constraints.get(name)
    if existing is not None and not existing.local:
        existing.local = True  # the inherited one, declared again: merged
    else:
        table.constraints[name] = made
    if recurse and made.inherit:
        for child in descendants(f.model, table):
            if name not in child.constraints:
                child.constraints[name] = Constraint(
                    name=name, kind="check", columns=columns, expression=made.expression,
                    validated=made.validated, origin=f.where, added_in=f.version, local=False,
                )  # fmt: skip


def flush(f: Fold, table: Table, pending: Pending, *, recurse: bool = True) -> None:
    """Make the pending keys (the primary key first, duplicates once) and foreign keys."""
    keys = sorted(pending.keys, key=lambda item: item[0].contype != ConstrType.CONSTR_PRIMARY)
    made: list[tuple] = []
    for node, column in keys:
        signature = (_names(node.keys) or (column,), _names(node.including), node.indexname)
        if node.indexname is None and any(signature[:2] == other[:2] for other in made):
            continue  # UNIQUE written twice, or PRIMARY KEY UNIQUE: one index
        made.append(signature)
        add_key(f, table, node, column)
    for node, column in pending.foreign_keys:
        add_foreign_key(f, table, node, column)
    pending.keys.clear()
    pending.foreign_keys.clear()


def add_key(f: Fold, table: Table, node, column: str | None) -> Constraint | None:
    model = f.model
    if node.contype == ConstrType.CONSTR_EXCLUSION:
        return add_exclusion(f, table, node)
    kind = "primary key" if node.contype == ConstrType.CONSTR_PRIMARY else "unique"
    if node.indexname:  # ... USING INDEX: the index becomes the constraint's, renamed
        index = model.indexes.get(in_schema(schema_of(table.name), node.indexname))
        if index is None or index.table != table.name:
            return None
        model.remove_index(index.name)
        constraint = Constraint(
            name=node.conname or node.indexname, kind=kind,
            columns=tuple(str(key) for key, _ in index.elements),
            nulls_not_distinct=index.nulls_not_distinct, origin=f.where, added_in=f.version,
        )  # fmt: skip
    else:
        columns = _names(node.keys) or ((column,) if column else ())
        constraint = Constraint(
            name=node.conname or "", kind=kind, columns=columns,
            nulls_not_distinct=bool(node.nulls_not_distinct), origin=f.where,
            added_in=f.version,
        )  # fmt: skip
        if not constraint.name:
            constraint.name = key_name(model, table, kind, [*columns, *_names(node.including)])
    if kind == "primary key":
        for col in constraint.columns:
            if col in table.columns:
                table.columns[col].not_null = True
    table.constraints[constraint.name] = constraint
    if table.partition_key is not None:
        for partition in model.children(table.name):
            partition_key_constraint(f, constraint, partition)
    return constraint


def add_exclusion(f: Fold, table: Table, node) -> Constraint:
    elements = [element for element, _ in node.exclusions or ()]
    name = node.conname
    if name is None:
        colnames = names.index_column_names([names.element_name(e) for e in elements])
        schema = schema_of(table.name)
        taken = either(relation_taken(f.model, schema), constraint_taken(f.model, schema))
        name = names.choose(bare(table.name), names.name_addition(colnames), "excl", taken)
    made = Constraint(
        name=name, kind="exclusion", columns=tuple(e.name for e in elements if e.name),
        origin=f.where, added_in=f.version,
    )  # fmt: skip
    table.constraints[name] = made
    return made


def key_name(model: Model, table: Table, kind: str, columns) -> str:
    """``ChooseIndexName`` for a key: ``<table>_pkey``, ``<table>_<columns>_key``."""
    schema = schema_of(table.name)
    taken = either(relation_taken(model, schema), constraint_taken(model, schema))
    if kind == "primary key":
        return names.choose(bare(table.name), None, "pkey", taken)
    return names.choose(bare(table.name), names.name_addition(columns), "key", taken)


def partition_key_constraint(f: Fold, constraint: Constraint, partition: Table) -> None:
    """A partitioned table's key on one partition: a key of its own, named for it."""
    for mine in partition.constraints.values():
        if mine.kind == constraint.kind and mine.columns == constraint.columns:
            return  # attached: the partition's matching key serves it
    made = Constraint(
        name=key_name(f.model, partition, constraint.kind, constraint.columns),
        kind=constraint.kind, columns=constraint.columns,
        nulls_not_distinct=constraint.nulls_not_distinct, origin=constraint.origin,
        added_in=constraint.added_in, local=False,
    )  # fmt: skip
    if made.kind == "primary key":
        for col in made.columns:
            if col in partition.columns:
                partition.columns[col].not_null = True
    partition.constraints[made.name] = made
    for child in f.model.children(partition.name):
        partition_key_constraint(f, made, child)


def add_foreign_key(f: Fold, table: Table, node, column: str | None) -> None:
    model = f.model
    columns = _names(node.fk_attrs) or ((column,) if column else ())
    target = relation_name(node.pktable)
    ref_columns = _names(node.pk_attrs) or primary_key(model, target)
    name = node.conname
    if name is None:
        taken = constraint_taken(model, schema_of(table.name))
        name = names.choose(bare(table.name), names.name_addition(columns), "fkey", taken)
    made = Constraint(
        name=name, kind="foreign key", columns=columns, references=target,
        ref_columns=ref_columns, on_delete=ON_DELETE.get(node.fk_del_action, "no action"),
        validated=not node.skip_validation, origin=f.where, added_in=f.version,
    )  # fmt: skip
    table.constraints[name] = made
    if table.partition_key is not None:
        for partition in descendants(model, table):
            clone_foreign_key(made, partition)


def clone_foreign_key(constraint: Constraint, partition: Table) -> None:
    for mine in partition.constraints.values():
        if (mine.kind, mine.columns, mine.references, mine.ref_columns) == (
            "foreign key", constraint.columns, constraint.references, constraint.ref_columns
        ):  # fmt: skip
            return
    clone = _copy(constraint)
    clone.local = False
    partition.constraints[clone.name] = clone


def primary_key(model: Model, table: str) -> tuple[str, ...]:
    target = model.tables.get(table)
    if target is not None:
        for constraint in target.constraints.values():
            if constraint.kind == "primary key":
                return constraint.columns
    return ()


# --- partitions -----------------------------------------------------------------------


def clone_to_partition(f: Fold, parent: Table, partition: Table) -> None:
    """What a partition takes from its partitioned table when created or attached: the
    keys, the foreign keys and the indexes, each matched to one it has or made anew."""
    from runner.lint.fold import indexes

    for constraint in list(parent.constraints.values()):
        if constraint.kind in KEY_KINDS:
            partition_key_constraint(f, constraint, partition)
        elif constraint.kind == "foreign key":
            clone_foreign_key(constraint, partition)
    for index in f.model.table_indexes(parent.name):
        indexes.clone_index(f, index, partition)


def attach_partition(f: Fold, parent: Table, cmd) -> None:
    partition = f.model.tables.get(relation_name(cmd.def_.name))
    if partition is None:
        return
    partition.inherits = (parent.name,)
    partition.partition_bound = partition_bound(cmd.def_.bound)
    f.model.has_inheritance = True
    for column in partition.columns.values():
        column.local = column.name not in parent.columns
    for name, constraint in partition.constraints.items():
        if constraint.kind == "check" and name in parent.constraints:
            constraint.local = False
    clone_to_partition(f, parent, partition)


def detach(f: Fold, parent: Table, child: Table) -> None:
    """DETACH PARTITION, NO INHERIT: the child keeps what it has, as its own."""
    child.inherits = tuple(p for p in child.inherits if p != parent.name)
    if not child.inherits:
        child.partition_bound = None
    for column in child.columns.values():
        column.local = True
    for constraint in child.constraints.values():
        constraint.local = True
    for index in f.model.table_indexes(child.name):
        index.parent = None


# --- ALTER TABLE ----------------------------------------------------------------------

# PostgreSQL runs an ALTER TABLE's subcommands in passes (tablecmds.c, AT_PASS_*): drops,
# type changes, new columns, column attributes, keys, other constraints, the rest.
PASSES = {
    At.AT_DropColumn: 0, At.AT_DropConstraint: 0, At.AT_DropNotNull: 0,
    At.AT_DropIdentity: 0, At.AT_DropExpression: 0,
    At.AT_AlterColumnType: 1,
    At.AT_AddColumn: 4,
    At.AT_SetNotNull: 5, At.AT_SetIdentity: 5, At.AT_SetExpression: 5,
    At.AT_AddConstraint: 7, At.AT_AddIdentity: 7, At.AT_ColumnDefault: 7,
}  # fmt: skip

# Subcommands that change nothing the model holds.
UNMODELLED_ATTRIBUTES = {
    At.AT_SetStatistics, At.AT_SetOptions, At.AT_ResetOptions, At.AT_SetStorage,
    At.AT_SetCompression, At.AT_ClusterOn, At.AT_DropCluster, At.AT_SetLogged,
    At.AT_SetUnLogged, At.AT_SetAccessMethod, At.AT_SetTableSpace, At.AT_SetRelOptions,
    At.AT_ResetRelOptions, At.AT_ReplaceRelOptions, At.AT_EnableTrig, At.AT_EnableAlwaysTrig,
    At.AT_EnableReplicaTrig, At.AT_DisableTrig, At.AT_EnableTrigAll, At.AT_DisableTrigAll,
    At.AT_EnableTrigUser, At.AT_DisableTrigUser, At.AT_EnableRule, At.AT_EnableAlwaysRule,
    At.AT_EnableReplicaRule, At.AT_DisableRule, At.AT_ChangeOwner, At.AT_ReplicaIdentity,
    At.AT_EnableRowSecurity, At.AT_DisableRowSecurity, At.AT_ForceRowSecurity,
    At.AT_NoForceRowSecurity, At.AT_GenericOptions, At.AT_AlterColumnGenericOptions,
    At.AT_AlterConstraint, At.AT_ValidateConstraint, At.AT_CookedColumnDefault,
}  # fmt: skip


def alter_table(f: Fold, node) -> None:
    if node.objtype == ObjectType.OBJECT_INDEX:
        alter_index(f, node)
        return
    if node.objtype != ObjectType.OBJECT_TABLE:
        return  # ALTER VIEW / SEQUENCE ...: nothing the model holds changes
    table = f.model.tables.get(relation_name(node.relation))
    if table is None:
        return
    recurse = bool(node.relation.inh)  # False for ALTER TABLE ONLY
    pending = Pending()
    commands = sorted(node.cmds or (), key=lambda cmd: PASSES.get(cmd.subtype, 8))
    for cmd in commands:
        _alter(f, table, cmd, pending, recurse)
    flush(f, table, pending)


def alter_index(f: Fold, node) -> None:
    """ALTER INDEX parent ATTACH PARTITION child: the child index is now the parent's (and
    goes when it is dropped); nothing else ALTER INDEX does changes the model."""
    parent = f.model.indexes.get(relation_name(node.relation))
    for cmd in node.cmds or ():
        if cmd.subtype == At.AT_AttachPartition and parent is not None:
            child = f.model.indexes.get(relation_name(cmd.def_.name))
            if child is not None:
                child.parent = parent.name


def _alter(f: Fold, table: Table, cmd, pending: Pending, recurse: bool) -> None:
    model = f.model
    sub = cmd.subtype
    column = table.columns.get(cmd.name) if cmd.name else None
    targets = [table, *descendants(model, table)] if recurse else [table]
    if sub == At.AT_AddColumn:
        if cmd.def_.colname in table.columns:
            return  # IF NOT EXISTS skips it; without, the server refuses
        new = add_column(f, table, cmd.def_, pending)
        if new is None:
            return
        for child in descendants(model, table):  # parents before their children
            if new.name not in child.columns:  # else the child's own column: merged
                child.columns[new.name] = Column(
                    name=new.name, type=new.type, not_null=new.not_null, default=new.default,
                    generated=new.generated, origin=f.where, local=False,
                    identity=new.identity
                    if table.partition_key is not None and f.partitions_take_identity
                    else None,
                )  # fmt: skip
            for parent in child.inherits:
                if parent in model.tables:
                    inherit_checks(child, model.tables[parent])
    elif sub == At.AT_DropColumn:
        if column is not None:
            drop_column(
                model, table, column.name, cascade=cmd.behavior == DropBehavior.DROP_CASCADE
            )
    elif sub == At.AT_ColumnDefault:
        for target in targets:
            mine = target.columns.get(cmd.name)
            if mine is not None:
                mine.default = Expr(cmd.def_) if cmd.def_ is not None else None
    elif sub in (At.AT_SetNotNull, At.AT_DropNotNull):
        set_not_null(model, table, cmd.name, sub == At.AT_SetNotNull, recurse=recurse)
    elif sub == At.AT_AlterColumnType:
        type_text, _ = type_name(cmd.def_.typeName)
        for target in [table, *descendants(model, table)]:
            if cmd.name in target.columns:
                target.columns[cmd.name].type = type_text
    elif sub == At.AT_AddConstraint:
        add_constraint(f, table, cmd.def_, pending, recurse=recurse)
    elif sub == At.AT_DropConstraint:
        cascade = cmd.behavior == DropBehavior.DROP_CASCADE
        drop_constraint(model, table, cmd.name, cascade=cascade, recurse=recurse)
    elif sub == At.AT_ValidateConstraint:
        for target in [table, *descendants(model, table)]:
            if cmd.name in target.constraints:
                target.constraints[cmd.name].validated = True
    elif sub in (At.AT_AddIdentity, At.AT_SetIdentity, At.AT_DropIdentity):
        identity(f, table, cmd)
    elif sub == At.AT_DropExpression:
        for target in [table, *descendants(model, table)]:
            mine = target.columns.get(cmd.name)
            if mine is not None and mine.generated:
                mine.generated, mine.default = None, None
    elif sub == At.AT_SetExpression:
        for target in [table, *descendants(model, table)]:
            mine = target.columns.get(cmd.name)
            if mine is not None and mine.generated:
                mine.default = Expr(cmd.def_)
    elif sub == At.AT_AttachPartition:
        attach_partition(f, table, cmd)
    elif sub == At.AT_DetachPartition:
        child = model.tables.get(relation_name(cmd.def_.name))
        if child is not None:
            detach(f, table, child)
    elif sub == At.AT_DropInherit:
        parent = model.tables.get(relation_name(cmd.def_))
        if parent is not None:
            detach(f, parent, table)
    elif sub == At.AT_AddInherit:
        parent = model.tables.get(relation_name(cmd.def_))
        if parent is not None:
            table.inherits = (*table.inherits, parent.name)
            model.has_inheritance = True
            for name in parent.columns:
                if name in table.columns:
                    table.columns[name].local = True
            inherit_checks(table, parent)
    elif sub in UNMODELLED_ATTRIBUTES or sub == At.AT_DetachPartitionFinalize:
        return
    else:
        f.not_modelled(
            f"ALTER TABLE {table.name} {sub.name.removeprefix('AT_')}: what it changes is"
            " not modelled"
        )


def identity(f: Fold, table: Table, cmd) -> None:
    reaches = table.partition_key is not None and f.partitions_take_identity
    targets = [table, *(descendants(f.model, table) if reaches else [])]
    for target in targets:
        column = target.columns.get(cmd.name)
        if column is None:
            continue
        if cmd.subtype == At.AT_AddIdentity:
            column.identity = "always" if cmd.def_.generated_when == "a" else "by default"
            column.not_null = True
            if target is table:
                own_sequence(f, table, column.name)
        elif cmd.subtype == At.AT_DropIdentity:
            column.identity = None
            for sequence in f.model.owned_sequences(target.name, column.name):
                f.model.remove_sequence(sequence)
        else:
            for option in cmd.def_ or ():
                if option.defname == "generated":
                    column.identity = "always" if option.arg.ival == 97 else "by default"


def set_not_null(model: Model, table: Table, column: str, value: bool, *, recurse: bool) -> None:
    for target in [table, *descendants(model, table)] if recurse else [table]:
        if column in target.columns:
            target.columns[column].not_null = value


def drop_column(model: Model, table: Table, column: str, *, cascade: bool) -> None:
    """The column, and with it every constraint and index that uses it, the keys
    elsewhere that point at it, the generated columns computed from it, and the copies
    its children only inherited."""
    from runner.lint.fold import drops

    del table.columns[column]
    for sequence in model.owned_sequences(table.name, column):
        model.remove_sequence(sequence)
    for name, constraint in list(table.constraints.items()):
        if column in constraint.columns and name in table.constraints:
            drop_constraint(model, table, name, cascade=True, recurse=False)
    for index in model.table_indexes(table.name):
        if index_uses(index, column):
            drops.drop_index(model, index.name)
    for other in list(table.columns.values()):
        if other.generated and expression_reads(other.default, column):
            drop_column(model, table, other.name, cascade=cascade)
    for child in model.children(table.name):
        mine = child.columns.get(column)
        if mine is not None and not mine.local:
            drop_column(model, child, column, cascade=cascade)


def index_uses(index: Index, column: str) -> bool:
    keys = [key for key, _ in index.elements]
    return (
        column in keys
        or column in index.include
        or any(expression_reads(key, column) for key in keys)
        or expression_reads(index.where, column)
    )


def drop_constraint(model: Model, table: Table, name: str, *, cascade: bool, recurse: bool) -> None:
    """The constraint; a key takes the foreign keys that rely on it, and a partitioned
    table's constraint its partitions' copies; an inherited CHECK goes from the children
    that did not declare it themselves."""
    constraint = table.constraints.pop(name, None)
    if constraint is None:
        return
    if constraint.kind in KEY_KINDS:
        for other in model.tables.values():
            for key, fk in list(other.constraints.items()):
                if (
                    fk.kind == "foreign key"
                    and fk.references == table.name
                    and set(fk.ref_columns) == set(constraint.columns)
                ):
                    del other.constraints[key]
    for child in model.children(table.name):
        if table.partition_key is not None and constraint.kind in KEY_KINDS:
            for key, mine in list(child.constraints.items()):
                if mine.kind == constraint.kind and mine.columns == constraint.columns:
                    drop_constraint(model, child, key, cascade=cascade, recurse=True)
        elif constraint.kind in ("check", "foreign key"):
            mine = child.constraints.get(name)
            if mine is not None and not mine.local:
                drop_constraint(model, child, name, cascade=cascade, recurse=recurse)


# --- LIKE -----------------------------------------------------------------------------


def like_columns(f: Fold, table: Table, clause) -> None:
    source = f.model.tables.get(relation_name(clause.relation))
    if source is None:
        return
    options = _like_options(clause)
    for column in source.columns.values():
        if column.name in table.columns:
            continue
        copied = Column(
            name=column.name, type=column.type, not_null=column.not_null, origin=f.where
        )
        if column.generated is None and TableLikeOption.CREATE_TABLE_LIKE_DEFAULTS in options:
            copied.default = column.default
        if column.generated and TableLikeOption.CREATE_TABLE_LIKE_GENERATED in options:
            copied.default, copied.generated = column.default, column.generated
        if column.identity and TableLikeOption.CREATE_TABLE_LIKE_IDENTITY in options:
            copied.identity = column.identity
            own_sequence(f, table, column.name)
        if TableLikeOption.CREATE_TABLE_LIKE_COMMENTS in options:
            copied.comment = column.comment
        table.columns[column.name] = copied


def like_constraints_and_indexes(f: Fold, table: Table, clause) -> None:
    from runner.lint.fold import indexes

    model = f.model
    source = model.tables.get(relation_name(clause.relation))
    if source is None:
        return
    options = _like_options(clause)
    comments = TableLikeOption.CREATE_TABLE_LIKE_COMMENTS in options
    if TableLikeOption.CREATE_TABLE_LIKE_CONSTRAINTS in options:
        for constraint in source.constraints.values():
            if constraint.kind == "check" and constraint.name not in table.constraints:
                table.constraints[constraint.name] = Constraint(
                    name=constraint.name, kind="check", columns=constraint.columns,
                    expression=constraint.expression, origin=f.where,
                    comment=constraint.comment if comments else None,
                )  # fmt: skip
    if TableLikeOption.CREATE_TABLE_LIKE_INDEXES not in options:
        return
    for constraint in source.constraints.values():
        if constraint.kind in KEY_KINDS:
            copied = Constraint(
                name=key_name(model, table, constraint.kind, constraint.columns),
                kind=constraint.kind, columns=constraint.columns,
                nulls_not_distinct=constraint.nulls_not_distinct, origin=f.where,
            )  # fmt: skip
            table.constraints[copied.name] = copied
    for index in model.table_indexes(source.name):
        copy = indexes.copy_index(f, index, table)
        copy.comment = index.comment if comments else None


def _like_options(clause) -> set[TableLikeOption]:
    bits = clause.options or 0
    if bits & TableLikeOption.CREATE_TABLE_LIKE_ALL == TableLikeOption.CREATE_TABLE_LIKE_ALL:
        return set(TableLikeOption) - {TableLikeOption.CREATE_TABLE_LIKE_ALL}
    return {option for option in TableLikeOption if option and bits & option == option}


# --- helpers --------------------------------------------------------------------------


def _names(nodes) -> tuple[str, ...]:
    return tuple(n.sval for n in nodes or ())


def _copy(obj):
    clone = object.__new__(type(obj))
    clone.__dict__.update(obj.__dict__)
    return clone


def rename_column(model: Model, table: Table, old: str, new: str) -> None:
    """The column renamed in the table, its children, every expression and key naming it,
    and the foreign keys pointing at it."""
    renames = {old: new}
    for target in [table, *descendants(model, table)]:
        if old not in target.columns:
            continue
        for sequence in model.owned_sequences(target.name, old):
            model.set_sequence(sequence, (target.name, new))
        items = [(new if k == old else k, v) for k, v in target.columns.items()]
        target.columns.clear()
        target.columns.update(items)
        target.columns[new].name = new
        for column in target.columns.values():
            if column.generated:
                column.default = rename_columns(column.default, renames)
        for constraint in target.constraints.values():
            constraint.columns = _swap(constraint.columns, old, new)
            constraint.expression = rename_columns(constraint.expression, renames)
        for index in model.table_indexes(target.name):
            index.elements = tuple(
                (new if k == old else rename_columns(k, renames), d) for k, d in index.elements
            )
            index.include = _swap(index.include, old, new)
            index.where = rename_columns(index.where, renames)
        if target.partition_key is not None:
            target.partition_key = _rename_in_key(target.partition_key, old, new)
        for other in model.tables.values():
            for constraint in other.constraints.values():
                if constraint.references == target.name:
                    constraint.ref_columns = _swap(constraint.ref_columns, old, new)


def _swap(names_: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    return tuple(new if n == old else n for n in names_)


def _rename_in_key(key: str, old: str, new: str) -> str:
    strategy, _, rest = key.partition(" (")
    parts = [new if part == old else part for part in rest.removesuffix(")").split(", ")]
    return f"{strategy} ({', '.join(parts)})"
