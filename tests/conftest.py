"""Fixtures: every storage test runs on SQLite and on a real PostgreSQL started for the session."""

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from governor.cli.main import app
from governor.config import get_settings
from governor.storage.db import create_engine, dispose_engines, get_engine
from governor.storage.migrate import migrate
from tests.support.postgres import AheadCopies, PostgresServer, find_bin_dir
from tests.support.redis import RedisServer, find_redis

TEMPLATE = "governor_template"
REQUIRE_SERVICES = os.environ.get("GOVERNOR_TEST_REQUIRE_SERVICES") == "1"


def missing_service(reason: str) -> None:
    """Skip with the reason, or fail where CI demands every service to be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (required: GOVERNOR_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        missing_service("PostgreSQL binaries not found: run scripts/install-services")
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    binary = find_redis()
    if binary is None:
        missing_service("redis-server not found: run scripts/install-services")
    server = RedisServer(binary)
    yield server
    server.stop()


@pytest.fixture
def broker_url(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty Redis, configured as the Celery broker."""
    redis_server.flush()
    url = redis_server.url()
    monkeypatch.setenv("GOVERNOR_BROKER_URL", url)
    get_settings.cache_clear()
    return url


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test in its own folder, with settings read afresh and no pooled connections left."""
    for name in list(os.environ):
        if name.startswith("GOVERNOR_") and name != "GOVERNOR_TEST_REQUIRE_SERVICES":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVERNOR_BACKUP_DIR", str(tmp_path / "backups"))
    # A scheduled audit plants faults in scratch databases: only the tests about it run one.
    monkeypatch.setenv("GOVERNOR_AUDIT_EVERY", "off")
    get_settings.cache_clear()
    yield
    dispose_engines()
    get_settings.cache_clear()


Configure = Callable[..., None]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Configure:
    """Set GOVERNOR_<NAME> for each keyword argument and re-read the settings."""

    def apply(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"GOVERNOR_{name.upper()}", str(value))
        get_settings.cache_clear()

    return apply


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """An empty database of each kind, configured as GOVERNOR_DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'governor.db'}"
        name = None
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        # A test that asks for a migrated database gets a copy of the session's template,
        # made ahead of it; the others an empty database.
        copies: AheadCopies | None = None
        if "migrated" in request.fixturenames:
            copies = request.getfixturevalue("postgres_copies")
            name = copies.take()
            url = server.url(name)
        else:
            name = f"t_{uuid.uuid4().hex[:12]}"
            url = server.create_database(name)
        monkeypatch.setenv("GOVERNOR_PG_BIN_DIR", str(server.bin_dir))
    monkeypatch.setenv("GOVERNOR_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    if name is not None:
        dispose_engines()
        if copies is not None:
            copies.give_back(name)
        else:
            server.drop_database(name)


@pytest.fixture
def engine(database_url: str) -> Engine:
    return get_engine()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at the head revision, built once by running the migrations."""
    path = tmp_path_factory.mktemp("template") / "governor.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine, "upgrade", "head", backup=False)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A PostgreSQL database at the head revision, built once by running the migrations."""
    engine = create_engine(postgres_server.create_database(TEMPLATE))
    migrate(engine, "upgrade", "head", backup=False)
    engine.dispose()  # CREATE DATABASE … TEMPLATE needs the template without connections
    return TEMPLATE


@pytest.fixture(scope="session")
def postgres_copies(
    postgres_server: PostgresServer, postgres_template: str
) -> Iterator[AheadCopies]:
    """Copies of the template, made ahead of the tests that take them."""
    copies = AheadCopies(postgres_server, postgres_template)
    yield copies
    copies.stop()


@pytest.fixture
def migrated(request: pytest.FixtureRequest, engine: Engine) -> Engine:
    """The database at the head revision: a copy of one the migrations built for the session
    (the migrations themselves are tested in tests/storage/test_migrations.py)."""
    if engine.dialect.name == "sqlite":  # PostgreSQL's was made from the template already
        template: Path = request.getfixturevalue("sqlite_template")
        with sqlite3.connect(template) as source, sqlite3.connect(str(engine.url.database)) as copy:
            source.backup(copy)
    return engine


class Cli:
    """Runs `governor …` in-process, as a user would type it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str):  # type: ignore[no-untyped-def]
        get_settings.cache_clear()
        return self.runner.invoke(app, list(args))


@pytest.fixture
def cli() -> Cli:
    return Cli()
