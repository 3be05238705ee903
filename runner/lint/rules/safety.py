"""Safety: statements that lock or rewrite a table production already holds rows in.

Invariant: a statement is judged against the schema just before it and the
version it belongs to. Only tables created by an EARLIER version hold data; a
table created in the same version is empty when the statement runs, so what
would block writes on a big table costs nothing on it and is not reported
(squawk, which reads one file at a time, cannot tell the two apart).
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType as At
from pglast.enums import ConstrType, DropBehavior, ObjectType, VariableSetKind

from runner.lint.findings import Finding
from runner.lint.fold.context import expression_reads, relation_taken, schema_of
from runner.lint.model import qualified, relation_name, type_name, walk
from runner.lint.rules import StatementContext, column_type, locks, volatility
from runner.observe import BLOCKS, FAILS, NONE, REWRITE, SCAN


def check_statement(ctx: StatementContext) -> Iterator[Finding]:
    node = ctx.statement.node
    yield from _needs_lock_timeout(ctx)
    yield from _new_enum_values(ctx, node)
    if isinstance(node, ast.IndexStmt):
        yield from _create_index(ctx, node)
    elif isinstance(node, ast.DropStmt):
        yield from _drop(ctx, node)
    elif isinstance(node, ast.TruncateStmt) and ctx.direction == "up":
        yield from _truncate(ctx, node)
    elif isinstance(node, ast.DropdbStmt):
        yield _at(ctx, "ban-drop-database", f"DROP DATABASE {node.dbname} in a migration")
    elif isinstance(node, ast.TransactionStmt):
        yield _at(
            ctx, "ban-transaction-control",
            "transaction control in a migration file: liftdb runs each version in its own"
            " transaction (or none, with '-- transactional: false') and records it atomically",
        )  # fmt: skip
    elif isinstance(node, ast.RenameStmt):
        yield from _rename(ctx, node)
    elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
        yield from _alter_table(ctx, node)
    elif isinstance(node, ast.ReindexStmt) and node.relation is not None:
        yield from _reindex(ctx, node)
    elif isinstance(node, ast.ClusterStmt) and node.relation is not None:
        yield from _rewrites_table(ctx, relation_name(node.relation), "CLUSTER")
    elif isinstance(node, ast.VacuumStmt):
        yield from _vacuum(ctx, node)
    elif isinstance(node, ast.AlterDomainStmt):
        yield from _alter_domain(ctx, node)


def _at(
    ctx: StatementContext,
    rule: str,
    message: str,
    effect: str | None = None,
    server_before: int | None = None,
) -> Finding:
    return Finding.at(ctx.statement.where, rule, message, effect, server_before)


def _needs_lock_timeout(ctx: StatementContext) -> Iterator[Finding]:
    """One finding per file whose statement locks a table with data against writes (its
    foreign keys' targets included: ``rules.locks``) and that sets no lock_timeout."""
    if "lock_timeout" in ctx.file.directives or ctx.file.lock_timeout_reported:
        return
    blocked = locks.blocking(ctx.locks)
    if not blocked:
        return
    ctx.file.lock_timeout_reported = True
    table, what = next(iter(blocked.items()))
    queued = "query" if what == "reads and writes" else "write"
    yield _at(
        ctx, "require-lock-timeout",
        f"locks {table}, which holds data, against {what} without '-- lock_timeout: <duration>'"
        " at the top of the file: waiting behind a long transaction, the lock queues every"
        f" {queued} on the table",
        BLOCKS,
    )  # fmt: skip


def _create_index(ctx: StatementContext, node) -> Iterator[Finding]:
    table = relation_name(node.relation)
    exists = relation_taken(ctx.model, schema_of(table))
    if node.if_not_exists and node.idxname and exists(node.idxname):
        return  # the server skips it: nothing is built
    yield from _concurrently_in_transaction(ctx, node, "CREATE")
    known = ctx.model.tables.get(table)
    partitioned = known is not None and known.partition_key is not None
    if partitioned and not node.relation.inh:
        return  # ON ONLY a partitioned table: the parent's index alone, which builds nothing
    if not node.concurrent and ctx.holds_data(table):
        instead = (
            "CONCURRENTLY is not supported on a partitioned table: CREATE INDEX ... ON ONLY"
            f" {table}, CREATE INDEX CONCURRENTLY on each partition, then ALTER INDEX ..."
            " ATTACH PARTITION each"
            if partitioned
            else "use CREATE INDEX CONCURRENTLY in a non-transactional version"
        )
        yield _at(
            ctx, "require-concurrent-index",
            f"CREATE INDEX on {table}, which holds data, blocks writes while it builds: {instead}",
            SCAN,
        )  # fmt: skip


def _reindex(ctx: StatementContext, node) -> Iterator[Finding]:
    """REINDEX builds every index again: a scan that blocks writes, and the indexes' exclusive
    locks block the reads that plan with them."""
    concurrently = any(p.defname == "concurrently" for p in node.params or ())
    if concurrently:
        yield from _concurrently_in_transaction(ctx, node, "REINDEX", concurrently=True)
        return
    name = relation_name(node.relation)
    index = ctx.model.indexes.get(name) if node.kind.name.endswith("INDEX") else None
    table = index.table if index is not None else name
    if ctx.holds_data(table):
        kind = "INDEX" if index is not None else "TABLE"
        yield _at(
            ctx, "require-concurrent-index",
            f"REINDEX {kind} {name} rebuilds its indexes, reading every row, while blocking"
            " writes (and the reads that use them): use REINDEX ... CONCURRENTLY in a"
            " non-transactional version",
            SCAN,
        )  # fmt: skip


# PostgreSQL 17 lets a transaction use a value it added to an enum type it created itself
# (release notes of 17: "Allow the use of enum values added in the same transaction as
# the type was created"); before 17, and for a type that existed before, it refuses.
NEW_TYPE_VALUES_SINCE = 17


def _new_enum_values(ctx: StatementContext, node) -> Iterator[Finding]:
    """A value ALTER TYPE ... ADD VALUE adds cannot be used until the transaction commits:
    the server refuses the statement (55P04), unless the type was created in the same
    transaction and the server is 17 or newer (the finding says so: ``server_before``)."""
    if not ctx.file.transactional:
        return
    if isinstance(node, ast.CreateEnumStmt):
        ctx.enums_created_here.add(qualified(node.typeName))
        return
    if isinstance(node, ast.AlterEnumStmt) and node.newVal and not node.oldVal:
        enum = qualified(node.typeName)
        created_here = enum in ctx.enums_created_here
        if not (created_here and ctx.min_server_version >= NEW_TYPE_VALUES_SINCE):
            ctx.new_enum_values[node.newVal] = enum
        return
    if not ctx.new_enum_values:
        return
    used = next(
        (
            item.val.sval
            for item in walk(node)
            if isinstance(item, ast.A_Const)
            and isinstance(item.val, ast.String)
            and item.val.sval in ctx.new_enum_values
        ),
        None,
    )
    if used is None:
        return
    enum = ctx.new_enum_values[used]
    if enum in ctx.enums_created_here:
        yield _at(
            ctx, "enum-value-in-transaction",
            f"uses '{used}', which ALTER TYPE {enum} ADD VALUE added earlier in this"
            f" transaction: PostgreSQL before {NEW_TYPE_VALUES_SINCE} refuses a new enum value"
            f" until it commits, even for a type created in the same transaction, and the chain"
            f" must run on PostgreSQL {ctx.min_server_version}; list the value in CREATE TYPE",
            FAILS, server_before=NEW_TYPE_VALUES_SINCE,
        )  # fmt: skip
        return
    yield _at(
        ctx, "enum-value-in-transaction",
        f"uses '{used}', which ALTER TYPE {enum} ADD VALUE added earlier"
        " in this transaction: PostgreSQL refuses a new enum value until it commits; add the"
        " value in a version of its own, use it in a later one",
        FAILS,
    )  # fmt: skip


def _rewrites_table(
    ctx: StatementContext,
    table: str,
    what: str,
    instead: str = "not in a migration; in a maintenance window, or online with pg_repack",
) -> Iterator[Finding]:
    if ctx.holds_data(table):
        yield _at(
            ctx, "table-rewrite",
            f"{what} rewrites {table} and its indexes under an ACCESS EXCLUSIVE lock, reads"
            f" and writes waiting the whole time: {instead}",
            REWRITE,
        )  # fmt: skip


def _alter_domain(ctx: StatementContext, node) -> Iterator[Finding]:
    """A constraint added to a domain is checked against every column of that type: a scan
    of each table using it, under a SHARE lock."""
    name = qualified(node.typeName)
    tables = [t for t in locks.using_domain(ctx.model, name) if ctx.holds_data(t)]
    if not tables:
        return
    shown = ", ".join(tables)
    if node.subtype == "C" and not node.def_.skip_validation:
        yield _at(
            ctx, "constraint-missing-not-valid",
            f"adding CHECK {node.def_.conname or ''} to domain {name} checks every row of"
            f" {shown} under a SHARE lock that blocks writes: add it NOT VALID, then VALIDATE"
            " CONSTRAINT in a later version",
            SCAN,
        )  # fmt: skip
    elif node.subtype == "O":
        yield _at(
            ctx, "set-not-null",
            f"SET NOT NULL on domain {name} checks every row of {shown} under a SHARE lock that"
            " blocks writes: add CHECK (VALUE IS NOT NULL) NOT VALID to the domain instead, and"
            " VALIDATE it in a later version",
            SCAN,
        )  # fmt: skip


def _vacuum(ctx: StatementContext, node) -> Iterator[Finding]:
    verb = "VACUUM" if node.is_vacuumcmd else "ANALYZE"
    if ctx.file.transactional and node.is_vacuumcmd:
        yield _at(
            ctx, "concurrent-in-transaction",
            "VACUUM cannot run inside a transaction: put it in a version of its own whose file"
            " starts with '-- transactional: false'",
            FAILS,
        )  # fmt: skip
    if any(option.defname == "full" for option in node.options or ()):
        for relation in node.rels or ():
            yield from _rewrites_table(ctx, relation_name(relation.relation), f"{verb} FULL")


def _concurrently_in_transaction(
    ctx: StatementContext, node, verb: str, concurrently: bool | None = None
) -> Iterator[Finding]:
    concurrent = node.concurrent if concurrently is None else concurrently
    if concurrent and ctx.file.transactional:
        yield _at(
            ctx, "concurrent-in-transaction",
            f"{verb}{'' if verb == 'REINDEX' else ' INDEX'} CONCURRENTLY cannot run inside a"
            " transaction: put it in a version"
            " of its own whose file starts with '-- transactional: false'",
            FAILS,
        )  # fmt: skip


def _drop(ctx: StatementContext, node) -> Iterator[Finding]:
    kind = node.removeType
    cascade = node.behavior == DropBehavior.DROP_CASCADE
    for obj in node.objects or ():
        if kind == ObjectType.OBJECT_INDEX:
            index = ctx.model.indexes.get(qualified(obj))
            yield from _concurrently_in_transaction(ctx, node, "DROP")
            table = ctx.model.tables.get(index.table) if index is not None else None
            if table is not None and table.partition_key is not None:
                continue  # a partitioned table's index has no CONCURRENTLY: only its lock matters
            if index is not None and not node.concurrent and ctx.holds_data(index.table):
                yield _at(
                    ctx, "require-concurrent-index",
                    f"DROP INDEX {index.name} locks {index.table}, which holds data, against"
                    " reads and writes: use DROP INDEX CONCURRENTLY in a non-transactional version",
                    BLOCKS,
                )  # fmt: skip
        elif kind == ObjectType.OBJECT_TABLE and ctx.direction == "up":
            table = qualified(obj)
            yield from _drops_table(ctx, table, f"DROP TABLE {table}")
        elif kind == ObjectType.OBJECT_SCHEMA and ctx.direction == "up" and cascade:
            for table in ctx.model.tables_in_schema(obj.sval):
                yield from _drops_table(ctx, table, f"DROP SCHEMA {obj.sval} CASCADE ({table})")


def _drops_table(ctx: StatementContext, table: str, what: str) -> Iterator[Finding]:
    if ctx.holds_data(table):
        yield _at(
            ctx, "ban-drop-table",
            f"{what} in an up file destroys its rows, and running code that still reads it"
            " fails: stop using it first, drop it in a later release",
        )  # fmt: skip


def _truncate(ctx: StatementContext, node) -> Iterator[Finding]:
    cascade = node.behavior == DropBehavior.DROP_CASCADE
    for relation in node.relations or ():
        table = relation_name(relation)
        if not ctx.holds_data(table):
            continue
        also = ctx.model.referencing(table) if cascade else []
        more = f" (and, CASCADE, every row of {', '.join(also)})" if also else ""
        yield _at(
            ctx, "ban-truncate",
            f"TRUNCATE {table} in an up file destroys every row it holds{more}: delete what"
            " you mean to, in batches, or waive it saying why the rows can go",
        )  # fmt: skip


def _rename(ctx: StatementContext, node) -> Iterator[Finding]:
    if node.relation is None or node.renameType not in (
        ObjectType.OBJECT_TABLE,
        ObjectType.OBJECT_COLUMN,
    ):
        return
    table = relation_name(node.relation)
    if not ctx.holds_data(table):
        return
    what = f"table {table}" if node.subname is None else f"column {table}.{node.subname}"
    yield _at(
        ctx, "renaming",
        f"renaming {what} breaks the running application, which still uses the old name:"
        " add the new one, write both, move readers, then drop the old one",
    )  # fmt: skip


def _alter_table(ctx: StatementContext, node) -> Iterator[Finding]:
    table = relation_name(node.relation)
    if not ctx.holds_data(table):
        for cmd in node.cmds or ():  # NOT VALID then VALIDATE on a new table: nothing to scan
            if cmd.subtype == At.AT_AddConstraint and cmd.def_.skip_validation:
                ctx.not_valid_here.add((table, cmd.def_.conname))
        return
    model_table = ctx.model.tables[table]
    for cmd in node.cmds or ():
        sub = cmd.subtype
        if sub == At.AT_AddColumn:
            yield from _add_column(ctx, table, cmd.def_)
        elif sub == At.AT_DropColumn and ctx.direction == "up":
            yield _at(
                ctx, "ban-drop-column",
                f"DROP COLUMN {table}.{cmd.name} in an up file breaks running code that still"
                " reads it: stop using it first, drop it in a later release",
            )  # fmt: skip
        elif sub == At.AT_AlterColumnType:
            yield from _change_type(ctx, table, cmd)
        elif sub == At.AT_SetAccessMethod and (cmd.name or "heap") != "heap":
            yield from _rewrites_table(ctx, table, f"SET ACCESS METHOD {cmd.name}")
        elif sub == At.AT_SetExpression:
            column = model_table.columns.get(cmd.name)
            if column is not None and column.generated == "stored":  # a virtual one: no rows
                yield from _rewrites_table(
                    ctx, table, f"SET EXPRESSION of the stored column {cmd.name}",
                    "add a new column (or a virtual one, on 18), backfill, switch over",
                )  # fmt: skip
        elif sub == At.AT_SetNotNull and not _proven_not_null(model_table, cmd.name):
            yield _at(
                ctx, "set-not-null",
                f"SET NOT NULL on {table}.{cmd.name} scans the table under an ACCESS EXCLUSIVE"
                f" lock: first add CHECK ({cmd.name} IS NOT NULL) NOT VALID and VALIDATE it"
                " (in a later version), then SET NOT NULL skips the scan",
                SCAN,
            )  # fmt: skip
        elif sub == At.AT_AddConstraint:
            constraint = cmd.def_
            if constraint.contype in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK):
                if constraint.skip_validation:
                    ctx.not_valid_here.add((table, constraint.conname))
                else:
                    kind = (
                        "FOREIGN KEY"
                        if constraint.contype == ConstrType.CONSTR_FOREIGN
                        else "CHECK"
                    )
                    yield _at(
                        ctx, "constraint-missing-not-valid",
                        f"adding {kind} {constraint.conname or ''} to {table} scans every row"
                        " under a lock that blocks writes: add it NOT VALID, then VALIDATE"
                        " CONSTRAINT in a later version",
                        SCAN,
                    )  # fmt: skip
            elif constraint.contype == ConstrType.CONSTR_NOTNULL and constraint.keys:
                yield from _add_not_null(ctx, table, model_table, constraint)
            elif constraint.contype == ConstrType.CONSTR_PRIMARY and constraint.indexname:
                yield from _primary_key_using_index(ctx, table, model_table, constraint)
            elif (
                constraint.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY)
                and not constraint.indexname
            ):
                yield _at(
                        ctx, "disallowed-unique-constraint",
                        f"adding a unique or primary key constraint to {table} builds its index"
                        " under an ACCESS EXCLUSIVE lock: CREATE UNIQUE INDEX CONCURRENTLY,"
                        " then ADD CONSTRAINT ... USING INDEX",
                        SCAN,
                    )  # fmt: skip
        elif (
            sub == At.AT_ValidateConstraint
            and (table, cmd.name) in ctx.not_valid_here
            and ctx.file.transactional
        ):
            yield _at(
                    ctx, "constraint-missing-not-valid",
                    f"VALIDATE CONSTRAINT {cmd.name} in the version that added it NOT VALID:"
                    " the transaction still holds the lock taken by ADD CONSTRAINT, so the"
                    " scan blocks writes; validate in a later version",
                    SCAN,
                )  # fmt: skip


def _change_type(ctx: StatementContext, table: str, cmd) -> Iterator[Finding]:
    """What ALTER COLUMN TYPE costs, decided as the server decides it (``column_type``)."""
    model_table = ctx.model.tables[table]
    column = model_table.columns.get(cmd.name)
    new, _ = type_name(cmd.def_.typeName)
    collation = cmd.def_.collClause
    if collation is not None:
        new += f' COLLATE "{collation.collname[-1].sval}"'
    old = column.type if column is not None else "its type"
    target = type_name(cmd.def_.typeName)[0]
    domain = ctx.model.domain(target)
    if domain is not None and domain.constrained:
        target = ""  # every row is checked against the domain: a rewrite
    elif domain is not None:
        target = domain.base  # an unconstrained domain is its base type, relabelled
    source = ctx.model.domain(old)
    cost = column_type.cost(
        (source.base if source is not None else old) if column is not None else "",
        target,
        plain_using=_is_the_column(cmd.def_.raw_default, cmd.name, cmd.def_.typeName),
        collation=collation is not None,
        indexes=_indexes_on(ctx, table, cmd.name),
        checks=tuple(
            c.name
            for c in model_table.constraints.values()
            if c.kind == "check" and cmd.name in c.columns
        ),
        timezone=_file_timezone(ctx),
    )
    change = f"changing {table}.{cmd.name} from {old} to {new}"
    reads = " and ".join(cost.reads)
    instead = "add a new column, backfill, switch over"
    if cost.timezone and cost.effect not in (NONE, SCAN):
        even = f" (and even then it {reads}, reading every row)" if reads else ""
        message = (
            f"{change} rewrites the table and its indexes under an ACCESS EXCLUSIVE lock unless"
            f" the session's TimeZone is UTC{even}: put SET LOCAL TimeZone = 'UTC' before it in"
            " the file"
        )
    elif cost.effect == REWRITE:
        message = (
            f"{change} rewrites the table and its indexes under an ACCESS EXCLUSIVE lock: {instead}"
        )
    elif cost.effect == SCAN:
        message = (
            f"{change} does not rewrite the table, but {reads}, reading every row under an"
            f" ACCESS EXCLUSIVE lock: {instead}"
        )
    else:
        return
    yield _at(ctx, "changing-column-type", message, cost.effect)


def _is_the_column(using, column: str, type_node) -> bool:
    """No USING, ``USING column``, or ``USING column::new_type``: the server's own cast."""
    if using is None:
        return True
    if isinstance(using, ast.TypeCast) and type_name(using.typeName) == type_name(type_node):
        using = using.arg
    return isinstance(using, ast.ColumnRef) and [getattr(f, "sval", None) for f in using.fields][
        -1:
    ] == [column]


def _indexes_on(ctx: StatementContext, table: str, column: str) -> tuple[str, ...]:
    """The indexes (a key's or a unique constraint's included) that read the column."""
    names = [
        c.name
        for c in ctx.model.tables[table].constraints.values()
        if c.kind in ("primary key", "unique") and column in c.columns
    ]
    for index in ctx.model.table_indexes(table):
        texts = [key for key, _ in index.elements] + ([index.where] if index.where else [])
        if any(text == column or expression_reads(text, column) for text in texts):
            names.append(index.name)
    return tuple(names)


def _file_timezone(ctx: StatementContext) -> str | None:
    """The TimeZone the file sets before the statement: "utc", "other", or None."""
    zone = None
    for statement in ctx.file.statements:
        if statement is ctx.statement:
            break
        node = statement.node
        if isinstance(node, ast.VariableSetStmt) and node.name == "timezone":
            value = node.args[0] if node.kind == VariableSetKind.VAR_SET_VALUE else None
            zone = column_type.timezone_set(value) if value is not None else None
    return zone


def _add_column(ctx: StatementContext, table: str, coldef) -> Iterator[Finding]:
    """ADD COLUMN: a rewrite (volatile default, identity, serial, stored generated), a
    failure (NOT NULL without a default), or a full scan for what it checks or indexes."""
    column = f"{table}.{coldef.colname}"
    default, generated = None, None
    not_null = bool(coldef.is_not_null)
    spelled, serial = type_name(coldef.typeName)
    rewrite = "a serial column (its nextval() default)" if serial else None
    domain = ctx.model.domain(spelled)
    if domain is not None and domain.constrained:
        rewrite = f"the domain {domain.name}, whose constraints check every row,"
    scans: list[tuple[str, str]] = []  # (rule, message)
    for constraint in coldef.constraints or ():
        kind = constraint.contype
        if kind == ConstrType.CONSTR_DEFAULT:
            default = constraint.raw_expr
            volatile = volatility.volatile_call(default, ctx.model.functions)
            if volatile:
                rewrite = f"a volatile default ({volatile}())"
        elif kind in (ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY):
            not_null = True
        elif kind == ConstrType.CONSTR_IDENTITY:
            rewrite, default = "an identity column", True
        elif kind == ConstrType.CONSTR_GENERATED:
            generated = "virtual" if constraint.generated_kind == "v" else "stored"
            if generated == "stored":
                rewrite = "a stored generated column"
            default = True
        if kind == ConstrType.CONSTR_CHECK:
            name = constraint.conname or f"{table}_{coldef.colname}_check"
            scans.append((
                "constraint-missing-not-valid",
                f"adding {column} with CHECK {name} checks every row under an ACCESS EXCLUSIVE"
                " lock: add the column, then ADD CONSTRAINT ... NOT VALID, then VALIDATE"
                " CONSTRAINT in a later version",
            ))  # fmt: skip
        elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
            what = "UNIQUE" if kind == ConstrType.CONSTR_UNIQUE else "PRIMARY KEY"
            scans.append((
                "disallowed-unique-constraint",
                f"adding {column} {what} builds its index under an ACCESS EXCLUSIVE lock: add the"
                " column, CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX",
            ))  # fmt: skip
        elif kind == ConstrType.CONSTR_FOREIGN and default is not None:
            scans.append((
                "constraint-missing-not-valid",
                f"adding {column} with a default and REFERENCES {relation_name(constraint.pktable)}"
                " checks every row under a lock that blocks writes: add the column, then the"
                " foreign key NOT VALID, then VALIDATE CONSTRAINT in a later version",
            ))  # fmt: skip
    if rewrite and domain is not None and domain.constrained:
        yield _at(
            ctx, "volatile-default",
            f"adding {column} of {rewrite} rewrites every row under an ACCESS EXCLUSIVE lock:"
            f" add it as {domain.base}, with the domain's checks as a CHECK added NOT VALID and"
            " validated in a later version",
            REWRITE,
        )  # fmt: skip
    elif rewrite:
        yield _at(
            ctx, "volatile-default",
            f"adding {column} with {rewrite} rewrites every row under an ACCESS"
            " EXCLUSIVE lock: add it without the default, set the default, backfill in batches",
            REWRITE,
        )  # fmt: skip
    elif not_null and default is None:
        yield _at(
            ctx, "adding-required-field",
            f"adding {column} NOT NULL without a default fails on a table"
            " with rows: give it a default, or add it nullable, backfill, then make it NOT NULL",
            FAILS,
        )  # fmt: skip
    elif not_null and generated == "virtual":
        scans.append((
            "set-not-null",
            f"adding {column} NOT NULL computes the virtual generated column for every row"
            " under an ACCESS EXCLUSIVE lock: add it without NOT NULL",
        ))  # fmt: skip
    for rule, message in scans:
        yield _at(ctx, rule, message, SCAN)


def _add_not_null(ctx: StatementContext, table: str, model_table, constraint) -> Iterator[Finding]:
    """PostgreSQL 18's ADD CONSTRAINT ... NOT NULL: a scan, unless NOT VALID or proven."""
    if constraint.skip_validation:
        ctx.not_valid_here.add((table, constraint.conname))
        return
    for key in constraint.keys:
        column = model_table.columns.get(key.sval)
        if column is None or column.not_null or _proven_not_null(model_table, key.sval):
            continue
        yield _at(
            ctx, "set-not-null",
            f"adding NOT NULL {constraint.conname or ''} on {table}.{key.sval} scans the table"
            " under an ACCESS EXCLUSIVE lock: add it NOT VALID, then VALIDATE CONSTRAINT in a"
            " later version",
            SCAN,
        )  # fmt: skip


def _primary_key_using_index(
    ctx: StatementContext, table: str, model_table, constraint
) -> Iterator[Finding]:
    """A primary key makes its columns NOT NULL: a scan for each one not already so."""
    index = ctx.model.indexes.get(constraint.indexname)
    keys = [key for key, _ in index.elements] if index is not None else []
    nullable = [
        key
        for key in keys
        if key in model_table.columns
        and not model_table.columns[key].not_null
        and not _proven_not_null(model_table, key)
    ]
    if nullable:
        columns = ", ".join(f"{table}.{key}" for key in nullable)
        checks = ", ".join(f"CHECK ({key} IS NOT NULL)" for key in nullable)
        yield _at(
            ctx, "set-not-null",
            f"ADD PRIMARY KEY USING INDEX {constraint.indexname} makes {columns} NOT NULL, which"
            f" scans the table under an ACCESS EXCLUSIVE lock: first add {checks} NOT VALID and"
            " VALIDATE it (in a later version), then the primary key skips the scan",
            SCAN,
        )  # fmt: skip


def _proven_not_null(table, column: str) -> bool:
    """A validated CHECK (column IS NOT NULL) lets SET NOT NULL skip its scan."""
    target = f"{column} IS NOT NULL"
    return any(
        c.kind == "check" and c.validated and str(c.expression) == target
        for c in table.constraints.values()
    )
