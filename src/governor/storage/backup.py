"""Backups: write, verify, list, prune and restore them, for SQLite and PostgreSQL alike."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from governor.config import get_settings
from governor.errors import BackupError, BadInput, NotFound
from governor.models.types import utcnow
from governor.storage import backup_postgres, backup_sqlite, revisions
from governor.storage.db import connect, dispose_engines, sqlite_path

SUFFIX = {"sqlite": ".sqlite3", "postgresql": ".pgdump"}
PREFIX = "governor-"


@dataclass(frozen=True)
class Backup:
    """A verified backup file."""

    path: Path
    dialect: str
    revision: str | None
    created_at: datetime
    size_bytes: int

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "dialect": self.dialect,
            "revision": self.revision,
            "created_at": self.created_at.isoformat(),
            "size_bytes": self.size_bytes,
        }


def _dialect(engine: Engine) -> str:
    return "sqlite" if sqlite_path(engine.url) else "postgresql"


def default_path(engine: Engine, revision: str | None, backup_dir: Path | None = None) -> Path:
    """A new file name in the backup folder: time (UTC, to the millisecond) and revision."""
    now = utcnow()
    stamp = now.strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z"
    folder = backup_dir or get_settings().backup_dir
    return folder / f"{PREFIX}{stamp}-{revision or 'empty'}{SUFFIX[_dialect(engine)]}"


def create_backup(engine: Engine, path: Path | None = None, *, prune_old: bool = True) -> Backup:
    """Back up the whole database, check that the copy reads, then keep the newest N."""
    revision = governor_revision(engine)
    if revision is None:
        raise BadInput(
            "The database has no Governor schema: there is nothing to back up.",
            hint="Run `governor db upgrade` first.",
        )
    target = path or default_path(engine, revision)
    if target.exists():
        raise BadInput(f"{target} already exists.", hint="Name a new file, or leave PATH out.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        database = sqlite_path(engine.url)
        if database is not None:
            backup_sqlite.dump(database, partial)
        else:
            backup_postgres.dump(engine.url, partial)
        backup = inspect_backup(partial)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    if backup.revision != revision:
        raise BackupError(f"the backup {target} reads revision {backup.revision}, not {revision}")
    if prune_old:
        prune(target.parent)
    return Backup(target, backup.dialect, revision, backup.created_at, backup.size_bytes)


def inspect_backup(path: Path) -> Backup:
    """Read a backup file through to the end; raise BadInput unless it is a Governor backup."""
    if not path.is_file():
        raise NotFound(f"Backup file {path} does not exist.", hint="Check the path.")
    if backup_sqlite.is_sqlite_file(path):
        dialect, revision = "sqlite", backup_sqlite.read_revision(path)
    elif backup_postgres.is_pg_dump(path):
        dialect, revision = "postgresql", backup_postgres.read_revision(path)
    else:
        raise BadInput(
            f"{path} is not a Governor backup (neither a SQLite file nor a pg_dump archive).",
            hint="Restore a file written by `governor db backup` or `governor db upgrade`.",
        )
    stat = path.stat()
    return Backup(path, dialect, revision, datetime.fromtimestamp(stat.st_mtime, UTC), stat.st_size)


def list_backups(backup_dir: Path | None = None) -> list[Path]:
    """Governor's backup files in the folder, oldest first (their names sort by time)."""
    folder = backup_dir or get_settings().backup_dir
    return sorted(
        p for p in folder.glob(f"{PREFIX}*") if p.suffix in SUFFIX.values() and p.is_file()
    )


def prune(backup_dir: Path) -> list[Path]:
    """Delete the oldest backups beyond the retention setting; return what was deleted."""
    keep = get_settings().backup_keep
    doomed = list_backups(backup_dir)[:-keep]
    for path in doomed:
        path.unlink()
    return doomed


def load_backup(engine: Engine, backup: Backup) -> None:
    """Make the database exactly what the backup holds (no safety copy: see restore_backup)."""
    if backup.dialect != _dialect(engine):
        raise BadInput(
            f"{backup.path} is a {backup.dialect} backup but GOVERNOR_DATABASE_URL points at "
            f"{_dialect(engine)}.",
            hint=f"Restore it into a {backup.dialect} database.",
        )
    dispose_engines()
    engine.dispose()
    database = sqlite_path(engine.url)
    if database is not None:
        backup_sqlite.load(backup.path, database)
    else:
        backup_postgres.load(backup.path, engine.url)


@dataclass(frozen=True)
class Restored:
    """What a restore did: the backup it loaded and the copy it took of what was there."""

    backup: Backup
    previous: Backup | None


def restore_backup(engine: Engine, path: Path) -> Restored:
    """Verify a backup, save the current database, then replace it with the backup."""
    backup = inspect_backup(path)
    if backup.revision is not None and not revisions.is_known(backup.revision):
        raise BadInput(
            f"{path} comes from a newer schema (revision {backup.revision}); this Governor "
            f"knows revisions up to {revisions.head()}.",
            hint="Restore it with the Governor version that wrote it.",
        )
    previous = _safety_copy(engine)
    load_backup(engine, backup)
    if previous is not None:  # only now: pruning first could delete the backup being restored
        prune(previous.path.parent)
    return Restored(backup, previous)


def governor_revision(engine: Engine) -> str | None:
    """The database's migration revision; None when it (or its SQLite file) has none."""
    database = sqlite_path(engine.url)
    if database is not None and not database.exists():
        return None
    with connect(engine, readonly=True) as connection:
        return revisions.current(connection)


def _safety_copy(engine: Engine) -> Backup | None:
    if governor_revision(engine) is None:
        return None
    return create_backup(engine, prune_old=False)
