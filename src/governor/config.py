"""Settings: the one place configuration is read (environment prefix GOVERNOR_, optional .env)."""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from governor.errors import ConfigError

SUPPORTED_DATABASES = "sqlite:///path/to/governor.db or postgresql://user@host:5432/dbname"


def normalize_database_url(raw: str) -> str:
    """Check a database URL and name its driver (psycopg 3 for PostgreSQL); raise ConfigError."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ConfigError(
            "GOVERNOR_DATABASE_URL is not a database URL.",
            hint=f"Use {SUPPORTED_DATABASES}.",
        ) from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ConfigError(
                "GOVERNOR_DATABASE_URL names an in-memory SQLite database, which "
                "loses everything when Governor stops.",
                hint="Give a file path, e.g. sqlite:///var/governor.db.",
            )
        url = url.set(drivername="sqlite")
    else:
        raise ConfigError(
            f"GOVERNOR_DATABASE_URL uses '{url.drivername}', which Governor does not support.",
            hint=f"Use {SUPPORTED_DATABASES}.",
        )
    return url.render_as_string(hide_password=False)


class Settings(BaseSettings):
    """Governor's configuration; every field is read from GOVERNOR_<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="GOVERNOR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        "sqlite:///var/governor.db",
        description="SQLAlchemy URL of the database; SQLite file by default, or PostgreSQL.",
    )
    backup_dir: Path = Field(
        Path("var/backups"), description="Where `db upgrade` and `db backup` keep backups."
    )
    backup_keep: int = Field(
        10, ge=1, description="How many backups to keep in backup_dir; older ones are deleted."
    )
    pg_bin_dir: Path | None = Field(
        None, description="Folder holding pg_dump, pg_restore and psql, if not found by itself."
    )
    host: str = Field("127.0.0.1", description="Address `governor serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `governor serve` listens on.")
    access_log: bool = Field(
        False,
        description="Log every HTTP request `serve` answers (a proxy in front usually does).",
    )
    trusted_proxies: str = Field(
        "",
        description="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto `serve` "
        "believes: IP addresses or CIDR networks, comma-separated (e.g. `127.0.0.1,10.0.0.0/8`); "
        "empty: none, so the connecting address is the client's and sign-in limits count it.",
    )
    health_cache_seconds: float = Field(
        5.0, ge=0, description="How long /healthz may reuse its last schema check."
    )
    executor: Literal["embedded", "celery"] = Field(
        "embedded", description="Where tasks run: inside `serve`, or on Celery workers."
    )
    broker_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Redis URL of the Celery broker (and limits)."
    )
    task_modules: str = Field(
        "", description="Comma-separated modules that define the agents' task handlers."
    )
    max_concurrency: int = Field(16, ge=1, description="Tasks one process runs at once.")
    lease_seconds: float = Field(
        30.0, gt=0, description="How long a claimed task stays leased without a renewal."
    )
    shutdown_grace_seconds: float = Field(
        10.0,
        ge=0,
        description="On SIGTERM, how long running tasks may finish before their leases are "
        "handed back for another process to run them at once.",
    )
    otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP collector to which task spans are also sent."
    )
    outbound_limits: str = Field(
        "",
        description="Per-host rate limits for outside calls: 'host=N/s,host2=M/m' (s, m, h).",
    )
    outbound_limit_margin: float = Field(
        0.1,
        ge=0,
        le=1,
        description="How much longer than its unit each outbound limit's window is (0.1: 10%), "
        "so that jittery arrivals never exceed a provider's count; 0 uses the limit in full.",
    )
    outbound_timeout_seconds: float = Field(30.0, gt=0, description="Timeout of one outside call.")
    outbound_max_attempts: int = Field(
        5, ge=1, description="Attempts of one outside call, retries included."
    )
    outbound_breaker_failures: int = Field(
        5, ge=1, description="Consecutive failures after which a host's circuit opens."
    )
    outbound_breaker_reset_seconds: float = Field(
        30.0, gt=0, description="How long an open circuit waits before trying the host again."
    )
    stripe_api_key: SecretStr | None = Field(
        None, description="Stripe API key; a restricted read-only key is enough (never logged)."
    )
    stripe_webhook_secrets: SecretStr = Field(
        SecretStr(""),
        description="Webhook signing secrets (whsec_…), comma-separated, several while rotating.",
    )
    webhook_max_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest body POST /webhooks/stripe reads (Stripe's events are well under "
        "1 MiB); a larger one is answered 413 and nothing is stored.",
    )
    webhook_future_tolerance_s: int = Field(
        300,
        ge=0,
        description="How far in the future a webhook's signature time may be (clock skew); a "
        "later one is refused like one older than Stripe's 300 s.",
    )
    stripe_api_base: str | None = Field(
        None, description="Another server for the Stripe SDK, e.g. the local stand-in."
    )
    reconcile_every: str = Field("1d", description="How often reconciliation runs on its own.")
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs session cookies (32+ characters); unset: a random key is "
        "kept in a file beside the backups folder.",
    )
    public_url: str | None = Field(
        None,
        description="The address customers reach Governor at, e.g. https://governor.example.com "
        "(links sent to them, such as feedback links, start with it); unset: "
        "http://<host>:<port>.",
    )
    feedback_link_days: int = Field(
        30, ge=1, le=3650, description="How long a fulfilled order's feedback link stays valid."
    )
    feedback_low_rating: int = Field(
        2,
        ge=1,
        le=5,
        description="A rating at or below this (of 1 to 5) becomes a finding, as does a text that "
        "names a problem (see offers/complaints.py).",
    )
    fulfilment_max_failures: int = Field(
        5,
        ge=1,
        le=20,
        description="Failed attempts after which a fulfilment step gives up: it is marked failed "
        "and an alert asks a person whether to refund.",
    )
    funnel_window_days: int = Field(
        7,
        ge=1,
        le=365,
        description="Days a checkout cohort is given to pay, be fulfilled and rated before the "
        "funnel counts it: entries younger than this are left out, so recent days are not "
        "undercounted.",
    )
    funnel_cache_seconds: float = Field(
        60.0,
        ge=0,
        description="How long the funnel's figures of one period are reused before they are "
        "computed again (0: every request computes them).",
    )
    funnel_peak_offers: int = Field(
        3,
        ge=1,
        description="A UTC day on which at least this many offers were created is an "
        "offer-creation peak (providers' 429s are counted apart on those days).",
    )
    reporting_currency: str = Field(
        "usd", description="Currency of the dashboard's one total across currencies."
    )
    fx_rates: str = Field(
        "",
        description="Fixed conversion rates into the reporting currency, e.g. `eur=1.08,gbp=1.27` "
        "(one unit of each is worth that many units of the reporting currency); without a rate "
        "for every currency, totals stay per currency.",
    )

    anomaly_threshold: float = Field(
        0.5, gt=0, le=1, description="Anomaly score from which a watched series' point is flagged."
    )
    monitor_every: str = Field("5m", description="How often the watched series are evaluated.")
    audit_every: str = Field(
        "1h", description="How often the audit runs on its own (`off`: only when asked)."
    )
    audit_window: str = Field("24h", description="The recent period an audit judges.")
    audit_block_severity: int = Field(
        8, ge=0, le=10, description="A failing audit at least this severe closes the gate."
    )
    audit_backup_max_age: str = Field("26h", description="Age beyond which a backup is stale.")
    audit_slow_ratio: float = Field(
        3.0,
        gt=1,
        description="A task type whose mean is this many times the others' median is a bottleneck.",
    )
    audit_growth: float = Field(
        0.5,
        gt=0,
        description="Growth of a type's p95 or cost per task over the previous "
        "window that fails the audit (0.5 = +50%).",
    )
    audit_failure_rate: float = Field(0.1, gt=0, le=1, description="Task failure rate that fails.")
    audit_retry_rate: float = Field(0.2, gt=0, le=1, description="Task retry rate that fails.")
    audit_throttled_rate: float = Field(
        0.05, gt=0, le=1, description="Share of outside calls answered 429 or retried that fails."
    )
    fsar_max_bytes: int = Field(
        1_048_576,
        gt=0,
        description="The largest FSAR report file `governor fsar import` reads, in bytes "
        "(the seed's report is 5 KB); a larger file is refused before it is read.",
    )
    alert_urls: SecretStr = Field(
        SecretStr(""),
        description="Apprise URLs that alerts are sent to, separated by commas or spaces "
        "(they hold tokens and passwords: never logged or shown).",
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # ConfigError is not a ValueError, so pydantic lets it through with its own hint.
        return normalize_database_url(value)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("http://", "https://")):
            raise ValueError(f"'{value[:100]}' is not an http:// or https:// address")
        return value.strip().rstrip("/")

    def public_base(self) -> str:
        """Where customers reach Governor: public_url, else the address `serve` binds to."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        for part in _comma_list(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"'{part}' is not an IP address or CIDR network (e.g. 10.0.0.0/8)"
                ) from None
        return value

    def proxy_networks(self) -> list[str]:
        """The trusted proxies' addresses and networks, as given."""
        return _comma_list(self.trusted_proxies)

    def webhook_secrets(self) -> list[str]:
        """The webhook signing secrets, in the order given."""
        return _comma_list(self.stripe_webhook_secrets.get_secret_value())


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        field = "_".join(str(part) for part in item["loc"]).upper()
        lines.append(f"GOVERNOR_{field}: {item['msg']}")
    return "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once per process; raise ConfigError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(
            f"Bad configuration: {_describe(error)}.",
            hint="Fix these environment variables (or .env) and try again.",
        ) from None
