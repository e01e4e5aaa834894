"""SQLite backups through the online backup API, marked as Governor's by their application_id."""

import sqlite3
from contextlib import closing
from pathlib import Path

from governor.errors import BadInput

APPLICATION_ID = 0x474F5652  # "GOVR": marks a file as a Governor backup
MAGIC = b"SQLite format 3\x00"


def is_sqlite_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def _open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def dump(database: Path, target: Path) -> None:
    """Copy a live database, consistently even while others write, into a single file."""
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
        # A stand-alone file: no -wal or -shm beside it, readable from a read-only folder.
        copy.execute("PRAGMA journal_mode=DELETE")
        copy.execute(f"PRAGMA application_id={APPLICATION_ID}")
        copy.commit()


def read_revision(path: Path) -> str | None:
    """Check the whole file and its mark; return its migration revision."""
    try:
        with closing(_open_readonly(path)) as backup:
            (application_id,) = backup.execute("PRAGMA application_id").fetchone()
            if application_id != APPLICATION_ID:
                raise BadInput(
                    f"{path} is a SQLite database but not a Governor backup.",
                    hint="Restore a file written by `governor db backup` or `governor db upgrade`.",
                )
            (verdict,) = backup.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise BadInput(f"{path} is damaged: {verdict}", hint="Use another backup.")
            row = backup.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise BadInput(
            f"{path} cannot be read as a backup: {error}", hint="Use another backup."
        ) from None
    return row[0] if row else None


def load(backup: Path, database: Path) -> None:
    """Replace the live database's content with the backup's, in one step for its readers."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with closing(_open_readonly(backup)) as source, closing(sqlite3.connect(database)) as live:
        source.backup(live)
