"""Renames and moves (``ALTER ... RENAME``, ``SET SCHEMA``, enum values) of what the model
tracks, and everything that names the renamed object.

Invariant: after a rename, no name in the model (a table's, an index's, a
foreign key's target, a parent in ``inherits``, a column's type, a function's
signature, a trigger's key, a serial column's sequence) still says the old
one.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from pglast import ast
from pglast.enums import ObjectType

from runner.lint.fold import drops, tables
from runner.lint.fold.context import Fold, bare, descendants, in_schema, schema_of
from runner.lint.model import Expr, Model, Trigger, TypeDef, qualified, relation_name, walk

RELATION_KINDS = (
    ObjectType.OBJECT_TABLE, ObjectType.OBJECT_INDEX, ObjectType.OBJECT_SEQUENCE,
    ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW, ObjectType.OBJECT_FOREIGN_TABLE,
)  # fmt: skip
FUNCTION_KINDS = drops.FUNCTION_KINDS
TYPE_KINDS = (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN)


def rename(f: Fold, node) -> None:
    model = f.model
    kind = node.renameType
    if kind in RELATION_KINDS:
        old = relation_name(node.relation)
        new = in_schema(schema_of(old), node.newname)
        if old in model.tables:
            rename_table(model, old, new)
        elif old in model.indexes:
            rename_index(model, old, new)
        elif kind == ObjectType.OBJECT_SEQUENCE:
            rename_sequence(model, old, new)
        else:
            _rename_key_index(model, old, node.newname)
    elif kind == ObjectType.OBJECT_COLUMN:
        table = model.tables.get(relation_name(node.relation)) if node.relation else None
        if table is not None and node.subname in table.columns:
            tables.rename_column(model, table, node.subname, node.newname)
    elif kind == ObjectType.OBJECT_TABCONSTRAINT:
        table = model.tables.get(relation_name(node.relation))
        if table is not None and node.subname in table.constraints:
            for target in [table, *descendants(model, table)]:
                mine = target.constraints.get(node.subname)
                if mine is not None and (target is table or not mine.local):
                    _rename_key(target.constraints, node.subname, node.newname)
    elif kind == ObjectType.OBJECT_TRIGGER:
        table = relation_name(node.relation)
        if (table, node.subname) in model.triggers:
            model.triggers[(table, node.newname)] = model.triggers.pop((table, node.subname))
    elif kind in FUNCTION_KINDS:
        _move_functions(f, node.object, qualified(node.object.objname), node.newname)
    elif kind == ObjectType.OBJECT_SCHEMA:
        rename_schema(model, node.subname, node.newname)
    elif kind in TYPE_KINDS:
        old = qualified(node.object)
        rename_type(model, old, in_schema(schema_of(old), node.newname))
    elif kind == ObjectType.OBJECT_DOMCONSTRAINT:
        domain = model.domain(qualified(node.object))
        if domain is not None and node.subname in domain.checks:
            model.types[domain.name] = replace(
                domain,
                checks=domain.checks - {node.subname} | {node.newname},
                not_valid=frozenset(
                    node.newname if n == node.subname else n for n in domain.not_valid
                ),
            )


def set_schema(f: Fold, node) -> None:
    """``ALTER ... SET SCHEMA``."""
    model = f.model
    kind = node.objectType
    schema = node.newschema
    if kind in RELATION_KINDS:
        old = relation_name(node.relation)
        if old in model.tables:
            move_table(model, old, schema)
        elif kind == ObjectType.OBJECT_SEQUENCE:
            rename_sequence(model, old, in_schema(schema, bare(old)))
    elif kind in FUNCTION_KINDS:
        name = qualified(node.object.objname)
        _move_functions(f, node.object, name, bare(name), schema)
    elif kind in TYPE_KINDS:
        old = qualified(node.object)
        rename_type(model, old, in_schema(schema, bare(old)))


def alter_enum(f: Fold, node) -> None:
    name = qualified(node.typeName)
    enum = f.model.types.get(name)
    if enum is None or enum.kind != "enum":
        return
    labels = list(enum.detail)
    if node.oldVal is not None:
        labels = [node.newVal if label == node.oldVal else label for label in labels]
        _rename_label_in_defaults(f.model, name, node.oldVal, node.newVal)
    elif node.newVal not in labels:
        if node.newValNeighbor in labels:
            at = labels.index(node.newValNeighbor) + (1 if node.newValIsAfter else 0)
            labels.insert(at, node.newVal)
        else:
            labels.append(node.newVal)
    f.model.types[name] = TypeDef(name, "enum", tuple(labels))


def _rename_label_in_defaults(model: Model, enum: str, old: str, new: str) -> None:
    """A default of an enum column stores the label's value: a renamed label reads anew."""
    for table in model.tables.values():
        for column in table.columns.values():
            if column.type != enum or not isinstance(column.default, Expr):
                continue
            node = column.default.node
            constant = node.arg if isinstance(node, ast.TypeCast) else node
            if isinstance(constant, ast.A_Const) and getattr(constant.val, "sval", None) == old:
                node = copy.deepcopy(node)
                constant = node.arg if isinstance(node, ast.TypeCast) else node
                constant.val = ast.String(sval=new)
                column.default = Expr(node)


# --- tables and indexes ---------------------------------------------------------------


def rename_table(model: Model, old: str, new: str) -> None:
    table = model.tables.pop(old)
    table.name = new
    model.tables[new] = table
    for index in model.table_indexes(new):
        index.table = new
    for sequence, column in table.sequences.items():
        model.sequences[sequence] = (new, column)
    for other in model.tables.values():
        other.inherits = tuple(new if p == old else p for p in other.inherits)
        for constraint in other.constraints.values():
            if constraint.references == old:
                constraint.references = new
    for key in [k for k in model.triggers if k[0] == old]:
        model.triggers[(new, key[1])] = model.triggers.pop(key)


def move_table(model: Model, old: str, schema: str) -> None:
    """SET SCHEMA: the table, its indexes and the sequences it owns move."""
    new = in_schema(schema, bare(old))
    rename_table(model, old, new)
    for index in model.table_indexes(new):
        rename_index(model, index.name, in_schema(schema, bare(index.name)))
    for sequence in model.owned_sequences(new):
        rename_sequence(model, sequence, in_schema(schema, bare(sequence)))


def rename_index(model: Model, old: str, new: str) -> None:
    index = model.remove_index(old)
    index.name = new
    model.add_index(index)
    for other in model.indexes.values():
        if other.parent == old:
            other.parent = new


def _rename_key_index(model: Model, old: str, new: str) -> None:
    """ALTER INDEX on the index of a primary key or unique constraint renames the key."""
    for table in model.tables.values():
        if schema_of(table.name) == schema_of(old) and bare(old) in table.constraints:
            constraint = table.constraints[bare(old)]
            if constraint.kind in tables.KEY_KINDS:
                _rename_key(table.constraints, bare(old), new)
                return


def _rename_key(mapping: dict, old: str, new: str) -> None:
    items = [(new if k == old else k, v) for k, v in mapping.items()]
    mapping.clear()
    mapping.update(items)
    mapping[new].name = new


# --- sequences, functions, types, schemas ---------------------------------------------


def rename_sequence(model: Model, old: str, new: str) -> None:
    """A sequence renamed or moved: every ``nextval`` default naming it follows."""
    if old in model.sequences:
        model.set_sequence(new, model.sequences[old])
        model.remove_sequence(old)
    for table in model.tables.values():
        for column in table.columns.values():
            if drops.sequence_of(column.default) == old:
                column.default = _with_sequence(column.default, new)


def _with_sequence(expression: Expr, sequence: str) -> Expr:
    node = copy.deepcopy(expression.node)
    for item in walk(node):
        if isinstance(item, ast.FuncCall) and item.funcname[-1].sval == "nextval" and item.args:
            argument = item.args[0]
            constant = argument.arg if isinstance(argument, ast.TypeCast) else argument
            constant.val = ast.String(sval=sequence)
    return Expr(node)


def _move_functions(f: Fold, obj, old_name: str, new_bare: str, schema: str | None = None) -> None:
    from runner.lint.fold.objects import matching_functions

    model = f.model
    new_name = in_schema(schema if schema is not None else schema_of(old_name), new_bare)
    for signature in matching_functions(model, obj):
        if signature not in model.functions:
            continue
        moved = new_name + signature[len(old_name) :]
        model.functions[moved] = model.functions.pop(signature)
        if signature in model.function_comments:
            model.function_comments[moved] = model.function_comments.pop(signature)
    for key, trigger in list(model.triggers.items()):
        if trigger.function == old_name:
            model.triggers[key] = Trigger(trigger.definition, new_name)


def rename_type(model: Model, old: str, new: str) -> None:
    """An enum or domain renamed or moved: the columns, domains and signatures using it."""
    found = model.types.pop(old, None)
    if found is None:
        return
    model.types[new] = replace(found, name=new)
    for kind in list(model.types.values()):
        if kind.kind == "domain" and kind.detail == old:
            model.types[kind.name] = replace(kind, detail=new)
    for table in model.tables.values():
        for column in table.columns.values():
            if column.type.removesuffix("[]").removesuffix("[]") == old:
                column.type = new + column.type[len(old) :]
    for signature in list(model.functions):
        name, _, args = signature.partition("(")
        types = [
            new + a[len(old) :] if a.removesuffix("[]") == old else a for a in args[:-1].split(",")
        ]
        renamed = f"{name}({','.join(t for t in types if t)})"
        if renamed != signature:
            model.functions[renamed] = model.functions.pop(signature)
            if signature in model.function_comments:
                model.function_comments[renamed] = model.function_comments.pop(signature)


def rename_schema(model: Model, old: str, new: str) -> None:
    if old not in model.schemas:
        return
    items = [(new if k == old else k, v) for k, v in model.schemas.items()]
    model.schemas.clear()
    model.schemas.update(items)

    def moved(name: str) -> str:
        return in_schema(new, bare(name)) if schema_of(name) == old else name

    for name in [n for n in model.types if schema_of(n) == old]:
        rename_type(model, name, moved(name))
    for name in [n for n in model.tables if schema_of(n) == old]:
        rename_table(model, name, moved(name))
    for name in [n for n in model.indexes if schema_of(n) == old]:
        rename_index(model, name, moved(name))
    for signature in [k for k in model.functions if schema_of(k.partition("(")[0]) == old]:
        function = signature.partition("(")[0]
        renamed = moved(function) + signature[len(function) :]
        model.functions[renamed] = model.functions.pop(signature)
        if signature in model.function_comments:
            model.function_comments[renamed] = model.function_comments.pop(signature)
    for key, trigger in list(model.triggers.items()):
        if schema_of(trigger.function) == old:
            model.triggers[key] = Trigger(trigger.definition, moved(trigger.function))
    for sequence in {n for n in model.sequences if schema_of(n) == old} | {
        s
        for table in model.tables.values()
        for column in table.columns.values()
        if (s := drops.sequence_of(column.default)) is not None and schema_of(s) == old
    }:
        rename_sequence(model, sequence, moved(sequence))
