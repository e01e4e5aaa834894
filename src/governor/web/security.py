"""Browser defences on every response (CSP, no framing, referrer, nosniff), and a refusal of
changes a browser sends from another site."""

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
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
NO_ORIGIN_CHECK = frozenset({"/webhooks/stripe"})  # Stripe signs its posts and sends no Origin
CROSS_SITE = ("cross-site", "same-site")  # Sec-Fetch-Site values of another site's page


class SecurityHeaders:
    """ASGI middleware: the headers above on every answer; a browser's change from another site
    (by Origin or Sec-Fetch-Site) is refused with 403 before it reaches sign-in or CSRF."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CSP if scope["path"].startswith("/api/docs") else CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**HEADERS, "content-security-policy": policy}.items():
                    headers.setdefault(name, value)
            await send(message)

        refusal = cross_site_change(scope)
        if refusal is not None:
            hint = (
                "Make the change from Governor's own pages, or send "
                "Authorization: Bearer <token> from a script."
            )
            body = json.dumps({"error": "CrossSiteRequest", "message": refusal,
                               "hint": hint}).encode()  # fmt: skip
            length = str(len(body)).encode()
            start = {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", length)],
            }
            await with_headers(start)
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, with_headers)


def cross_site_change(scope: Scope) -> str | None:
    """Why a change sent by a browser from another site is refused (None: not such a change).

    Requests with an Authorization header are scripts' (browsers never add one on their own);
    requests without Origin or Sec-Fetch-Site come from non-browsers and still need the CSRF
    token of a session cookie.
    """
    headers = Headers(scope=scope)
    if scope.get("method") not in UNSAFE_METHODS or "authorization" in headers:
        return None
    if scope["path"] in NO_ORIGIN_CHECK:
        return None
    site = headers.get("sec-fetch-site")
    if site in CROSS_SITE:
        return f"This change came from another site (Sec-Fetch-Site: {site}), so it was refused."
    origin = headers.get("origin")
    if origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
        return f"This change came from another origin ({origin[:100]}), so it was refused."
    return None
