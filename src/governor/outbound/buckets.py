"""Where the tokens live so that every process sees them: SQLite file, PostgreSQL or Redis."""

import zlib
from pathlib import Path
from typing import Protocol

from pyrate_limiter import AbstractBucket, PostgresBucket, Rate, SQLiteBucket
from sqlalchemy.engine import make_url

from governor.config import Settings
from governor.errors import ConfigError

POSTGRES_SCHEMA = "governor_outbound"


def table_name(host: str) -> str:
    """A safe, short and unique table (or key) name for a host's bucket."""
    slug = "".join(char if char.isalnum() else "_" for char in host.lower())[:40]
    return f"outbound_{slug}_{zlib.crc32(host.encode()):08x}"


class BucketStore(Protocol):
    """Makes the shared bucket of one host and releases what it holds."""

    def bucket(self, host: str, rates: list[Rate]) -> AbstractBucket: ...

    def close(self) -> None: ...


class SQLiteStore:
    """Buckets in a SQLite file next to the database, guarded by a file lock across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def bucket(self, host: str, rates: list[Rate]) -> AbstractBucket:
        """A SQLiteBucket (WAL, file lock) in its own table."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteBucket.init_from_file(
            rates, table=table_name(host), db_path=str(self.path), use_file_lock=True
        )

    def close(self) -> None:
        """Nothing shared to close: each bucket closes its own connection."""


class PostgresStore:
    """Buckets as tables in their own schema of Governor's PostgreSQL database, one small pool.

    The schema keeps the tables out of the schema guard's comparison with the models.
    """

    def __init__(self, conninfo: str) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        with psycopg.connect(conninfo) as conn:  # one transaction: concurrent creators queue
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(POSTGRES_SCHEMA.encode()),)
            )
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {POSTGRES_SCHEMA}")
        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=4,
            kwargs={"options": f"-c search_path={POSTGRES_SCHEMA}"},
            open=True,
        )

    def bucket(self, host: str, rates: list[Rate]) -> AbstractBucket:
        """A PostgresBucket (exclusive table lock per put) in its own table."""
        return PostgresBucket(self.pool, table_name(host), rates)

    def close(self) -> None:
        """Close the pool (the buckets share it)."""
        self.pool.close()


class RedisStore:
    """Buckets in the Celery broker's Redis, for deployments with Celery workers."""

    def __init__(self, url: str) -> None:
        try:
            from redis import Redis
        except ImportError:
            raise ConfigError(
                "GOVERNOR_EXECUTOR=celery keeps outbound rate limits in Redis, "
                "but the redis package is not installed.",
                hint="Install Governor with its celery extra (pip install redis).",
            ) from None
        self.redis = Redis.from_url(url)

    def bucket(self, host: str, rates: list[Rate]) -> AbstractBucket:
        """A RedisBucket under the key governor:<table name>."""
        from pyrate_limiter import RedisBucket

        bucket = RedisBucket.init(rates, self.redis, f"governor:{table_name(host)}")
        assert isinstance(bucket, AbstractBucket)
        return bucket

    def close(self) -> None:
        """Close the Redis connection pool."""
        self.redis.close()


def sqlite_limits_path(database_url: str) -> Path:
    """The limits file next to a SQLite database: governor.db → governor-outbound-limits.db."""
    database = Path(make_url(database_url).database or "governor.db")
    return database.with_name(f"{database.stem}-outbound-limits.db")


def open_store(settings: Settings) -> BucketStore:
    """The store every process of this deployment shares, chosen from the settings."""
    if settings.executor == "celery":
        return RedisStore(settings.broker_url)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return SQLiteStore(sqlite_limits_path(settings.database_url))
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresStore(conninfo)
