"""The errors a user can cause: each says what is wrong, what to do, and how to exit."""


class GovernorError(Exception):
    """A failure the user can act on; never shown with a traceback unless --debug."""

    exit_code = 2
    http_status = 400

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, str | None]:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class ConfigError(GovernorError):
    """A setting is missing, malformed or unsafe."""

    http_status = 500


class BadInput(GovernorError):
    """An argument, file or request body that cannot be used as given."""


class NotFound(GovernorError):
    """A named thing (a file, a task, a report) does not exist."""

    http_status = 404


class PayloadTooLarge(BadInput):
    """A request body larger than the setting that caps it."""

    http_status = 413


class LinkInvalid(BadInput):
    """A signed link (a feedback link) that was altered, cut short or signed with another key."""

    http_status = 404


class LinkExpired(BadInput):
    """A signed link whose validity ended."""

    http_status = 410


class RateLimited(GovernorError):
    """Too many requests from one client or for one thing in a short time."""

    http_status = 429


class DatabaseUnreachable(GovernorError):
    """The database cannot be connected to."""

    http_status = 503


class DatabaseUnwritable(GovernorError):
    """The database answers but refuses writes: a read-only file, a full disk, a standby server."""

    http_status = 503


class SchemaDrift(GovernorError):
    """The database schema differs from the code's; data commands refuse to run."""

    exit_code = 1
    http_status = 503


class BackupError(GovernorError):
    """A backup could not be written, read, verified or restored."""

    http_status = 500


class MigrationFailed(GovernorError):
    """A migration failed; the database was put back as it was before."""

    exit_code = 1
    http_status = 500
