"""Browser defences on every response (CSP, no framing, referrer, nosniff), and a refusal of
changes a browser sends from another site."""

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from governor.web.auth import UNSAFE_METHODS

# The pages load their scripts from /static only: no inline script runs. Styles may be inline
# because plotly injects its own <style> rules at run time (and the waterfall positions its
# bars with style attributes); the browser test records any refusal by this policy.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")  # fmt: skip
# FastAPI's Swagger UI (/api/docs) loads from its CDN and starts with an inline script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: "
            "https://fastapi.tiangolo.com; object-src 'none'; frame-ancestors 'none'")  # fmt: skip
HEADERS = {"x-frame-options": "DENY", "referrer-policy": "same-origin",
           "x-content-type-options": "nosniff"}  # fmt: skip
# As ASGI header pairs, built once: every answer of the app passes through here.
_PAIRS = {policy: [(name.encode(), value.encode()) for name, value in
                   {**HEADERS, "content-security-policy": policy}.items()]
          for policy in (CSP, DOCS_CSP)}  # fmt: skip
NO_ORIGIN_CHECK = frozenset({"/webhooks/stripe"})  # Stripe signs its posts and sends no Origin
CROSS_SITE = ("cross-site", "same-site")  # Sec-Fetch-Site values of another site's page


class SecurityHeaders:
    """ASGI middleware: the headers above on every answer; a browser's change from another site
    (by Origin or Sec-Fetch-Site) is refused with 403 before it reaches sign-in or CSRF, and an
    address holding a NUL character with 400 before it reaches a query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CSP if scope["path"].startswith("/api/docs") else CSP

        pairs = _PAIRS[policy]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [p for p in pairs if p[0] not in present]
            await send(message)

        refused = unusable_url(scope) or cross_site_change(scope)
        if refused is not None:
            status, error, message, hint = refused
            body = json.dumps({"error": error, "message": message, "hint": hint}).encode()
            length = str(len(body)).encode()
            start = {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", length)],
            }
            await with_headers(start)
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, with_headers)


Refusal = tuple[int, str, str, str]  # status, error kind, message, hint


def unusable_url(scope: Scope) -> Refusal | None:
    """A NUL character in the path or query: no database column can hold one, so it is a 400."""
    query = scope.get("query_string", b"")  # still %-encoded: a NUL is %00 or itself
    if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
        return (400, "BadInput", "The address holds a NUL character (%00), which no name, id "
                "or filter contains.", "Remove the %00 from the address.")  # fmt: skip
    return None


def cross_site_change(scope: Scope) -> Refusal | None:
    """Why a change sent by a browser from another site is refused (None: not such a change).

    Requests with an Authorization header are scripts' (browsers never add one on their own);
    requests without Origin or Sec-Fetch-Site come from non-browsers and still need the CSRF
    token of a session cookie.
    """
    if scope.get("method") not in UNSAFE_METHODS or scope["path"] in NO_ORIGIN_CHECK:
        return None
    headers = Headers(scope=scope)
    if "authorization" in headers:
        return None
    site = headers.get("sec-fetch-site")
    if site in CROSS_SITE:
        why = f"This change came from another site (Sec-Fetch-Site: {site}), so it was refused."
    elif (origin := headers.get("origin")) is not None and (
        urlsplit(origin).netloc.lower() != headers.get("host", "").lower()
    ):
        why = f"This change came from another origin ({origin[:100]}), so it was refused."
    else:
        return None
    hint = "Make the change from Governor's own pages, or send Authorization: Bearer <token>."
    return (403, "CrossSiteRequest", why, hint)
