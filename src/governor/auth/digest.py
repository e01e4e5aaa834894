"""SHA-256 of a long random secret: all that is stored of API tokens and session secrets."""

import hashlib


def digest(secret: str) -> str:
    """The hex SHA-256 of a secret (enough for 240 random bits; a slow hash would buy nothing)."""
    return hashlib.sha256(secret.encode()).hexdigest()
