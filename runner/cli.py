"""The ``liftdb`` command line: parses arguments, calls ``runner.api``, prints.

Invariant: this module does no work of its own; every ``LiftdbError`` is
caught here, once, and becomes one line on stderr and its exit code. Loading
it imports click and nothing heavy: psycopg and pglast are imported by the
commands that need them, so ``liftdb status`` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import click

from runner import __version__
from runner.errors import LiftdbError
from runner.retry import DEFAULT_RETRIES

EPILOG = """\b
Exit codes:
  0  success
  1  a migration or database error (the failing statement's file:line is named)
  2  usage error: bad option, unknown version, refused data loss
  3  status --exit-code: versions are pending
  4  drift: an applied file changed or is missing (see --allow-drift)
  5  lock timeout: another runner held the migration lock too long
  130  interrupted by Ctrl-C (SIGINT): the line says where the running version stands
  143  terminated by SIGTERM during migrate, rollback or redo (as Ctrl-C)

\b
Environment: DATABASE_URL (default for --database-url), else libpq's PGSERVICE,
PGHOST, PGHOSTADDR, PGPORT, PGUSER, PGDATABASE; LIFTDB_SQL_DIR (default for
--sql-dir), LIFTDB_PGDATA (the embedded server's data), LIFTDB_POOL_MODE (default
for --pool-mode), PGCONNECT_TIMEOUT, NO_COLOR (no colour).
"""


class Duration(click.ParamType):
    """``5s``, ``500ms``, ``2min``, ``0`` (off), as milliseconds."""

    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        from runner.loader import parse_duration

        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class VersionArg(click.ParamType):
    """A version: its number (an int), else its label or file name as given, which
    ``plan.resolve`` checks against the chain."""

    name = "version"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = value.strip()
        return int(text) if text.isdigit() else text


def to_version_option(help: str, required: bool = False):
    """``--to VERSION``, wherever a command takes a version (``VersionArg``)."""
    return click.option("--to", "to", type=VersionArg(), default=None, required=required, help=help)


def duration_option(name: str, default: str, help: str):
    return click.option(name, type=Duration(), default=default, show_default=True, help=help)


class Settings(NamedTuple):
    """The global options, as every command reads them."""

    database_url: str | None
    sql_dir: Path
    lock_timeout: int  # milliseconds, 0 = wait for ever
    lock_wait: int  # milliseconds, for the migration lock; 0 = for ever
    lock_retries: int  # further attempts after a table lock timeout; 0 = off
    progress_every: int  # milliseconds between progress lines off a terminal
    statement_timeout: int  # milliseconds, 0 = off
    json: bool
    quiet: bool
    verbose: bool
    allow_drift: bool
    pool_mode: str | None  # "session": the URL is a PgBouncer pool in session mode
    url_origin: str = "--database-url"  # or "$DATABASE_URL": where database_url came from
    sql_source: str = "--sql-dir"  # why sql_dir is the migration folder (runner.project)

    def source(self):
        """Which server is used, and why (``database.Source``); starts nothing."""
        from runner import database

        return database.choose(self.database_url, self.url_origin)

    def url(self) -> str:
        from runner import database

        return database.resolve_url(self.database_url, self.url_origin)

    def options(self, command_quiet: bool = False, notices: list | None = None):
        """``notices``: with --json, where the server's notices are kept for the document
        (without it they are printed on stderr as they come)."""
        from runner import api, output

        status = output.StatusLine(sys.stderr, self.progress_every / 1000, as_json=self.json)

        def on_wait(holder) -> None:
            if self.json and not self.quiet:
                click.echo(output.lock_wait_document(holder, self.lock_wait), err=True)
            elif not self.quiet:
                click.echo(output.lock_wait_line(holder), err=True)

        def on_done(step) -> None:
            status.clear()
            if not (self.quiet or self.json or command_quiet):
                line = output.step_line(step, output.use_colour(sys.stdout))
                click.echo(f"{line} ({step.path})" if self.verbose else line)

        warned: set = set()

        def on_plan(state, _work) -> None:
            for drift in state.drift if self.allow_drift else ():
                if drift.number not in warned:
                    warned.add(drift.number)
                    click.echo(output.drift_allowed_line(drift), err=True)

        def on_notice(notice) -> None:
            status.clear()
            if self.json and notices is not None:
                notices.append(notice)
            elif notice.severity == "WARNING" or not self.quiet:
                click.echo(output.notice_line(notice), err=True)

        def on_lock_wait(wait) -> None:
            status.clear()
            if not self.quiet:
                line = output.lock_retry_document if self.json else output.lock_retry_line
                click.echo(line(wait), err=True)

        return api.Options(
            timeouts=api.Timeouts(
                lock_ms=self.lock_timeout,
                statement_ms=self.statement_timeout,
                wait_ms=self.lock_wait,
                lock_retries=self.lock_retries,
            ),
            on_lock_wait=on_lock_wait,
            on_progress=None if self.quiet or command_quiet else status,
            allow_drift=self.allow_drift,
            pool_mode=self.pool_mode,
            on_wait=on_wait,
            on_done=on_done,
            on_notice=on_notice,
            on_plan=on_plan,
        )


# click 8.2+ raises this for a group given no command; its message is the whole help.
NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class Liftdb(click.Group):
    """The command group, with the one place errors become one line and an exit code
    (here rather than in ``main`` so that ``CliRunner`` tests see exactly what users do),
    and global options accepted after the command too (``liftdb migrate --json``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(self, ctx, args))

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from runner import output

        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):  # not a prompt's Ctrl-C
                from runner.errors import Interrupted

                interrupted = Interrupted("while no version was running", exc.__cause__)
                click.echo(output.error_line(interrupted.message), err=True)
                code = interrupted.exit_code
            else:
                click.echo("liftdb: aborted", err=True)
                code = 1
        except NO_ARGS_IS_HELP as exc:  # `liftdb`, `liftdb db`: the help, as help
            click.echo(exc.format_message(), err=True)
            code = exc.exit_code
        except click.ClickException as exc:
            click.echo(output.error_line(exc.format_message(), kind="usage"), err=True)
            code = exc.exit_code
        except LiftdbError as exc:
            click.echo(output.error_line(exc.message), err=True)
            code = exc.exit_code
        except OSError as exc:  # a path the filesystem refuses, met wherever it is
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(output.error_line(f"{where}{exc.strerror or exc}"), err=True)
            code = 1
        except Exception as exc:
            if not type(exc).__module__.startswith("psycopg"):
                raise
            click.echo(output.error_line(f"database error: {exc}"), err=True)
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def hoist_global_options(group: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    """``args`` with the group's options that follow a command moved before it, each with
    its value, unless that command has an option of the same name (``status --json``)."""
    globals_ = {name: option for option in group.params for name in option.opts}
    front, rest = [], []
    command: click.Command = group
    words = iter(args)
    for word in words:
        if word == "--":
            rest += [word, *words]
            break
        name = word.partition("=")[0] if word.startswith("--") else word
        if not word.startswith("-") or word == "-":
            if isinstance(command, click.Group):
                command = command.get_command(ctx, word) or command
            rest.append(word)
            continue
        own = command is not group and _option(command, name)
        option = own or globals_.get(name)
        target = front if option is not None and not own else rest
        target.append(word)
        if option is not None and not option.is_flag and "=" not in word:
            value = next(words, None)
            if value is not None:
                target.append(value)
    return front + rest


def _option(command: click.Command, name: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and name in param.opts + param.secondary_opts:
            return param
    return None


@click.group(cls=Liftdb, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="liftdb")
@click.option(
    "--database-url",
    envvar="DATABASE_URL",
    show_envvar=True,
    help="Server to use (default: $DATABASE_URL, else the embedded server).",
)
@click.option(
    "--sql-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Migration folder (default: $LIFTDB_SQL_DIR, else the nearest sql/ at or above"
    " the current directory).",
)
@duration_option(
    "--lock-timeout",
    "5s",
    "The longest wait for a table lock (0 = for ever); with lock retries on, each"
    " attempt waits 100-200 ms of it.",
)
@duration_option(
    "--lock-wait",
    "5s",
    "How long to wait for the migration lock, held by another runner (0 = for ever).",
)
@click.option(
    "--lock-retries",
    type=click.IntRange(min=0),
    default=DEFAULT_RETRIES,
    show_default=True,
    help="After a table lock timeout, roll the version back and try it again, this many"
    " times (0 = never); a file's '-- lock_retries: N' overrides it.",
)
@duration_option("--statement-timeout", "0", "Cancel any statement running longer (0 = off).")
@duration_option(
    "--progress-every",
    "10s",
    "Off a terminal, a line on stderr each time a statement has run this long again"
    " (on a terminal, a live status line after 1 s; none with --quiet).",
)
@click.option("--json", "json_output", is_flag=True, help="Print one JSON document.")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors (and what status reports).")
@click.option("--verbose", "-v", is_flag=True, help="Also print the file each version ran.")
@click.option(
    "--allow-drift",
    is_flag=True,
    help="Proceed although applied files changed or are missing (exit 4 otherwise).",
)
@click.option(
    "--pool-mode",
    type=click.Choice(["session"]),
    envvar="LIFTDB_POOL_MODE",
    show_envvar=True,
    help="The URL is a pooler (PgBouncer) in session mode: let changing commands run"
    " through it. Otherwise they refuse any pooler: no client can tell its mode.",
)
@click.pass_context
def cli(ctx: click.Context, database_url, sql_dir, json_output, **values) -> None:
    """Apply, roll back and check the migrations in sql/ (found from the current
    directory upward, as git finds .git; or $LIFTDB_SQL_DIR)."""
    from runner import project

    found = project.find() if sql_dir is None else None
    from_env = ctx.get_parameter_source("database_url") == click.core.ParameterSource.ENVIRONMENT
    if values["quiet"] and values["verbose"]:
        raise click.UsageError("--quiet and --verbose contradict each other: give one of them")
    if database_url is not None and not database_url.strip() and not from_env:
        raise click.UsageError(
            "--database-url is empty: give a URL, or leave the option out (then"
            " $DATABASE_URL, libpq's PG* variables, else the embedded server)"
        )
    ctx.obj = Settings(
        database_url=database_url,
        sql_dir=project.relative(found.sql_dir if found else sql_dir),
        json=json_output,
        url_origin="$DATABASE_URL" if from_env else "--database-url",
        sql_source=found.source if found else "--sql-dir",
        **values,
    )
    if values["verbose"] and not json_output:
        where = project.shown(ctx.obj.sql_dir)
        click.echo(f"liftdb: migrations in {where} ({ctx.obj.sql_source})", err=True)


def _report_run(
    settings: Settings,
    command: str,
    url: str,
    steps,
    dry_run: bool,
    to: int | None = None,
    notices: list | None = None,
) -> None:
    from runner import database, output

    masked = database.mask(url)
    if settings.json:
        document = output.run_document(
            command, steps, masked, dry_run=dry_run, to=to, notices=notices or []
        )
        click.echo(document)
        return
    if dry_run:
        for step in steps:
            click.echo(f"-- {output.step_line(step)}: {step.path}")
            click.echo(step.script)
    if not settings.quiet:
        click.echo(output.run_summary(command, steps, masked, dry_run=dry_run, to=to))


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _confirm(yes: bool):
    """``--yes`` confirms; a terminal asks; anything else refuses."""
    from runner import output

    if yes:
        return None

    def confirm(question: str) -> bool:
        if not stdin_is_terminal():
            return False
        return click.confirm(output.confirm_prompt(question), default=False, err=True)

    return confirm


def _guarded(options):
    """``options`` saying, in a dry run, that the real run would need ``--yes``."""

    def on_data_loss(question: str) -> None:
        click.echo(f"liftdb: dry run: --yes would be needed: {question}", err=True)

    return options._replace(on_data_loss=on_data_loss)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises ``Terminated`` in the block, as Ctrl-C raises ``KeyboardInterrupt``:
    the query running is cancelled and the run says where it stopped (exit 143)."""
    import signal

    from runner.errors import Terminated

    def terminate(_signum, _frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@cli.command()
@to_version_option("Stop after this version (number, label or file name).")
@click.option("--dry-run", is_flag=True, help="Print the SQL that would run; change nothing.")
@click.pass_obj
def migrate(settings: Settings, to: int | None, dry_run: bool) -> None:
    """Apply pending versions, in order (up to and including --to)."""
    from runner import api

    url = settings.url()
    notices: list = []
    options = settings.options(dry_run, notices)
    with sigterm_interrupts():
        steps = api.migrate(url, settings.sql_dir, to=to, dry_run=dry_run, options=options)
    _report_run(settings, "migrate", url, steps, dry_run, to, notices)


@cli.command()
@click.option("--steps", type=int, default=None, help="How many versions (default 1).")
@to_version_option("Roll back to this version (it stays; number, label or file name).")
@click.option("--all", "everything", is_flag=True, help="Roll back every applied version.")
@click.option("--dry-run", is_flag=True, help="Print the SQL that would run; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Destroy rows the database holds without asking.")
@click.pass_obj
def rollback(settings: Settings, steps, to, everything, dry_run, yes) -> None:
    """Roll back the newest version (or --steps N, --to VERSION, --all).

    A rollback that would destroy rows the database holds (DROP TABLE, DROP COLUMN,
    DROP SCHEMA ... CASCADE, TRUNCATE, DELETE without WHERE), or roll back everything,
    asks first on a terminal, and refuses (exit 2) elsewhere unless --yes; --dry-run
    says when --yes would be needed.
    """
    from runner import api

    url = settings.url()
    notices: list = []
    if to == 0 and steps is None and not everything:  # `--to 0` is --all, asked as it is
        everything, to = True, None
    with sigterm_interrupts():
        done = api.rollback(
            url,
            settings.sql_dir,
            steps=steps,
            to=to,
            everything=everything,
            dry_run=dry_run,
            options=_guarded(settings.options(dry_run, notices)),
            confirm=_confirm(yes),
        )
    _report_run(settings, "rollback", url, done, dry_run, notices=notices)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print the SQL that would run; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Destroy rows the database holds without asking.")
@click.pass_obj
def redo(settings: Settings, dry_run: bool, yes: bool) -> None:
    """Roll back the newest applied version and apply it again."""
    from runner import api

    url = settings.url()
    notices: list = []
    with sigterm_interrupts():
        done = api.redo(
            url,
            settings.sql_dir,
            dry_run=dry_run,
            options=_guarded(settings.options(dry_run, notices)),
            confirm=_confirm(yes),
        )
    _report_run(settings, "redo", url, done, dry_run, notices=notices)


@cli.command()
@click.option("--json", "json_output", is_flag=True, help="Print one JSON document.")
@click.option("--exit-code", is_flag=True, help="Exit 4 on drift, else 3 if anything is pending.")
@click.pass_obj
def status(settings: Settings, json_output: bool, exit_code: bool) -> None:
    """Every version: applied (when) or pending, drift, interrupted work.

    Exits 4 on drift (unless --allow-drift); with --exit-code, 3 if anything is pending.
    """
    from runner import api, output

    report = api.status(settings.url(), settings.sql_dir)
    if json_output or settings.json:
        click.echo(output.status_document(report))
    else:
        for line in output.status_lines(report, output.use_colour(sys.stdout)):
            click.echo(line)
    code = report.exit_code(gate_pending=exit_code, allow_drift=settings.allow_drift)
    if code:
        sys.exit(code)


@cli.command()
@click.pass_obj
def verify(settings: Settings) -> None:
    """Compare applied versions' files with their recorded checksums; change nothing."""
    from runner import api, output

    report = api.verify(settings.url(), settings.sql_dir)
    if settings.json:
        click.echo(output.status_document(report))
    elif not settings.quiet:
        click.echo(output.verify_line(report))


@cli.command()
@click.option("--dry-run", is_flag=True, help="Say what would be recorded; change nothing.")
@click.pass_obj
def repair(settings: Settings, dry_run: bool) -> None:
    """Accept applied files edited on purpose: record their checksums as they are now.

    Only changed contents are repaired; a version renamed or missing from disk is
    refused (exit 4) and nothing changes. Nothing in the schema is touched.
    """
    from runner import api, database, output

    url = settings.url()
    repaired = api.repair(url, settings.sql_dir, dry_run=dry_run, options=settings.options(dry_run))
    masked = database.mask(url)
    if settings.json:
        click.echo(output.repair_document(repaired, masked, dry_run=dry_run))
    elif not settings.quiet:
        for drift in repaired:
            click.echo(output.repair_line(drift, dry_run=dry_run))
        click.echo(output.repair_summary(repaired, masked, dry_run=dry_run))


@cli.command()
@to_version_option("The version the schema is at (number, label or file name).", required=True)
@click.option("--dry-run", is_flag=True, help="Check the schema; record nothing.")
@click.pass_obj
def baseline(settings: Settings, to: int, dry_run: bool) -> None:
    """Record versions up to --to as applied, without running them.

    For a database whose schema was built another way (a restore, sql/schema/schema.sql).
    Refuses, recording nothing, unless its schema is the chain's at that version,
    which is built for the comparison in a scratch database (needs CREATEDB).
    """
    from runner import api, database, output

    url = settings.url()
    result = api.baseline(
        url, settings.sql_dir, to, dry_run=dry_run, options=settings.options(dry_run)
    )
    masked = database.mask(url)
    if settings.json:
        click.echo(output.baseline_document(result, masked, dry_run=dry_run))
    elif not settings.quiet:
        if not dry_run:
            for number in result.marked:
                click.echo(f"{number:05d} recorded as applied")
        click.echo(output.baseline_summary(result, masked, dry_run=dry_run))


@cli.command()
@click.argument("name")
@click.pass_obj
def new(settings: Settings, name: str) -> None:
    """Create the next numbered NAME.sql and NAME.rollback.sql from a template."""
    from runner import api, project

    for path in api.new(settings.sql_dir, name):
        click.echo(project.shown(path))


@cli.group("db")
def db_group() -> None:
    """The server: which one is used (url), wait for it, create or drop its database, and
    the embedded server (start, stop; data in .pgdata/ beside the migration folder)."""


def _not_in_use(settings: Settings) -> None:
    """Say so when the embedded server is not the one liftdb uses."""
    from runner import database

    source = settings.source()
    if not source.embedded:
        click.echo(
            f"note: the embedded server is not the one in use: {source.origin} selects"
            f" {database.mask(source.url)}",
            err=True,
        )


@db_group.command("start")
@click.pass_obj
def db_start(settings: Settings) -> None:
    """Start the embedded server (if needed) and print its URL."""
    from runner import api, database

    _not_in_use(settings)
    click.echo(database.mask(api.db_start()))


@db_group.command("stop")
@click.pass_obj
def db_stop(settings: Settings) -> None:
    """Stop the embedded server."""
    from runner import api

    _not_in_use(settings)
    click.echo("stopped" if api.db_stop() else "not running")


@db_group.command("url")
@click.pass_obj
def db_url(settings: Settings) -> None:
    """Print the database URL liftdb uses (password masked) and, on stderr, why that
    one: --database-url, else $DATABASE_URL, else libpq's PG* variables, else the
    embedded server. Starts nothing."""
    from runner import api, database, embedded

    source = settings.source()
    url = api.db_url(source)
    if url is None:
        click.echo(
            f"the embedded server, not running (data in {embedded.data_dir()}):"
            " `liftdb db start` starts it"
        )
    else:
        click.echo(database.mask(url))
    if not settings.quiet:
        click.echo(f"from {source.origin}: {source.why}", err=True)


@db_group.command("wait")
@click.option(
    "--timeout",
    type=Duration(),
    default="30s",
    show_default=True,
    help="Give up (exit 1) after this long.",
)
@click.pass_obj
def db_wait(settings: Settings, timeout: int) -> None:
    """Wait until the server accepts connections (for CI and containers)."""
    from runner import api, database

    url = settings.url()
    waited = api.db_wait(url, timeout)
    if not settings.quiet:
        click.echo(f"{database.mask(url)} accepts connections (waited {waited:.1f} s)")


@db_group.command("create")
@click.pass_obj
def db_create(settings: Settings) -> None:
    """Create the database the URL names, on its server."""
    from runner import api, database

    url = settings.url()
    made = api.db_create(url)
    if not settings.quiet:
        name = database.database_name(url)
        said = "created" if made else "already exists:"
        click.echo(f"{said} database {name} on {database.server_label(url)}")


@db_group.command("drop")
@click.option("--yes", "-y", is_flag=True, help="Required: the database and all it holds go.")
@click.pass_obj
def db_drop(settings: Settings, yes: bool) -> None:
    """Drop the database the URL names (with --yes)."""
    from runner import api, database
    from runner.errors import DataLossRefused

    url = settings.url()
    name = database.database_name(url)
    if not yes:
        raise DataLossRefused(
            f"refused: this would drop database {name} of {database.mask(url)} and everything"
            " in it; nothing was changed (pass --yes to proceed)"
        )
    dropped = api.db_drop(url)
    if not settings.quiet:
        said = "dropped" if dropped else "does not exist:"
        click.echo(f"{said} database {name} on {database.server_label(url)}")


@db_group.command("psql")
@click.pass_obj
def db_psql(settings: Settings) -> None:
    """Open psql on the database liftdb uses."""
    import os

    from runner import api

    argv, env = api.psql_command(settings.url())
    os.execvpe(argv[0], argv, env)


def main() -> None:
    """The ``liftdb`` console script: the command line, with start-up's garbage collection
    and the interpreter's exit made cheap (``runner.startup``)."""
    from runner import startup

    startup.run(cli.main)


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
def goose_export(settings: Settings, directory: Path) -> None:
    """Write the chain as goose files (NNNNN_name.sql) into DIRECTORY."""
    from runner import api

    paths = api.goose_export(settings.sql_dir, directory)
    for path in paths:
        click.echo(str(path))
    click.echo(f"wrote {len(paths)} goose file(s) to {directory}")


@goose_group.command("check")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def goose_check(settings: Settings, directory: Path) -> None:
    """Compare a goose folder with sql/; exit 1 at the first difference.

    Statements are compared as syntax trees: whitespace and comments do not count.
    """
    from runner import api

    result = api.goose_check(directory, settings.sql_dir)
    click.echo(
        f"{directory} matches {settings.sql_dir}: {result.versions} version(s),"
        f" {result.statements} statement(s)"
    )


@goose_group.command("import")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def goose_import(settings: Settings, directory: Path) -> None:
    """Turn a goose folder into up/rollback files."""
    from runner import api

    result = api.goose_import(directory, settings.sql_dir)
    for path in result.written:
        click.echo(str(path))
    for number in result.without_down:
        click.echo(f"warning: version {number} had no Down section; its rollback is empty")
    click.echo(f"imported {len(result.written) // 2} version(s) into {settings.sql_dir}")


@goose_group.command("adopt")
@click.pass_obj
def goose_adopt(settings: Settings) -> None:
    """Mark as applied what goose_db_version says goose applied.

    Refuses, changing nothing, unless the database's schema is the chain's at that version.
    """
    from runner import api, database
    from runner.goose import GOOSE_TABLE

    url = settings.url()
    result = api.goose_adopt(url, settings.sql_dir, settings.options())
    for number in result.marked:
        click.echo(f"{number:05d} adopted")
    click.echo(
        f"adopted {len(result.marked)} version(s) from {GOOSE_TABLE};"
        f" {database.mask(url)} is at version {result.version}"
    )


@cli.command("dump-schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="File to write, or - for stdout (default: schema/schema.sql in the migration folder).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the file is out of date.")
@click.pass_obj
def dump_schema(settings: Settings, output: Path | None, check: bool) -> None:
    """Write the chain's schema to sql/schema/schema.sql.

    The chain is applied to a scratch database on the server, never to yours.
    """
    from runner import api

    url = settings.url()
    if str(output) == "-":
        click.echo(api.dump_schema_text(url, settings.sql_dir), nl=False)
        return
    target, changed = api.dump_schema(url, settings.sql_dir, output, check=check)
    if check:
        click.echo(f"{target} is up to date")
    else:
        click.echo(f"{'wrote' if changed else 'unchanged:'} {target}")


# --- lint (runner/lint/): static checks of the chain, no database -----------------------


@cli.command("lint")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
    help="text: 'file:line:col: rule: message' lines; json: one document; github: workflow"
    " annotations; sarif: SARIF 2.1.0 for code scanning.",
)
@click.option(
    "--trace",
    is_flag=True,
    help="Also run the pending versions (or the FILEs given) on a scratch database of the"
    " server, holding sample rows, and show what each statement did beside the lint's verdict.",
)
@click.option(
    "--rows",
    type=click.IntRange(min=0),
    default=None,
    help="With --trace: the sample rows each table is brought up to (default 10,000).",
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def lint_command(
    settings: Settings, output_format: str, trace: bool, rows: int | None, paths: tuple[Path, ...]
) -> None:
    """Check the migrations statically; exit 1 if anything is found.

    PATHS are migration folders (default: the --sql-dir one) or files in one; for a
    file, its whole chain is read and only that file's findings are shown. With --trace,
    PATHS are up files (or one folder) and the trace runs them; the target database is
    only read, for which versions are pending.
    """
    from runner import api
    from runner.errors import UsageError
    from runner.lint import report

    if rows is not None and not trace:
        raise UsageError("--rows goes with --trace")
    if trace:
        if output_format not in ("text", "json"):
            raise UsageError("--trace reports as text or json")
        traced, result = api.lint_trace(settings.url(), paths, settings.sql_dir, rows=rows)
        findings = result.findings
        if output_format == "json":
            click.echo(report.as_json(findings, traced), nl=False)
        else:
            click.echo(report.text(findings) + report.trace_text(traced), nl=False)
        differ = f", {traced.differences} verdict(s) differ from the server"
        if findings or traced.differences:
            raise LiftdbError(f"lint: {len(findings)} finding(s){differ}")
        return
    findings = api.lint(paths, settings.sql_dir)
    click.echo(report.render(findings, output_format), nl=False)
    if findings:
        raise LiftdbError(f"lint: {len(findings)} finding(s)")


# --- fleet (runner/fleet.py): many databases, one command ----------------------------------

FLEET_EPILOG = """\b
Exit codes:
  0  every target succeeded
  1  a target failed, was not started, or was interrupted (status, verify: not read)
  2  usage: a bad option, targets file or selection; nothing was run
  5  the only failures were lock timeouts (another runner was at work there)
  status: 4 on drift; with --exit-code, 3 when a target is behind. verify: 4 on drift.
"""


@cli.group("fleet", epilog=FLEET_EPILOG)
def fleet_group() -> None:
    """Many databases, one command: migrate, roll back, read or verify them all.

    Targets come from a TOML file (--targets) or are every database of a server whose
    name is LIKE a pattern (--databases, on --server or the --database-url one). They
    are ordered by name; each is worked on by one connection under its own migration
    lock, --jobs at a time. A line per target as it ends, then a summary.
    """


def _fleet_selection(command):
    """The options every fleet command takes: which targets, how many at a time, JSON."""
    options = (
        click.option(
            "--targets",
            "targets_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A TOML file of [[target]] tables: name, url or url_env, tags.",
        ),
        click.option(
            "--server",
            "servers",
            multiple=True,
            metavar="URL",
            help="A server whose databases matching --databases are targets (repeatable;"
            " default: the --database-url one).",
        ),
        click.option(
            "--databases",
            "pattern",
            metavar="PATTERN",
            help="A LIKE pattern over the server's database names (templates excluded).",
        ),
        click.option(
            "--tag", "tags", multiple=True, help="Only targets with this tag (repeatable)."
        ),
        click.option("--shard", metavar="I/N", help="Only the I-th of N slices of the targets."),
        click.option(
            "--jobs",
            type=click.IntRange(min=1),
            default=4,
            show_default=True,
            help="Databases at a time, one connection each.",
        ),
        click.option("--json", "json_output", is_flag=True, help="Print one JSON document."),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _fleet_budget(command):
    """The options of the fleet commands that change databases."""
    options = (
        click.option(
            "--canary",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Run the first K targets alone, one after another; if one fails, stop.",
        ),
        click.option(
            "--max-failures",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Start no new target once more than M failed (lock timeouts aside).",
        ),
        click.option(
            "--dry-run", is_flag=True, help="Say what each target would run; change nothing."
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _fleet_targets(settings: Settings, targets_file, servers, pattern, tags, shard):
    from runner import fleet

    if pattern is not None and not servers:
        servers = (settings.url(),)
    return fleet.plan_targets(
        file=targets_file, servers=servers, pattern=pattern, tags=tags, shard=shard
    )


class _FleetConsole:
    """A fleet command's output, all printed from the main thread: a line per target as
    it ends (migrate, rollback; status and verify print theirs in order at the end), a
    live progress line on stderr when it is a terminal, the summary or one JSON
    document, then the one error line that goes with a non-zero exit."""

    REDRAW_S = 0.1

    def __init__(self, settings: Settings, command: str, targets, json_output: bool) -> None:
        from runner import output

        self.settings, self.command = settings, command
        self.json = json_output or settings.json
        self.live = command in ("migrate", "rollback") and not (self.json or settings.quiet)
        self.width = max((len(t.name) for t in targets), default=0)
        self.colour = output.use_colour(sys.stdout)
        self.terminal = not settings.quiet and sys.stderr.isatty()
        self.shown = False
        self.drawn_at = 0.0

    def events(self):
        from runner import fleet

        return fleet.Events(on_record=self.record, on_progress=self.progress, on_halt=self.halt)

    def _clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False

    def record(self, record) -> None:
        from runner import output

        if self.live:
            self._clear()
            click.echo(output.fleet_line(record, self.command, self.width, self.colour))

    def progress(self, progress) -> None:
        import time

        from runner import output

        now = time.monotonic()
        if not self.terminal or now - self.drawn_at < self.REDRAW_S:
            return
        self.drawn_at = now
        sys.stderr.write("\r\x1b[K" + output.fleet_progress(progress))
        sys.stderr.flush()
        self.shown = True

    def halt(self, reason: str, running: int) -> None:
        from runner import output

        if not self.settings.quiet:
            self._clear()
            click.echo(output.fleet_halt_line(reason, running), err=True)

    def finish(self, report, code: int) -> None:
        from runner import output
        from runner.errors import FleetFailed

        self._clear()
        if self.json:
            click.echo(output.fleet_document(report, code))
        elif not self.settings.quiet:
            if not self.live:
                for record in report.records:
                    click.echo(output.fleet_line(record, self.command, self.width, self.colour))
            for line in output.fleet_summary(report):
                click.echo(line)
        message = output.fleet_failure(report, code)
        if message is not None:
            raise FleetFailed(message, code)
        if code:
            sys.exit(code)


def _fleet_command(settings: Settings, command: str, which: dict, json_output: bool, run, **gate):
    """Plan the targets, call ``run(targets, stop=..., events=...)`` (one call into
    ``runner.fleet``) with the first Ctrl-C stopping it, then report and exit."""
    from runner import fleet

    targets = _fleet_targets(settings, **which)
    console = _FleetConsole(settings, command, targets, json_output)
    with fleet.stop_on_sigint() as stop:
        report = run(targets, stop=stop, events=console.events())
    console.finish(report, report.exit_code(**gate))


@fleet_group.command("migrate")
@_fleet_selection
@_fleet_budget
@to_version_option("Stop after this version (number, label or file name).")
@click.pass_obj
def fleet_migrate(
    settings: Settings, to, dry_run, canary, max_failures, jobs, json_output, **which
):
    """Apply pending versions on every target, up to --to."""
    from runner import fleet

    def run(targets, **events):
        return fleet.migrate(
            targets, settings.sql_dir, to=to, dry_run=dry_run, jobs=jobs, canary=canary,
            max_failures=max_failures, options=settings.options(), **events,
        )  # fmt: skip

    _fleet_command(settings, "migrate", which, json_output, run)


@fleet_group.command("rollback")
@_fleet_selection
@_fleet_budget
@to_version_option(
    "Roll back to this version (it stays; number, label or file name).", required=True
)
@click.option(
    "--yes", "-y", is_flag=True, help="Drop tables holding rows (else such targets fail)."
)
@click.pass_obj
def fleet_rollback(
    settings: Settings, to, yes, dry_run, canary, max_failures, jobs, json_output, **which
):
    """Roll every target back to --to. Nothing is asked: without --yes, a target whose
    rollback would drop tables holding rows fails, changing nothing there."""
    from runner import fleet

    def run(targets, **events):
        return fleet.rollback(
            targets, settings.sql_dir, to=to, yes=yes, dry_run=dry_run, jobs=jobs,
            canary=canary, max_failures=max_failures, options=settings.options(), **events,
        )  # fmt: skip

    _fleet_command(settings, "rollback", which, json_output, run)


@fleet_group.command("status")
@_fleet_selection
@click.option("--exit-code", is_flag=True, help="Exit 3 if a target is behind (4 on drift).")
@click.pass_obj
def fleet_status(settings: Settings, exit_code: bool, jobs, json_output, **which):
    """The version spread: how many targets at each version, which are behind, drifted,
    interrupted, applied by yoyo, or cannot be read. Reads only."""
    from runner import fleet

    def run(targets, **events):
        return fleet.status(targets, settings.sql_dir, jobs=jobs, **events)

    _fleet_command(
        settings, "status", which, json_output, run,
        gate_pending=exit_code, allow_drift=settings.allow_drift,
    )  # fmt: skip


@fleet_group.command("verify")
@_fleet_selection
@click.pass_obj
def fleet_verify(settings: Settings, jobs, json_output, **which):
    """Check every target's applied versions against their files; change nothing."""
    from runner import fleet

    def run(targets, **events):
        return fleet.verify(targets, settings.sql_dir, jobs=jobs, **events)

    _fleet_command(settings, "verify", which, json_output, run)
