"""Upgrade and downgrade the database: back up first, and put it back if a migration fails."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy.engine import Engine

from governor.errors import BadInput, MigrationFailed
from governor.storage import revisions
from governor.storage.backup import Backup, create_backup, governor_revision, load_backup
from governor.storage.db import connect

Direction = Literal["upgrade", "downgrade"]


@dataclass
class MigrationResult:
    """What an upgrade or downgrade did."""

    direction: Direction
    before: str | None
    after: str | None
    backup: Backup | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "direction": self.direction,
            "before": self.before,
            "after": self.after,
            "backup": self.backup.to_dict() if self.backup else None,
        }


def _resolve(target: str, locations: tuple[Path, ...]) -> str | None:
    """The revision a target names (None for base); BadInput if the code does not know it."""
    if target == "base":
        return None
    if target in ("head", "heads"):
        return revisions.head(locations)
    try:
        found = revisions.script_directory(locations).get_revision(target)
    except CommandError as error:
        raise BadInput(
            f"Unknown revision '{target}': {error}",
            hint="`governor db history` lists the revisions.",
        ) from None
    if found is None:
        raise BadInput(f"Unknown revision '{target}'.", hint="`governor db history` lists them.")
    return found.revision


def _check_direction(direction: Direction, before: str | None, target: str | None,
                     locations: tuple[Path, ...]) -> None:  # fmt: skip
    if before is not None and not revisions.is_known(before, locations):
        raise BadInput(
            f"The database is at revision {before}, which this Governor does not know: "
            "a newer Governor migrated it.",
            hint="Run the Governor that wrote it, or restore an older backup.",
        )
    script = revisions.script_directory(locations)
    lower, upper = (before, target) if direction == "upgrade" else (target, before)
    if upper is None:
        ok = lower is None
    else:
        ancestors = {s.revision for s in script.iterate_revisions(upper, "base")}
        ok = lower is None or lower in ancestors
    if not ok:
        raise BadInput(
            f"Cannot {direction} from {before or 'an empty database'} to {target or 'base'}.",
            hint="Use `governor db upgrade` to go forward and `db downgrade REV` to go back.",
        )


def migrate(
    engine: Engine,
    direction: Direction,
    target: str,
    *,
    backup: bool = True,
    extra_version_locations: Sequence[Path] = (),
) -> MigrationResult:
    """Move the database to `target`; on failure restore the backup taken just before."""
    locations = tuple(extra_version_locations)
    before = governor_revision(engine)
    wanted = _resolve(target, locations)
    _check_direction(direction, before, wanted, locations)
    result = MigrationResult(direction, before, before)
    if wanted == before:
        return result
    if backup and before is not None:
        result.backup = create_backup(engine)
    try:
        with connect(engine) as connection:
            config = revisions.alembic_config(connection, locations)
            getattr(command, direction)(config, wanted or "base")
    except Exception as error:
        reached = governor_revision(engine)
        if result.backup is None:
            raise MigrationFailed(
                f"The {direction} failed at revision {reached}: {error}",
                hint="No backup was taken; fix the cause and run the command again.",
            ) from error
        load_backup(engine, result.backup)
        raise MigrationFailed(
            f"The {direction} failed after reaching revision {reached}: {error}. The database "
            f"was restored from {result.backup.path} and is back at revision {before}.",
            hint="Fix the cause, then run the command again.",
        ) from error
    result.after = governor_revision(engine)
    return result
