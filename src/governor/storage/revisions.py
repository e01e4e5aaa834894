"""The migration stream as data: Alembic's config, the head, a database's revision, history."""

import ast
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util.exc import CommandError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s"


def alembic_config(
    connection: sa.Connection | None = None, extra_version_locations: Sequence[Path] = ()
) -> Config:
    """Alembic's configuration, built in code: no alembic.ini to ship or to lose."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [MIGRATIONS_DIR / "versions", *extra_version_locations]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=8)
def script_directory(extra_version_locations: tuple[Path, ...] = ()) -> ScriptDirectory:
    """The parsed migration files (cached: they do not change while Governor runs)."""
    return ScriptDirectory.from_config(alembic_config(None, extra_version_locations))


def head(extra_version_locations: tuple[Path, ...] = ()) -> str:
    """The newest revision the code knows."""
    heads = script_directory(extra_version_locations).get_heads()
    assert len(heads) == 1, f"the migration stream must have one head, found {heads}"
    return heads[0]


def is_known(revision: str, extra_version_locations: tuple[Path, ...] = ()) -> bool:
    """Whether this code's migrations include the revision."""
    try:
        return script_directory(extra_version_locations).get_revision(revision) is not None
    except CommandError:
        return False


def current(connection: sa.Connection) -> str | None:
    """The revision recorded in the database, or None when it has no Governor schema."""
    return MigrationContext.configure(connection).get_current_revision()


def pending(revision: str | None) -> list[str]:
    """The revisions an upgrade from `revision` to head would apply, oldest first."""
    scripts = script_directory().iterate_revisions(head(), revision or "base")
    return [s.revision for s in reversed(list(scripts)) if s.revision != revision]


@dataclass(frozen=True)
class Migration:
    """One migration file of the stream."""

    revision: str
    down_revision: str | None
    message: str
    path: str

    @classmethod
    def from_script(cls, script: Script) -> "Migration":
        down = script.down_revision
        return cls(
            revision=script.revision,
            down_revision=down if isinstance(down, str) or down is None else ",".join(down),
            message=" ".join(script.doc.split("\n\n")[0].split()) if script.doc else "",
            path=Path(script.path).name,
        )


def migration(revision: str) -> Migration:
    """One migration of the stream, by its revision."""
    script = script_directory().get_revision(revision)
    assert script is not None, f"unknown revision {revision}"
    return Migration.from_script(script)


def history() -> list[Migration]:
    """Every migration, oldest first."""
    scripts = script_directory().walk_revisions("base", "heads")
    return [Migration.from_script(s) for s in reversed(list(scripts))]


@dataclass(frozen=True)
class Adds:
    """The tables a migration creates and the columns it adds to existing tables."""

    tables: list[str]
    columns: list[str]

    def __str__(self) -> str:
        parts = [f"{noun} {', '.join(names)}" for noun, names in
                 (("tables", self.tables), ("columns", self.columns)) if names]  # fmt: skip
        return f"adds {'; '.join(parts)}" if parts else "changes no tables or columns"


def _name(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(node: ast.AST, method: str) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "attr", None) == method


@lru_cache(maxsize=64)
def adds(revision: str) -> Adds:
    """What a migration's upgrade() adds, read from its source (its operations are not run)."""
    script = script_directory().get_revision(revision)
    assert script is not None and script.path is not None
    tree = ast.parse(Path(script.path).read_text(encoding="utf-8"))
    found = Adds([], [])

    def visit(node: ast.AST, table: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = table
            if isinstance(child, ast.With):
                batch = [i.context_expr for i in child.items
                         if _called(i.context_expr, "batch_alter_table")]  # fmt: skip
                inner = _name(batch[0].args[0]) if batch else table  # type: ignore[attr-defined]
            elif _called(child, "create_table") and child.args:  # type: ignore[attr-defined]
                found.tables.append(_name(child.args[0]) or "?")  # type: ignore[attr-defined]
            elif _called(child, "add_column"):
                args = child.args  # type: ignore[attr-defined]
                owner = _name(args[0]) if len(args) > 1 else table
                column = args[-1].args[0] if _called(args[-1], "Column") else None
                found.columns.append(f"{owner}.{_name(column) if column else '?'}")
            visit(child, inner)

    for function in tree.body:
        if isinstance(function, ast.FunctionDef) and function.name == "upgrade":
            visit(function, None)
    return found
