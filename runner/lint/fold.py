"""Folds statements into the ``Model``: what the schema is after each one runs.

Invariant: ``apply`` changes the model the way PostgreSQL would change the
catalog for the statements the model covers (tables, columns, constraints,
indexes, functions, triggers, comments, and renames and drops of them),
leaves it unchanged for anything else, and never raises: a statement about an
object the chain never created is ignored, as the server would refuse it
before any of its effects.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType as At
from pglast.enums import ConstrType, DropBehavior, ObjectType, TableLikeOption
from pglast.enums import FunctionParameterMode as Mode

from runner.lint.findings import Location
from runner.lint.model import (
    ON_DELETE,
    Column,
    Constraint,
    Domain,
    Expr,
    Index,
    Model,
    Table,
    deparse,
    index_element,
    qualified,
    relation_name,
    type_name,
    walk,
)

NAMEDATALEN = 63  # PostgreSQL truncates longer identifiers


def apply(model: Model, node, where: Location, version: int, source: str = "") -> None:
    """Fold one statement; ``source`` is its text, kept as the definition of functions."""
    handler = _HANDLERS.get(type(node).__name__)
    if handler is not None:
        handler(model, node, where, version, source)


# --- CREATE TABLE ---------------------------------------------------------------------


def _create_table(model: Model, node, where: Location, version: int, source: str) -> None:
    name = relation_name(node.relation)
    if name in model.tables:
        return  # IF NOT EXISTS skips it; without, the server refuses the statement
    table = Table(name=name, created_in=version, origin=where)
    model.tables[name] = table
    for element in node.tableElts or ():
        if isinstance(element, ast.ColumnDef):
            _add_column(model, table, element, where, version)
        elif isinstance(element, ast.Constraint):
            _add_constraint(model, table, element, where, version)
        elif isinstance(element, ast.TableLikeClause):
            _copy_like(model, table, element, where)


def _add_column(model: Model, table: Table, coldef, where: Location, version: int) -> None:
    if coldef.colname in table.columns:
        return
    type_text, serial = type_name(coldef.typeName)
    column = Column(
        name=coldef.colname, type=type_text, not_null=bool(coldef.is_not_null),
        serial=serial, origin=where,
    )  # fmt: skip
    if serial:
        column.not_null = True
        column.default = f"nextval('{table.name}_{coldef.colname}_seq'::regclass)"
    table.columns[column.name] = column
    for constraint in coldef.constraints or ():
        kind = constraint.contype
        if kind == ConstrType.CONSTR_NOTNULL:
            column.not_null = True
        elif kind == ConstrType.CONSTR_NULL:
            column.not_null = False
        elif kind == ConstrType.CONSTR_DEFAULT:
            column.default = Expr(constraint.raw_expr)
        elif kind == ConstrType.CONSTR_IDENTITY:
            column.not_null = True
        elif kind in (
            ConstrType.CONSTR_PRIMARY,
            ConstrType.CONSTR_UNIQUE,
            ConstrType.CONSTR_FOREIGN,
            ConstrType.CONSTR_CHECK,
        ):
            _add_constraint(model, table, constraint, where, version, column=column.name)


def _add_constraint(
    model: Model, table: Table, node, where: Location, version: int, column: str | None = None
) -> Constraint | None:

    kind = node.contype
    if kind == ConstrType.CONSTR_PRIMARY:
        columns = _names(node.keys) or ((column,) if column else ())
        made = Constraint(name="", kind="primary key", columns=columns)
        for col in columns:
            if col in table.columns:
                table.columns[col].not_null = True
    elif kind == ConstrType.CONSTR_UNIQUE:
        columns = _names(node.keys) or ((column,) if column else ())
        made = Constraint(
            name="",
            kind="unique",
            columns=columns,
            nulls_not_distinct=bool(node.nulls_not_distinct),
        )
    elif kind == ConstrType.CONSTR_FOREIGN:
        columns = _names(node.fk_attrs) or ((column,) if column else ())
        target = relation_name(node.pktable)
        ref_columns = _names(node.pk_attrs) or _primary_key(model, target)
        made = Constraint(
            name="", kind="foreign key", columns=columns, references=target,
            ref_columns=ref_columns, on_delete=ON_DELETE.get(node.fk_del_action, "no action"),
            validated=not node.skip_validation,
        )  # fmt: skip
    elif kind == ConstrType.CONSTR_CHECK:
        referenced = sorted(referenced_columns(node.raw_expr))
        columns = (column,) if column else tuple(referenced)
        made = Constraint(
            name="", kind="check", columns=columns, expression=Expr(node.raw_expr),
            validated=not node.skip_validation,
        )  # fmt: skip
    elif kind == ConstrType.CONSTR_NOTNULL and node.keys:
        for col in _names(node.keys):
            if col in table.columns:
                table.columns[col].not_null = True
        return None
    else:
        return None
    if node.indexname and made.kind in ("primary key", "unique"):
        index = model.remove_index(node.indexname)
        if index is not None:
            made.columns = tuple(key for key, _ in index.elements)
            made.nulls_not_distinct = index.nulls_not_distinct
        made.name = node.conname or node.indexname
    else:
        made.name = node.conname or _choose_name(model, table, made)
    made.origin, made.added_in = where, version
    table.constraints[made.name] = made
    return made


def _choose_name(model: Model, table: Table, constraint: Constraint) -> str:
    """The name PostgreSQL gives a constraint written without one."""
    if constraint.kind == "primary key":
        return _unique_name(model, table, table.name, (), "pkey")
    if constraint.kind == "unique":
        return _unique_name(model, table, table.name, constraint.columns, "key")
    if constraint.kind == "foreign key":
        return _unique_name(model, table, table.name, constraint.columns, "fkey")
    columns = constraint.columns[:1] if len(constraint.columns) == 1 else ()
    return _unique_name(model, table, table.name, columns, "check")


def _unique_name(model: Model, table: Table | None, base: str, columns, label: str) -> str:
    taken = set(model.indexes) | (set(table.constraints) if table else set())
    stem = "_".join([base, *columns])
    for attempt in range(10_000):
        suffix = f"{label}{attempt if attempt else ''}"
        name = f"{stem[: NAMEDATALEN - len(suffix) - 1]}_{suffix}"
        if name not in taken:
            return name
    return f"{stem}_{label}"


def _copy_like(model: Model, table: Table, clause, where: Location) -> None:
    source = model.tables.get(relation_name(clause.relation))
    if source is None:
        return
    options = clause.options or 0
    for column in source.columns.values():
        copied = Column(name=column.name, type=column.type, not_null=column.not_null, origin=where)
        if options & TableLikeOption.CREATE_TABLE_LIKE_DEFAULTS:
            copied.default = column.default
        if options & TableLikeOption.CREATE_TABLE_LIKE_COMMENTS:
            copied.comment = column.comment
        table.columns.setdefault(column.name, copied)
    for constraint in source.constraints.values():
        if constraint.kind == "check" and options & TableLikeOption.CREATE_TABLE_LIKE_CONSTRAINTS:
            table.constraints[constraint.name] = Constraint(
                name=constraint.name, kind="check", columns=constraint.columns,
                expression=constraint.expression, origin=where,
            )  # fmt: skip
        if constraint.kind in ("primary key", "unique") and (
            options & TableLikeOption.CREATE_TABLE_LIKE_INDEXES
        ):
            copied = Constraint(
                name="", kind=constraint.kind, columns=constraint.columns,
                nulls_not_distinct=constraint.nulls_not_distinct, origin=where,
            )  # fmt: skip
            copied.name = _choose_name(model, table, copied)
            table.constraints[copied.name] = copied
    if options & TableLikeOption.CREATE_TABLE_LIKE_INDEXES:
        for index in model.table_indexes(source.name):
            keys = [key if key.isidentifier() else "expr" for key, _ in index.elements]
            name = _unique_name(model, table, table.name, keys, "idx")
            model.add_index(Index(
                name=name, table=table.name, elements=index.elements, unique=index.unique,
                nulls_not_distinct=index.nulls_not_distinct, where=index.where, origin=where,
            ))  # fmt: skip


# --- ALTER TABLE ----------------------------------------------------------------------


def _alter_table(model: Model, node, where: Location, version: int, source: str) -> None:
    if node.objtype == ObjectType.OBJECT_INDEX:
        return
    table = model.tables.get(relation_name(node.relation))
    if table is None:
        return
    for cmd in node.cmds or ():
        sub = cmd.subtype
        column = table.columns.get(cmd.name) if cmd.name else None
        if sub == At.AT_AddColumn:
            _add_column(model, table, cmd.def_, where, version)
        elif sub == At.AT_DropColumn and column is not None:
            _drop_column(model, table, column.name)
        elif sub == At.AT_ColumnDefault and column is not None:
            column.default = Expr(cmd.def_) if cmd.def_ is not None else None
        elif sub == At.AT_SetNotNull and column is not None:
            column.not_null = True
        elif sub == At.AT_DropNotNull and column is not None:
            column.not_null = False
        elif sub == At.AT_AlterColumnType and column is not None:
            column.type, _ = type_name(cmd.def_.typeName)
        elif sub == At.AT_AddConstraint:
            _add_constraint(model, table, cmd.def_, where, version)
        elif sub == At.AT_DropConstraint:
            table.constraints.pop(cmd.name, None)
        elif sub == At.AT_ValidateConstraint and cmd.name in table.constraints:
            table.constraints[cmd.name].validated = True


def _drop_column(model: Model, table: Table, column: str) -> None:
    del table.columns[column]
    for name, constraint in list(table.constraints.items()):
        if column in constraint.columns:
            del table.constraints[name]
    for index in model.table_indexes(table.name):
        if any(key == column for key, _ in index.elements):
            model.remove_index(index.name)


# --- indexes, drops, renames ----------------------------------------------------------


def _create_index(model: Model, node, where: Location, version: int, source: str) -> None:
    table_name = relation_name(node.relation)
    table = model.tables.get(table_name)
    if table is None:
        return
    elements = tuple(index_element(e) for e in node.indexParams or ())
    name = node.idxname
    if name is None:
        keys = [key if key.isidentifier() else "expr" for key, _ in elements]
        name = _unique_name(model, table, table_name, keys, "idx")
    if name in model.indexes or name in table.constraints:
        return
    model.add_index(Index(
        name=name, table=table_name, elements=elements, unique=bool(node.unique),
        nulls_not_distinct=bool(node.nulls_not_distinct),
        where=deparse(node.whereClause) if node.whereClause is not None else None, origin=where,
    ))  # fmt: skip


def _drop(model: Model, node, where: Location, version: int, source: str) -> None:
    kind = node.removeType
    for obj in node.objects or ():
        if kind == ObjectType.OBJECT_TABLE:
            name = qualified(obj)
            dropped = model.tables.pop(name, None)
            if dropped is None:
                continue
            for index_name in dropped.index_names:
                model.indexes.pop(index_name, None)
            for key in [k for k in model.triggers if k[0] == name]:
                del model.triggers[key]
            if node.behavior == DropBehavior.DROP_CASCADE:
                for table in model.tables.values():
                    for cname, constraint in list(table.constraints.items()):
                        if constraint.references == name:
                            del table.constraints[cname]
        elif kind == ObjectType.OBJECT_INDEX:
            model.remove_index(qualified(obj))
        elif kind in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE):
            if isinstance(obj, ast.ObjectWithArgs):
                for key in _matching_functions(model, obj):
                    model.functions.pop(key, None)
                    model.function_comments.pop(key, None)
        elif kind == ObjectType.OBJECT_DOMAIN and isinstance(obj, ast.TypeName):
            model.domains.pop(qualified(obj.names), None)
        elif kind == ObjectType.OBJECT_TRIGGER:
            parts = [s.sval for s in obj]
            table = ".".join(p for p in parts[:-1] if p != "public")
            model.triggers.pop((table, parts[-1]), None)


def _rename(model: Model, node, where: Location, version: int, source: str) -> None:
    kind = node.renameType
    if kind == ObjectType.OBJECT_TABLE:
        _rename_table(model, relation_name(node.relation), node.newname)
        return
    if kind == ObjectType.OBJECT_INDEX:
        old = relation_name(node.relation)
        index = model.remove_index(old)
        if index is not None:
            index.name = node.newname
            model.add_index(index)
            return
        for table in model.tables.values():  # the index of a primary key or unique constraint
            if old in table.constraints:
                _rename_key(table.constraints, old, node.newname)
        return
    table = model.tables.get(relation_name(node.relation)) if node.relation else None
    if table is None:
        return
    if kind == ObjectType.OBJECT_COLUMN and node.subname in table.columns:
        _rename_column(model, table, node.subname, node.newname)
    elif kind == ObjectType.OBJECT_TABCONSTRAINT and node.subname in table.constraints:
        _rename_key(table.constraints, node.subname, node.newname)
    elif kind == ObjectType.OBJECT_TRIGGER and (table.name, node.subname) in model.triggers:
        model.triggers[(table.name, node.newname)] = model.triggers.pop((table.name, node.subname))


def _rename_key(mapping: dict, old: str, new: str) -> None:
    items = [(new if k == old else k, v) for k, v in mapping.items()]
    mapping.clear()
    mapping.update(items)
    mapping[new].name = new


def _rename_table(model: Model, old: str, new: str) -> None:
    table = model.tables.pop(old, None)
    if table is None:
        return
    table.name = new
    model.tables[new] = table
    for index in model.table_indexes(new):
        index.table = new
    for other in model.tables.values():
        for constraint in other.constraints.values():
            if constraint.references == old:
                constraint.references = new
    for key in [k for k in model.triggers if k[0] == old]:
        model.triggers[(new, key[1])] = model.triggers.pop(key)


def _rename_column(model: Model, table: Table, old: str, new: str) -> None:
    columns = [(new if k == old else k, v) for k, v in table.columns.items()]
    table.columns.clear()
    table.columns.update(columns)
    table.columns[new].name = new

    def swap(names):
        return tuple(new if n == old else n for n in names)

    for constraint in table.constraints.values():
        constraint.columns = swap(constraint.columns)
    for other in model.tables.values():
        for constraint in other.constraints.values():
            if constraint.references == table.name:
                constraint.ref_columns = swap(constraint.ref_columns)
    for index in model.table_indexes(table.name):
        index.elements = tuple((new if k == old else k, d) for k, d in index.elements)


# --- functions, triggers, comments ----------------------------------------------------


def function_signature(name_nodes, arg_types) -> str:
    return f"{qualified(name_nodes)}({', '.join(type_name(t)[0] for t in arg_types)})"


def _create_function(model: Model, node, where: Location, version: int, source: str) -> None:
    inputs = [
        p.argType
        for p in node.parameters or ()
        if p.mode in (Mode.FUNC_PARAM_IN, Mode.FUNC_PARAM_DEFAULT, Mode.FUNC_PARAM_VARIADIC,
                      Mode.FUNC_PARAM_INOUT)
    ]  # fmt: skip
    signature = function_signature(node.funcname, inputs)
    if signature in model.functions and not node.replace:
        return
    model.functions[signature] = _definition(source)


def _matching_functions(model: Model, obj) -> list[str]:
    if obj.args_unspecified:
        prefix = f"{qualified(obj.objname)}("
        return [key for key in model.functions if key.startswith(prefix)]
    return [function_signature(obj.objname, obj.objargs or ())]


def _create_trigger(model: Model, node, where: Location, version: int, source: str) -> None:
    table = relation_name(node.relation)
    if table not in model.tables:
        return
    model.triggers[(table, node.trigname)] = _definition(source)


def _comment(model: Model, node, where: Location, version: int, source: str) -> None:
    kind, comment = node.objtype, node.comment
    if isinstance(node.object, ast.ObjectWithArgs):
        if kind in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE):
            for key in _matching_functions(model, node.object):
                if key in model.functions:
                    _set(model.function_comments, key, comment)
        return
    parts = [s.sval for s in node.object] if isinstance(node.object, tuple) else []
    if not parts:
        return
    owner = ".".join(p for p in parts[:-1] if p != "public")
    if kind == ObjectType.OBJECT_TABLE:
        table = model.tables.get(".".join(p for p in parts if p != "public"))
        if table is not None:
            table.comment = comment
    elif kind == ObjectType.OBJECT_COLUMN:
        table = model.tables.get(owner)
        if table is not None and parts[-1] in table.columns:
            table.columns[parts[-1]].comment = comment
    elif kind == ObjectType.OBJECT_INDEX:
        index = model.indexes.get(".".join(p for p in parts if p != "public"))
        if index is not None:
            index.comment = comment
    elif kind == ObjectType.OBJECT_TABCONSTRAINT:
        table = model.tables.get(owner)
        if table is not None and parts[-1] in table.constraints:
            table.constraints[parts[-1]].comment = comment


def _definition(source: str) -> str:
    """A function's or trigger's text, ``OR REPLACE`` aside, as the thing to compare."""
    words = source.split()
    if [w.upper() for w in words[1:3]] == ["OR", "REPLACE"]:
        del words[1:3]
    return " ".join(words)


def _set(mapping: dict, key, value) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


# --- domains ----------------------------------------------------------------------------


def _create_domain(model: Model, node, where: Location, version: int, source: str) -> None:
    name = qualified(node.domainname)
    domain = Domain(name=name, base=type_name(node.typeName)[0])
    for constraint in node.constraints or ():
        if constraint.contype == ConstrType.CONSTR_NOTNULL:
            domain.not_null = True
        elif constraint.contype == ConstrType.CONSTR_CHECK:
            domain.checks[constraint.conname or f"{name.split('.')[-1]}_check"] = True
    model.domains.setdefault(name, domain)


def _alter_domain(model: Model, node, where: Location, version: int, source: str) -> None:
    domain = model.domains.get(qualified(node.typeName))
    if domain is None:
        return
    if node.subtype == "O":
        domain.not_null = True
    elif node.subtype == "N":
        domain.not_null = False
    elif node.subtype == "C" and node.def_.contype == ConstrType.CONSTR_CHECK:
        name = node.def_.conname or f"{domain.name.split('.')[-1]}_check"
        domain.checks[name] = not node.def_.skip_validation
    elif node.subtype == "X":
        domain.checks.pop(node.name, None)
    elif node.subtype == "V" and node.name in domain.checks:
        domain.checks[node.name] = True


# --- helpers --------------------------------------------------------------------------


def _names(nodes) -> tuple[str, ...]:
    return tuple(n.sval for n in nodes or ())


def _primary_key(model: Model, table: str) -> tuple[str, ...]:
    target = model.tables.get(table)
    if target is not None:
        for constraint in target.constraints.values():
            if constraint.kind == "primary key":
                return constraint.columns
    return ()


def referenced_columns(node) -> set[str]:
    """Names of the columns an expression reads (the last part of each ColumnRef)."""
    return {
        item.fields[-1].sval
        for item in walk(node)
        if isinstance(item, ast.ColumnRef)
        and item.fields
        and isinstance(item.fields[-1], ast.String)
    }


_HANDLERS = {
    "CreateStmt": _create_table,
    "AlterTableStmt": _alter_table,
    "IndexStmt": _create_index,
    "DropStmt": _drop,
    "RenameStmt": _rename,
    "CreateFunctionStmt": _create_function,
    "CreateTrigStmt": _create_trigger,
    "CommentStmt": _comment,
    "CreateDomainStmt": _create_domain,
    "AlterDomainStmt": _alter_domain,
}
