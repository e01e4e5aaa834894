"""Stripe-shaped API errors: the exception the routes raise and the JSON body it becomes."""

from typing import Any

DOCS = "https://stripe.com/docs/error-codes/"


class ApiError(Exception):
    """An error answered as `{"error": {...}}` with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The error body as Stripe sends it."""
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = DOCS + self.code.replace("_", "-")
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def missing(object_name: str, object_id: str, param: str = "id", status: int = 404) -> ApiError:
    """`No such charge: 'ch_…'` (resource_missing)."""
    return ApiError(
        status, f"No such {object_name}: '{object_id}'", code="resource_missing", param=param
    )


def unauthorized(message: str) -> ApiError:
    """A 401 for a missing or malformed API key."""
    return ApiError(401, message)


def invalid(message: str, param: str | None = None) -> ApiError:
    """A 400 for a bad parameter."""
    return ApiError(400, message, code="parameter_invalid" if param else None, param=param)


def injected(status: int, retry_after: int) -> ApiError:
    """The failure `fail_next` asked for: a rate limit for 429, an api_error otherwise."""
    if status == 429:
        return ApiError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code="rate_limit",
            headers={"Retry-After": str(retry_after)},
        )
    return ApiError(
        status,
        "An unknown error occurred",
        type="api_error",
        headers={"Retry-After": str(retry_after)},
    )
