"""PostgreSQL backups with pg_dump's custom format, restored in one transaction through psql."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL

from governor.config import get_settings
from governor.errors import BackupError, BadInput

MAGIC = b"PGDMP"
COPY_HEADER = "COPY public.alembic_version (version_num) FROM stdin;"

# Dropping every table and function of the schema first makes the restore exact: tables
# and trigger functions that a failed migration created, and that the backup does not have, go
# too. psql runs this and the restore script in one transaction, so a failure leaves the
# database untouched.
DROP_TABLES = b"""
DO $$
DECLARE t record;
BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', t.tablename);
  END LOOP;
  FOR t IN SELECT p.oid::regprocedure AS name FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND p.proname LIKE 'governor\\_%' LOOP
    EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', t.name);
  END LOOP;
END $$;
"""


def is_pg_dump(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def _tool(name: str) -> str:
    """Find a PostgreSQL client program: the setting, then the newest installed, then PATH."""
    configured = get_settings().pg_bin_dir
    candidates = [configured / name] if configured else []
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    candidates += [folder / name for folder in reversed(versions)]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(
        f"{name} was not found.",
        hint="Install the PostgreSQL client (apt-get install postgresql-client) "
        "or set GOVERNOR_PG_BIN_DIR to the folder that holds it.",
    )


def _connection(url: URL) -> tuple[str, dict[str, str]]:
    """libpq connection string and environment; the password travels in the environment only."""
    conninfo = make_conninfo(
        host=url.host or "",
        port=str(url.port or ""),
        user=url.username or "",
        dbname=url.database or "",
        **{k: str(v) for k, v in url.query.items()},
    )
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run(args: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        tool = Path(args[0]).name
        raise BackupError(f"{tool} failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def dump(url: URL, target: Path) -> None:
    """Write the whole database in pg_dump's custom format."""
    conninfo, env = _connection(url)
    # Only Governor's schema: others in the database (the outbound limiter's counters) are not
    # Governor's data, and the restore drops and reloads `public` alone.
    args = [_tool("pg_dump"), "--format=custom", "--schema=public", f"--file={target}"]
    _run([*args, f"--dbname={conninfo}"], env)


def read_revision(path: Path) -> str | None:
    """Check that the dump is Governor's and reads to the end; return its migration revision."""
    pg_restore = _tool("pg_restore")
    try:
        listing = _run([pg_restore, "--list", str(path)])
        if "TABLE public alembic_version" not in listing:
            raise BadInput(
                f"{path} is a pg_dump file but not a Governor backup (no alembic_version table).",
                hint="Restore a file written by `governor db backup` or `governor db upgrade`.",
            )
        _run([pg_restore, "--file=/dev/null", str(path)])
        script = _run([pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(path)])
    except BackupError as error:
        raise BadInput(f"{path} cannot be read as a backup: {error.message}") from None
    lines = script.splitlines()
    if COPY_HEADER not in lines:
        return None
    value = lines[lines.index(COPY_HEADER) + 1]
    return None if value == "\\." else value


def _without_schema_entry(backup: Path) -> str:
    """The archive's table of contents less `CREATE SCHEMA public`: the schema stays, and only
    its tables are replaced (a dump of one schema always carries its creation)."""
    listing = _run([_tool("pg_restore"), "--list", str(backup)])
    return "".join(line for line in listing.splitlines(keepends=True)
                   if " SCHEMA - public " not in line)  # fmt: skip


def load(backup: Path, url: URL) -> None:
    """Replace every table of the database with the backup's, all or nothing."""
    conninfo, env = _connection(url)
    psql = subprocess.Popen(
        [_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
         f"--dbname={conninfo}", "--file=-"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert psql.stdin is not None and psql.stderr is not None
    psql.stdin.write(DROP_TABLES)
    psql.stdin.flush()
    with tempfile.NamedTemporaryFile("w", suffix=".list") as contents:
        contents.write(_without_schema_entry(backup))
        contents.flush()
        restore = subprocess.run(
            [_tool("pg_restore"), "--no-owner", "--no-privileges", f"--use-list={contents.name}",
             "--file=-", str(backup)],
            stdout=psql.stdin, stderr=subprocess.PIPE, check=False,
        )  # fmt: skip
    if restore.returncode != 0:
        psql.kill()  # psql would commit what it has read at end of input: abort it instead
        psql.wait()
        raise BackupError(f"pg_restore failed: {restore.stderr.decode().strip()}")
    psql.stdin.close()
    errors = psql.stderr.read().decode().strip()
    if psql.wait() != 0:
        raise BackupError(f"psql could not restore {backup}: {errors}")
