"""The table locks a statement takes, read from its syntax tree as PostgreSQL takes them.

Invariant: ``taken`` gives, for each table the statement locks, the mode PostgreSQL
takes (its documentation's "Explicit Locking" and ``AlterTableGetLockLevel`` for
ALTER TABLE), the tables a foreign key points at included, without a server.
``runner.trace`` compares it with ``pg_locks`` for every statement it observes
(tests/test_lint_oracle.py: every case, and the lock corpus of oracle.toml).
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType as At
from pglast.enums import ConstrType, DropBehavior, ObjectType

from runner.lint.model import Model, qualified, relation_name
from runner.observe import STRENGTH, Lock

ACCESS_EXCLUSIVE, EXCLUSIVE = "ACCESS EXCLUSIVE", "EXCLUSIVE"
SHARE_ROW_EXCLUSIVE, SHARE = "SHARE ROW EXCLUSIVE", "SHARE"
SHARE_UPDATE_EXCLUSIVE, ROW_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE", "ROW EXCLUSIVE"
EVERY_INDEX = "its indexes"  # Lock.index for a lock on each of a table's indexes

# ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE (AlterTableGetLockLevel).
ALTER_TABLE_LEVEL = {
    At.AT_SetStatistics: SHARE_UPDATE_EXCLUSIVE,
    At.AT_SetOptions: SHARE_UPDATE_EXCLUSIVE,
    At.AT_ResetOptions: SHARE_UPDATE_EXCLUSIVE,
    At.AT_ClusterOn: SHARE_UPDATE_EXCLUSIVE,
    At.AT_DropCluster: SHARE_UPDATE_EXCLUSIVE,
    At.AT_ValidateConstraint: SHARE_UPDATE_EXCLUSIVE,
    At.AT_AttachPartition: SHARE_UPDATE_EXCLUSIVE,
    At.AT_DetachPartitionFinalize: SHARE_UPDATE_EXCLUSIVE,
    At.AT_EnableTrig: SHARE_ROW_EXCLUSIVE,
    At.AT_EnableAlwaysTrig: SHARE_ROW_EXCLUSIVE,
    At.AT_EnableReplicaTrig: SHARE_ROW_EXCLUSIVE,
    At.AT_DisableTrig: SHARE_ROW_EXCLUSIVE,
    At.AT_EnableTrigAll: SHARE_ROW_EXCLUSIVE,
    At.AT_DisableTrigAll: SHARE_ROW_EXCLUSIVE,
    At.AT_EnableTrigUser: SHARE_ROW_EXCLUSIVE,
    At.AT_DisableTrigUser: SHARE_ROW_EXCLUSIVE,
}
# ALTER TABLE subcommands that change the table named alone, not its partitions or
# inheritance children (ATPrepCmd's recursion).
NOT_RECURSING = {
    At.AT_AttachPartition, At.AT_DetachPartition, At.AT_DetachPartitionFinalize,
    At.AT_AddInherit, At.AT_DropInherit, At.AT_ChangeOwner, At.AT_ClusterOn,
    At.AT_DropCluster, At.AT_SetRelOptions, At.AT_ResetRelOptions, At.AT_ReplaceRelOptions,
    At.AT_ReplicaIdentity, At.AT_EnableRowSecurity, At.AT_DisableRowSecurity,
    At.AT_ForceRowSecurity, At.AT_NoForceRowSecurity, At.AT_SetTableSpace,
    At.AT_SetAccessMethod, At.AT_SetLogged, At.AT_SetUnLogged,
}  # fmt: skip
# Storage parameters SET (...) changes under SHARE UPDATE EXCLUSIVE; any other takes more.
LIGHT_RELOPTIONS = {"fillfactor", "parallel_workers", "toast_tuple_target"}
LIGHT_RELOPTION_PREFIXES = ("autovacuum_", "toast.autovacuum_", "vacuum_", "log_autovacuum_")
LOCK_STATEMENT_MODES = {
    1: "ACCESS SHARE", 2: "ROW SHARE", 3: ROW_EXCLUSIVE, 4: SHARE_UPDATE_EXCLUSIVE, 5: SHARE,
    6: SHARE_ROW_EXCLUSIVE, 7: EXCLUSIVE, 8: ACCESS_EXCLUSIVE,
}  # fmt: skip


def taken(model: Model, node) -> list[Lock]:
    """The locks ``node`` takes on the model's tables (strongest per table and index)."""
    visit = _VISITORS.get(type(node).__name__)
    if visit is None:
        return []
    found: dict[tuple[str, str | None], str] = {}

    def lock(table: str | None, mode: str, index: str | None = None) -> None:
        if table is None or table not in model.tables:
            return
        held = found.get((table, index))
        if held is None or STRENGTH[mode] > STRENGTH[held]:
            found[(table, index)] = mode

    visit(model, node, lock)
    return [Lock(table, mode, index) for (table, index), mode in found.items()]


def _alter_table_statement(model: Model, node, lock) -> None:
    if node.objtype == ObjectType.OBJECT_TABLE and node.relation is not None:
        table = relation_name(node.relation)
        _alter_table(model, table, node.cmds or (), lock)
        recursing = [cmd for cmd in node.cmds or () if cmd.subtype not in NOT_RECURSING]
        for child in _and_descendants(model, node.relation)[1:]:  # ALTER TABLE ONLY: none
            _alter_table(model, child, recursing, lock)


def _create_index(model: Model, node, lock) -> None:
    mode = SHARE_UPDATE_EXCLUSIVE if node.concurrent else SHARE
    for table in _and_descendants(model, node.relation):  # ON ONLY: the parent alone
        lock(table, mode)


def _create_table(model: Model, node, lock) -> None:
    for parent in _references(node.tableElts):
        lock(parent, SHARE_ROW_EXCLUSIVE)
    for relation in node.inhRelations or ():
        parent = relation_name(relation)
        if node.partbound is None:  # INHERITS: the parent's list of children changes
            lock(parent, SHARE_UPDATE_EXCLUSIVE)
            continue
        lock(parent, ACCESS_EXCLUSIVE)  # PARTITION OF: the parent's partitions change
        if not node.partbound.is_default:  # the default partition is checked for its rows
            for child in model.children(parent):
                if child.partition_bound == "DEFAULT":
                    lock(child.name, ACCESS_EXCLUSIVE)


def _rename(model: Model, node, lock) -> None:
    if node.relation is not None and node.renameType in (
        ObjectType.OBJECT_TABLE, ObjectType.OBJECT_COLUMN, ObjectType.OBJECT_TABCONSTRAINT,
        ObjectType.OBJECT_TRIGGER,
    ):  # fmt: skip
        lock(relation_name(node.relation), ACCESS_EXCLUSIVE)


def _vacuum(model: Model, node, lock) -> None:
    options = {o.defname for o in node.options or ()}
    mode = ACCESS_EXCLUSIVE if "full" in options else SHARE_UPDATE_EXCLUSIVE
    for relation in node.rels or ():
        lock(relation_name(relation.relation), mode)


def _each_relation(mode_of):
    def visit(model: Model, node, lock) -> None:
        for relation in node.relations or ():
            for table in _and_descendants(model, relation):
                lock(table, mode_of(node))

    return visit


def _truncate(model: Model, node, lock) -> None:
    _each_relation(lambda node: ACCESS_EXCLUSIVE)(model, node, lock)
    if node.behavior == DropBehavior.DROP_CASCADE:  # and every table whose keys reach them
        for relation in node.relations or ():
            for table in model.referencing(relation_name(relation)):
                lock(table, ACCESS_EXCLUSIVE)


def _on_relation(mode: str):
    def visit(model: Model, node, lock) -> None:
        if node.relation is not None:
            lock(relation_name(node.relation), mode)

    return visit


def _set_schema(model: Model, node, lock) -> None:
    if node.relation is not None and node.objectType == ObjectType.OBJECT_TABLE:
        lock(relation_name(node.relation), ACCESS_EXCLUSIVE)


def _alter_domain(model: Model, node, lock) -> None:
    if node.subtype == "O" or (node.subtype == "C" and not node.def_.skip_validation):
        for table in using_domain(model, qualified(node.typeName)):
            lock(table, SHARE)


def _comment(model: Model, node, lock) -> None:
    if node.objtype == ObjectType.OBJECT_TABLE:
        lock(qualified(node.object), SHARE_UPDATE_EXCLUSIVE)


def _alter_table(model: Model, table: str, cmds, lock) -> None:
    for cmd in cmds:
        sub = cmd.subtype
        if sub == At.AT_AddConstraint and cmd.def_.contype == ConstrType.CONSTR_FOREIGN:
            lock(table, SHARE_ROW_EXCLUSIVE)
            lock(relation_name(cmd.def_.pktable), SHARE_ROW_EXCLUSIVE)
            continue
        if sub in (At.AT_SetRelOptions, At.AT_ResetRelOptions):
            names = [o.defname if not o.defnamespace else f"{o.defnamespace}.{o.defname}"
                     for o in cmd.def_ or ()]  # fmt: skip
            light = all(n in LIGHT_RELOPTIONS or n.startswith(LIGHT_RELOPTION_PREFIXES)
                        for n in names)  # fmt: skip
            lock(table, SHARE_UPDATE_EXCLUSIVE if light else ACCESS_EXCLUSIVE)
            continue
        if sub in (At.AT_AttachPartition, At.AT_DetachPartition):
            partition = relation_name(cmd.def_.name)
            concurrent = getattr(cmd.def_, "concurrent", False)
            if sub == At.AT_AttachPartition or concurrent:
                lock(table, SHARE_UPDATE_EXCLUSIVE)
            else:
                lock(table, ACCESS_EXCLUSIVE)
            lock(partition, SHARE_UPDATE_EXCLUSIVE if concurrent else ACCESS_EXCLUSIVE)
            if sub == At.AT_AttachPartition:  # its rows must leave the default partition
                for child in model.children(table):
                    if child.partition_bound == "DEFAULT" and child.name != partition:
                        lock(child.name, ACCESS_EXCLUSIVE)
            continue
        lock(table, ALTER_TABLE_LEVEL.get(sub, ACCESS_EXCLUSIVE))
        if sub == At.AT_AddColumn:
            for parent in _references(cmd.def_.constraints):
                lock(parent, SHARE_ROW_EXCLUSIVE)
        elif sub == At.AT_DropConstraint:
            found = model.tables[table].constraints.get(cmd.name) if table in model.tables else None
            if found is not None and found.references:
                lock(found.references, ACCESS_EXCLUSIVE)  # its triggers on the referenced table
        elif sub == At.AT_DropColumn and table in model.tables:
            for constraint in model.tables[table].constraints.values():
                if constraint.references and cmd.name in constraint.columns:
                    lock(constraint.references, ACCESS_EXCLUSIVE)


def _drop(model: Model, node, lock) -> None:
    kind = node.removeType
    cascade = node.behavior == DropBehavior.DROP_CASCADE
    for obj in node.objects or ():
        if kind == ObjectType.OBJECT_INDEX:
            index = model.indexes.get(qualified(obj))
            if index is not None:
                mode = SHARE_UPDATE_EXCLUSIVE if node.concurrent else ACCESS_EXCLUSIVE
                for table in _family(model, index.table):  # a partitioned index's too
                    lock(table, mode)
        elif kind == ObjectType.OBJECT_TABLE:
            _drop_table(model, qualified(obj), cascade, lock)
        elif kind == ObjectType.OBJECT_SCHEMA and cascade:
            for name in model.tables_in_schema(obj.sval):
                _drop_table(model, name, cascade, lock)
        elif kind == ObjectType.OBJECT_TRIGGER:
            lock(".".join(s.sval for s in obj[:-1] if s.sval != "public"), ACCESS_EXCLUSIVE)


def _drop_table(model: Model, name: str, cascade: bool, lock) -> None:
    """A table dropped: itself, its partitions, the parent of a partition, the tables its
    foreign keys point at (their triggers go), and with CASCADE those pointing at it."""
    table = model.tables.get(name)
    if table is None:
        return
    # A partitioned table's partitions go with it; INHERITS children with CASCADE only.
    dropped = _family(model, name) if table.partition_key is not None or cascade else [name]
    if table.partition_bound is not None:
        for parent in table.inherits:
            lock(parent, ACCESS_EXCLUSIVE)
    for each in dropped:
        lock(each, ACCESS_EXCLUSIVE)
        for constraint in model.tables[each].constraints.values():
            if constraint.references:  # its foreign keys' triggers on the referenced table
                lock(constraint.references, ACCESS_EXCLUSIVE)
        if cascade:
            for other in model.tables.values():
                if any(c.references == each for c in other.constraints.values()):
                    lock(other.name, ACCESS_EXCLUSIVE)


def _reindex(model: Model, node, lock) -> None:
    if node.relation is None:
        return
    concurrently = any(p.defname == "concurrently" for p in node.params or ())
    name = relation_name(node.relation)
    if node.kind.name.endswith("INDEX"):
        index = model.indexes.get(name)
        table, indexes = (index.table, index.name) if index is not None else (None, None)
    else:
        table, indexes = name, EVERY_INDEX
    if concurrently:
        lock(table, SHARE_UPDATE_EXCLUSIVE)
    else:
        lock(table, SHARE)
        lock(table, ACCESS_EXCLUSIVE, indexes)  # every query plans with the table's indexes


def _references(elements) -> list[str]:
    """The tables the foreign keys among ``elements`` (table and column constraints) point at."""
    found = []
    for element in elements or ():
        constraints = element.constraints if isinstance(element, ast.ColumnDef) else [element]
        for constraint in constraints or ():
            if (
                isinstance(constraint, ast.Constraint)
                and constraint.contype == ConstrType.CONSTR_FOREIGN
            ):
                found.append(relation_name(constraint.pktable))
    return found


def _family(model: Model, table: str) -> list[str]:
    """``table`` and every table inheriting from it (partitions, INHERITS children)."""
    if not model.has_inheritance:
        return [table]
    found, queue = [table], [table]
    while queue:
        for child in model.children(queue.pop(0)):
            if child.name not in found:
                found.append(child.name)
                queue.append(child.name)
    return found


def _and_descendants(model: Model, relation) -> list[str]:
    """The table a ``RangeVar`` names, and its descendants unless it says ``ONLY``."""
    table = relation_name(relation)
    return _family(model, table) if relation.inh else [table]


def using_domain(model: Model, domain: str) -> list[str]:
    """The tables with a column of type ``domain`` (as the model spells types)."""
    return [
        table.name
        for table in model.tables.values()
        if any(column.type.removesuffix("[]") == domain for column in table.columns.values())
    ]


def blocking(locks: list[Lock]) -> dict[str, str]:
    """Table -> what its strongest lock blocks, for the locks that block writes."""
    found: dict[str, str] = {}
    for lock in locks:
        if lock.blocks_writes and found.get(lock.table) != "reads and writes":
            found[lock.table] = lock.blocks
    return found


_VISITORS = {
    "AlterTableStmt": _alter_table_statement,
    "IndexStmt": _create_index,
    "DropStmt": _drop,
    "CreateStmt": _create_table,
    "CreateTrigStmt": _on_relation(SHARE_ROW_EXCLUSIVE),
    "RenameStmt": _rename,
    "ReindexStmt": _reindex,
    "ClusterStmt": _on_relation(ACCESS_EXCLUSIVE),
    "VacuumStmt": _vacuum,
    "TruncateStmt": _truncate,
    "LockStmt": _each_relation(lambda node: LOCK_STATEMENT_MODES.get(node.mode, ACCESS_EXCLUSIVE)),
    "AlterObjectSchemaStmt": _set_schema,
    "AlterDomainStmt": _alter_domain,
    "CommentStmt": _comment,
}
