"""The schema the chain produces, as one SQL file a reviewer can read (``sql/schema/schema.sql``).

Invariant: the same chain gives the same bytes on every run and on every server version
from PostgreSQL 15 on. The chain is applied to a scratch database (never the user's),
dumped with ``pg_dump --schema-only`` of the server's own version, and everything that
varies between runs or versions is dropped: banners, ``\\restrict`` keys, ``SET`` lines,
owners, privileges, the runner's bookkeeping tables. Objects keep pg_dump's order (by
kind, then name), which does not depend on the order they were created in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from runner import api, catalog, database
from runner.errors import LiftdbError, Mismatch

# In a subfolder of the chain's: yoyo (every *.sql and *.py file of the folder is a migration to
# it), goose (every *.sql file) and liftdb read only the folder itself, so none takes the dump
# for a version.
SCHEMA_FILE = Path("schema") / "schema.sql"

HEADER = """\
-- The schema the migrations in this folder produce, written by `liftdb dump-schema`.
-- Do not edit it: `make lint` fails when it is out of date with the chain.

SET check_function_bodies = false;
"""

PG_DUMP_FLAGS = (
    "--schema-only",
    "--no-owner",
    "--no-privileges",
    "--no-tablespaces",
    "--no-table-access-method",
    "--no-security-labels",
    "--no-publications",
    "--no-subscriptions",
)

# pg_dump opens each object with "--\n-- Name: ...; Type: ...; Schema: ...; Owner: ...\n--".
_ENTRY = re.compile(
    r"^--\n-- Name: (?P<name>[^\n]*?); Type: (?P<type>[^;\n]*); Schema: (?P<schema>[^;\n]*);"
    r" Owner: [^\n]*\n--\n",
    re.MULTILINE,
)
_DUMP_END = "\n--\n-- PostgreSQL database dump complete\n--\n"
# Session settings pg_dump emits between objects; they vary with its version.
_SETTING = re.compile(r"^(SET \w+ = .*|SELECT pg_catalog\.set_config\(.*\));$")


def default_output(sql_dir: Path | str) -> Path:
    return Path(sql_dir) / SCHEMA_FILE


def render(url: str, sql_dir: Path | str = api.DEFAULT_SQL_DIR) -> str:
    """The schema file's text: the chain applied to a scratch database, then dumped."""
    with database.scratch_database(url, "dump") as scratch_url:
        api.migrate(scratch_url, sql_dir)
        return normalise(pg_dump(scratch_url))


def write(url: str, sql_dir: Path | str, output: Path | str | None = None) -> bool:
    """Write the schema file; return whether its contents changed."""
    output = Path(output) if output else default_output(sql_dir)
    text = render(url, sql_dir)
    if output.is_file() and output.read_text(encoding="utf-8") == text:
        return False
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LiftdbError(f"cannot write {output}: {exc.strerror}") from None
    return True


def check(url: str, sql_dir: Path | str, output: Path | str | None = None) -> None:
    """Raise ``Mismatch`` unless the schema file holds exactly what ``render`` gives."""
    output = Path(output) if output else default_output(sql_dir)
    if not output.is_file():
        raise Mismatch(f"{output} does not exist; write it with `liftdb dump-schema`")
    expected = render(url, sql_dir).split("\n")
    found = output.read_text(encoding="utf-8").split("\n")
    for number, (want, have) in enumerate(zip(expected, found, strict=False), start=1):
        if want != have:
            raise Mismatch(
                f"{output}:{number}: out of date with the chain (the chain gives"
                f" {_clip(want)!r}, the file has {_clip(have)!r}); run `liftdb dump-schema`"
            )
    if len(expected) != len(found):
        number = min(len(expected), len(found))
        raise Mismatch(
            f"{output}:{number}: out of date with the chain (it is"
            f" {'longer' if len(found) > len(expected) else 'shorter'}); run `liftdb dump-schema`"
        )


def _clip(line: str, width: int = 60) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."


def normalise(dump: str) -> str:
    """pg_dump's plain output without what varies by run or version, objects in its order."""
    dump = dump.replace("\r\n", "\n")
    dump = dump.split(_DUMP_END, 1)[0]
    headers = list(_ENTRY.finditer(dump))
    parts = [HEADER]
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        end = following.start() if following else len(dump)
        if any(re.match(catalog.BOOKKEEPING_PATTERN, word) for word in _words(header["name"])):
            continue  # liftdb's guard on yoyo's lock table (runner/yoyo.py): bookkeeping
        lines = dump[header.end() : end].strip("\n").split("\n")
        while lines and (not lines[-1].strip() or _SETTING.match(lines[-1])):
            lines.pop()  # the settings pg_dump puts before the next object
        schema = header["schema"]
        where = f"; Schema: {schema}" if schema not in ("public", "-") else ""
        parts.append(f"-- Name: {header['name']}; Type: {header['type']}{where}\n")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _words(entry_name: str) -> list[str]:
    """The names in a pg_dump entry's title: ``FUNCTION f()`` gives FUNCTION and f."""
    return [word for word in re.split(r"[ (),]", entry_name) if word]


def pg_dump(url: str) -> str:
    """``pg_dump --schema-only`` of the database, without the bookkeeping tables."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with database.connect(url) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
        bookkeeping = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND c.relname ~ %s ORDER BY 1, 2",
            (catalog.BOOKKEEPING_PATTERN,),
        ).fetchall()
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)  # not on the command line, where ps shows it
    excluded = [f'--exclude-table="{schema}"."{table}"' for schema, table in bookkeeping]
    command = [str(pg_dump_for(major)), *PG_DUMP_FLAGS, *excluded]
    command += ["--dbname", make_conninfo(**params)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    except OSError as exc:
        raise LiftdbError(f"cannot run {command[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        reason = next((line for line in done.stderr.splitlines() if line.strip()), "failed")
        raise LiftdbError(f"pg_dump of {database.mask(url)} failed: {reason}")
    return done.stdout


def pg_dump_for(server_major: int) -> Path:
    """A pg_dump of the server's own major version, else the oldest newer one at hand."""
    from runner import embedded

    candidates = [
        embedded.bin_dir() / "pg_dump",
        Path(f"/usr/lib/postgresql/{server_major}/bin/pg_dump"),
        Path(shutil.which("pg_dump") or "/nonexistent"),
    ]
    found: dict[int, Path] = {}
    for path in candidates:
        major = _major(path)
        if major is not None and major >= server_major:
            found.setdefault(major, path)
    if not found:
        raise LiftdbError(
            f"no pg_dump for PostgreSQL {server_major} or newer: install"
            f" postgresql-client-{server_major}"
        )
    return found[min(found)]


def _major(pg_dump_path: Path) -> int | None:
    if not pg_dump_path.is_file():
        return None
    try:
        out = subprocess.run(
            [str(pg_dump_path), "--version"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r"\)\s+(\d+)", out)
    return int(match[1]) if match else None
