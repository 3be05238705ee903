"""DROP of everything the model tracks, and what each drop takes with it.

Invariant: a drop removes what the server removes: a table its indexes,
triggers, partitions, the foreign keys pointing at it (CASCADE) and its
INHERITS children (CASCADE); a schema (CASCADE) everything in it; a type
(CASCADE) the columns and domains of that type; a function (CASCADE) the
triggers, defaults, CHECKs, indexes and generated columns that call it. A
drop the server would refuse (RESTRICT with dependents) changes nothing.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import DropBehavior, ObjectType

from runner.lint.fold import tables
from runner.lint.fold.context import Fold, function_calls, schema_of
from runner.lint.model import Expr, Model, qualified, walk

FUNCTION_KINDS = (
    ObjectType.OBJECT_FUNCTION,
    ObjectType.OBJECT_PROCEDURE,
    ObjectType.OBJECT_ROUTINE,
)


def drop(f: Fold, node) -> None:
    model = f.model
    kind = node.removeType
    cascade = node.behavior == DropBehavior.DROP_CASCADE
    if kind == ObjectType.OBJECT_TABLE:
        names = [qualified(obj) for obj in node.objects or ()]
        if not cascade and _refused(model, [n for n in names if n in model.tables]):
            return
        for name in names:
            if name in model.tables:
                drop_table(model, name, cascade=cascade)
    elif kind == ObjectType.OBJECT_INDEX:
        for obj in node.objects or ():
            drop_index(model, qualified(obj))
    elif kind == ObjectType.OBJECT_SCHEMA:
        for obj in node.objects or ():
            drop_schema(model, obj.sval, cascade=cascade)
    elif kind in (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN):
        for obj in node.objects or ():
            name = qualified(obj.names if isinstance(obj, ast.TypeName) else obj)
            drop_type(model, name, cascade=cascade)
    elif kind in FUNCTION_KINDS:
        for obj in node.objects or ():
            if isinstance(obj, ast.ObjectWithArgs):
                from runner.lint.fold.objects import matching_functions

                drop_functions(model, matching_functions(model, obj), cascade=cascade)
    elif kind == ObjectType.OBJECT_TRIGGER:
        for obj in node.objects or ():
            parts = [s.sval for s in obj]
            table = ".".join(p for p in parts[:-1] if p != "public")
            model.triggers.pop((table, parts[-1]), None)
    elif kind == ObjectType.OBJECT_SEQUENCE:
        for obj in node.objects or ():
            drop_sequence(model, qualified(obj), cascade=cascade)
    elif kind == ObjectType.OBJECT_EXTENSION and cascade:
        f.not_modelled("DROP EXTENSION ... CASCADE: the columns and objects depending on it")


def _refused(model: Model, names: list[str]) -> bool:
    """DROP TABLE without CASCADE: refused while a table outside the drop depends on one."""
    for table in model.tables.values():
        if table.name in names:
            continue
        if any(parent in names for parent in table.inherits) and not table.partition_bound:
            return True
        if any(c.references in names for c in table.constraints.values()):
            return True
    return False


def drop_table(model: Model, name: str, *, cascade: bool) -> None:
    table = model.tables.pop(name, None)
    if table is None:
        return
    for sequence in table.sequences:
        model.sequences.pop(sequence, None)
    for index_name in list(table.index_names):
        model.indexes.pop(index_name, None)
    for key in [k for k in model.triggers if k[0] == name]:
        del model.triggers[key]
    for other in model.tables.values():
        for cname, constraint in list(other.constraints.items()):
            if constraint.references == name:
                del other.constraints[cname]
    for child in [t for t in model.tables.values() if name in t.inherits]:
        if table.partition_key is not None or cascade:
            drop_table(model, child.name, cascade=cascade)
        else:
            child.inherits = tuple(p for p in child.inherits if p != name)


def drop_index(model: Model, name: str) -> None:
    index = model.remove_index(name)
    if index is None:
        return
    for child in [i for i in model.indexes.values() if i.parent == name]:
        drop_index(model, child.name)


def drop_schema(model: Model, schema: str, *, cascade: bool) -> None:
    if schema not in model.schemas:
        return
    tables_in = [n for n in model.tables if schema_of(n) == schema]
    functions_in = [k for k in model.functions if schema_of(k.partition("(")[0]) == schema]
    types_in = [n for n in model.types if schema_of(n) == schema]
    sequences_in = [n for n in model.sequences if schema_of(n) == schema]
    if not cascade and (tables_in or functions_in or types_in or sequences_in):
        return  # the server refuses to drop a schema that holds anything
    for name in tables_in:
        drop_table(model, name, cascade=True)
    drop_functions(model, functions_in, cascade=True)
    for name in types_in:
        drop_type(model, name, cascade=True)
    for name in sequences_in:
        drop_sequence(model, name, cascade=True)
    del model.schemas[schema]


def drop_type(model: Model, name: str, *, cascade: bool) -> None:
    if name not in model.types:
        return
    users = [
        (table, column.name)
        for table in model.tables.values()
        for column in table.columns.values()
        if column.type.removesuffix("[]").removesuffix("[]") == name
    ]
    domains = [t for t in model.types.values() if t.kind == "domain" and t.detail == name]
    functions = [k for k in model.functions if _signature_uses(k, name)]
    if not cascade and (users or domains or functions):
        return
    del model.types[name]
    for table, column in users:
        if column in table.columns:
            tables.drop_column(model, table, column, cascade=True)
    for domain in domains:
        drop_type(model, domain.name, cascade=True)
    drop_functions(model, functions, cascade=True)


def _signature_uses(signature: str, type_name: str) -> bool:
    args = signature.partition("(")[2].removesuffix(")")
    return any(a.removesuffix("[]") == type_name for a in args.split(",") if a)


def drop_functions(model: Model, signatures: list[str], *, cascade: bool) -> None:
    for signature in signatures:
        if signature not in model.functions:
            continue
        del model.functions[signature]
        model.function_comments.pop(signature, None)
        if cascade:
            drop_users_of_function(model, signature.partition("(")[0])


def drop_users_of_function(model: Model, name: str) -> None:
    """What DROP FUNCTION ... CASCADE takes: triggers executing it; defaults (and
    generated columns), CHECKs and indexes calling it."""

    def calls(expression) -> bool:
        return isinstance(expression, Expr) and name in function_calls(expression.node)

    for key in [k for k, t in model.triggers.items() if t.function == name]:
        del model.triggers[key]
    for table in list(model.tables.values()):
        if table.name not in model.tables:
            continue
        for column in list(table.columns.values()):
            if column.generated and calls(column.default) and column.name in table.columns:
                tables.drop_column(model, table, column.name, cascade=True)
            elif calls(column.default):
                column.default = None
        for cname, constraint in list(table.constraints.items()):
            if calls(constraint.expression):
                table.constraints.pop(cname, None)
        for index in model.table_indexes(table.name):
            if calls(index.where) or any(calls(key) for key, _ in index.elements):
                drop_index(model, index.name)


def sequence_of(expression) -> str | None:
    """The sequence a ``nextval('name')`` default draws from, as the model names it."""
    if not isinstance(expression, Expr):
        return None
    for item in walk(expression.node):
        if isinstance(item, ast.FuncCall) and item.funcname[-1].sval == "nextval" and item.args:
            argument = item.args[0]
            if isinstance(argument, ast.TypeCast):
                argument = argument.arg
            if isinstance(argument, ast.A_Const) and isinstance(argument.val, ast.String):
                return argument.val.sval.removeprefix("public.")
    return None


def drop_sequence(model: Model, sequence: str, *, cascade: bool) -> None:
    """The sequence, and (CASCADE) the defaults drawing from it; without CASCADE the server
    refuses while a default does."""
    users = [
        column
        for table in model.tables.values()
        for column in table.columns.values()
        if sequence_of(column.default) == sequence
    ]
    if users and not cascade:
        return
    model.remove_sequence(sequence)
    for column in users:
        column.default = None
