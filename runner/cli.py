"""The ``liftdb`` command line: parses arguments, calls ``runner.api``, prints.

Invariant: this module does no work of its own; every ``LiftdbError`` is
caught here, once, and becomes one line on stderr and its exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runner import __version__
from runner.errors import LiftdbError


@click.group()
@click.version_option(__version__, prog_name="liftdb")
@click.option(
    "--database-url",
    envvar="DATABASE_URL",
    help="Server to use (default: $DATABASE_URL, else the embedded server).",
)
@click.option(
    "--sql-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Migration folder (default: sql/).",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, sql_dir: Path | None) -> None:
    """Apply, roll back and check the migrations in sql/."""
    from runner import api

    ctx.obj = {"database_url": database_url, "sql_dir": sql_dir or api.DEFAULT_SQL_DIR}


@cli.command()
@click.pass_obj
def migrate(obj: dict) -> None:
    """Apply every pending migration."""
    from runner import api, database

    url = database.resolve_url(obj["database_url"])
    steps = api.migrate(url, obj["sql_dir"])
    for step in steps:
        click.echo(f"{step.number:05d} {step.name} {step.direction} {step.duration_ms} ms")
    click.echo(f"applied {len(steps)} version(s) to {database.mask(url)}")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except LiftdbError as exc:
        click.echo(f"liftdb: error: {exc.message}", err=True)
        sys.exit(exc.exit_code)


# --- goose interop (runner/goose.py) and the schema file (runner/dump.py) ---------------


@cli.group("goose")
def goose_group() -> None:
    """goose interop: export, check, import, adopt.

    goose (pressly/goose) keeps a version per NNNNN_name.sql file, its Up and Down
    sections in one file; liftdb keeps them in two. These commands cross between them.
    """


@goose_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def goose_export(obj: dict, directory: Path) -> None:
    """Write the chain as goose files (NNNNN_name.sql) into DIRECTORY."""
    from runner import goose

    paths = goose.export(obj["sql_dir"], directory)
    for path in paths:
        click.echo(str(path))
    click.echo(f"wrote {len(paths)} goose file(s) to {directory}")


@goose_group.command("check")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def goose_check(obj: dict, directory: Path) -> None:
    """Compare a goose folder with sql/; exit 1 at the first difference.

    Statements are compared as syntax trees: whitespace and comments do not count.
    """
    from runner import goose

    result = goose.check(directory, obj["sql_dir"])
    click.echo(
        f"{directory} matches {obj['sql_dir']}: {result.versions} version(s),"
        f" {result.statements} statement(s)"
    )


@goose_group.command("import")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def goose_import(obj: dict, directory: Path) -> None:
    """Turn a goose folder into up/rollback files."""
    from runner import goose

    result = goose.import_folder(directory, obj["sql_dir"])
    for path in result.written:
        click.echo(str(path))
    for number in result.without_down:
        click.echo(f"warning: version {number} had no Down section; its rollback is empty")
    click.echo(f"imported {len(result.written) // 2} version(s) into {obj['sql_dir']}")


@goose_group.command("adopt")
@click.pass_obj
def goose_adopt(obj: dict) -> None:
    """Mark as applied what goose_db_version says goose applied.

    Refuses, changing nothing, unless the database's schema is the chain's at that version.
    """
    from runner import database, goose

    url = database.resolve_url(obj["database_url"])
    result = goose.adopt(url, obj["sql_dir"])
    for number in result.marked:
        click.echo(f"{number:05d} adopted")
    click.echo(
        f"adopted {len(result.marked)} version(s) from {goose.GOOSE_TABLE};"
        f" {database.mask(url)} is at version {result.version}"
    )


@cli.command("dump-schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="File to write, or - for stdout (default: schema.sql in the migration folder).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the file is out of date.")
@click.pass_obj
def dump_schema(obj: dict, output: Path | None, check: bool) -> None:
    """Write the chain's schema to sql/schema.sql.

    The chain is applied to a scratch database on the server, never to yours.
    """
    from runner import database, dump

    url = database.resolve_url(obj["database_url"])
    target = output or dump.default_output(obj["sql_dir"])
    if str(output) == "-":
        click.echo(dump.render(url, obj["sql_dir"]), nl=False)
    elif check:
        dump.check(url, obj["sql_dir"], target)
        click.echo(f"{target} is up to date")
    else:
        changed = dump.write(url, obj["sql_dir"], target)
        click.echo(f"{'wrote' if changed else 'unchanged:'} {target}")


# --- lint (runner/lint/): static checks of the chain, no database -----------------------


@cli.command("lint")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one 'file:line:col: rule: message' line per finding; json: one document.",
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def lint_command(obj: dict, output_format: str, paths: tuple[Path, ...]) -> None:
    """Check the migrations statically; exit 1 if anything is found.

    PATHS are migration folders (default: the --sql-dir one) or files in one; for a
    file, its whole chain is read and only that file's findings are shown.
    """
    from runner.lint import check, report

    findings = []
    for folder, only in check.targets(paths or (Path(obj["sql_dir"]),)):
        findings += check.lint(folder, only=only).findings
    click.echo(
        report.as_json(findings) if output_format == "json" else report.text(findings), nl=False
    )
    if output_format == "json":
        click.echo()
    if findings:
        raise LiftdbError(f"lint: {len(findings)} finding(s)")
