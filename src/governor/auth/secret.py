"""The key that signs session cookies: GOVERNOR_SECRET_KEY, or a random key kept in a 0600 file."""

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from governor.config import Settings
from governor.errors import ConfigError

MIN_LENGTH = 32
FILE_NAME = "secret_key"


def key_file(settings: Settings) -> Path:
    """Where the generated key lives: beside the backups folder (./var/secret_key by default)."""
    return settings.backup_dir.parent / FILE_NAME


def signing_key(settings: Settings) -> str:
    """The configured secret key, else the generated one (made once, atomically, mode 0600)."""
    configured: Any = getattr(settings, "secret_key", None)
    if configured is not None:
        value = (configured.get_secret_value() if isinstance(configured, SecretStr)
                 else str(configured))  # fmt: skip
        if len(value.strip()) < MIN_LENGTH:
            raise ConfigError(
                f"GOVERNOR_SECRET_KEY is shorter than {MIN_LENGTH} characters, so session "
                "cookies signed with it could be forged.",
                hint="Set a long random value, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, or unset it "
                f"to let Governor keep a generated key in {key_file(settings)}.",
            )
        return value
    return _read_or_create(key_file(settings))


def _read_or_create(path: Path) -> str:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write a complete file under a private name, then link it into place: the link fails if
    # another process got there first (then its key wins), and no reader sees a partial key.
    draft = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key won
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    try:
        value = path.read_text(encoding="ascii").strip()
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as error:
        raise ConfigError(
            f"The session key file {path} cannot be read ({type(error).__name__}).",
            hint="Give Governor's user read access to it, or delete it to make a new one "
            "(everyone will have to sign in again), or set GOVERNOR_SECRET_KEY.",
        ) from None
    if len(value) < MIN_LENGTH:
        raise ConfigError(
            f"The session key file {path} holds no usable key (shorter than {MIN_LENGTH} "
            "characters).",
            hint="Delete the file to let Governor make a new one (everyone will have to sign "
            "in again), or set GOVERNOR_SECRET_KEY.",
        )
    return value
