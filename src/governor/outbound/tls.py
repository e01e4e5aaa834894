"""One TLS context per process: building one loads the CA bundle (~0.1 s per httpx client)."""

import ssl
from functools import lru_cache

import certifi


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """Verifying TLS context with certifi's CA bundle, as httpx builds by default."""
    return ssl.create_default_context(cafile=certifi.where())
