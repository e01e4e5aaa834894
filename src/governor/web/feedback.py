"""The customer's feedback page `/f/{token}` (public, no sign-in) and the feedback API.

The page shows the offer's title and one question, nothing else of the business. Its form is
protected by a double-submit CSRF token: a random value in a signed cookie scoped to the link's
path and in the form, which must match (the link's token alone would not do: anyone who has
the link could be made to post it). Posts are limited per client address and per link like
failed sign-ins (auth/ratelimit.py), every post counting, so a link cannot be flooded.
"""

import hmac
import math
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadData, URLSafeTimedSerializer

from governor import __version__
from governor.analytics.filters import MAX_LIMIT, MAX_OFFSET
from governor.auth.ratelimit import LoginLimiter
from governor.auth.secret import signing_key
from governor.config import Settings, get_settings
from governor.errors import GovernorError, RateLimited
from governor.offers import feedback, feedback_summary
from governor.storage.db import session_scope
from governor.web.templating import templates

FORM_COOKIE = "governor_feedback"
FORM_MAX_AGE = 24 * 3600  # a form left open for a day must be reloaded
POSTS = 5  # posts per address and per link in WINDOW
WINDOW = 15 * 60.0
LIMITER = "feedback_limiter"

page_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"])


def install(app: FastAPI, settings: Settings) -> None:
    """Add the page and the API to the app, with the page's own post limits."""
    app.state.feedback_limiter = LoginLimiter(max_failures=POSTS, window=WINDOW)
    app.state.feedback_forms = URLSafeTimedSerializer(signing_key(settings),
                                                      salt="governor.feedback-form")  # fmt: skip
    app.include_router(page_router)
    app.include_router(api_router)


def _page(request: Request, status: int = 200, **page: Any) -> Response:
    body = {"version": __version__, "title": None, "error": None, "thanks": None, **page}
    return templates.TemplateResponse(request, "feedback.html", body, status_code=status)


def _refusal(request: Request, error: GovernorError, **headers: str) -> Response:
    response = _page(request, error.http_status, error=error)
    response.headers.update(headers)
    return response


def _form(request: Request, token: str, order_id: str, *, status: int = 200,
          problem: str | None = None) -> Response:  # fmt: skip
    """The question, with a fresh CSRF value in the form and in the link's cookie."""
    csrf = secrets.token_urlsafe(32)
    with session_scope(readonly=True) as session:
        title = feedback.offer_title(session, order_id)
        answered = feedback.has_feedback(session, order_id)
    response = _page(request, status, title=title, csrf=csrf, answered=answered,
                     problem=problem, action=_path(request, token))  # fmt: skip
    response.set_cookie(FORM_COOKIE, request.app.state.feedback_forms.dumps(csrf),
                        max_age=FORM_MAX_AGE, path=_path(request, token), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")  # fmt: skip
    return response


def _key() -> str:
    return signing_key(get_settings())


def _path(request: Request, token: str) -> str:
    return f"{request.scope.get('root_path', '')}/f/{token}"


@page_router.get("/f/{token}", response_class=HTMLResponse)
def feedback_form(request: Request, token: str) -> Response:
    """The one-question page of a feedback link."""
    try:
        return _form(request, token, feedback.read_token(_key(), token))
    except GovernorError as error:
        return _refusal(request, error)


@page_router.post("/f/{token}", response_class=HTMLResponse)
def feedback_post(
    request: Request,
    token: str,
    rating: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Store the answer (replacing an earlier one) and thank the customer."""
    limiter: LoginLimiter = request.app.state.feedback_limiter
    ip = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(ip=ip, name=token)
    if wait > 0:
        seconds = math.ceil(wait)
        error = RateLimited("Too many answers were sent from here or for this link.",
                            hint=f"Try again in {math.ceil(seconds / 60)} minute(s).")  # fmt: skip
        return _refusal(request, error, **{"Retry-After": str(seconds)})
    limiter.failed(ip=ip, name=token)  # every post counts, not only failed ones
    try:
        order_id = feedback.read_token(_key(), token)
        if not _csrf_matches(request, csrf_token):
            again = "This form expired or was opened elsewhere. Please send your answer again."
            return _form(request, token, order_id, status=403, problem=again)
        if rating not in ("1", "2", "3", "4", "5"):
            return _form(request, token, order_id, status=400,
                         problem="Please pick a rating from 1 to 5.")  # fmt: skip
        if len(text) > feedback.MAX_TEXT:
            return _form(request, token, order_id, status=400, problem=f"Please shorten your text "
                         f"to {feedback.MAX_TEXT} characters.")  # fmt: skip
        with session_scope() as session:
            done = feedback.record(session, get_settings(), order_id=order_id,
                                   rating=int(rating), text=text, source="link")  # fmt: skip
            outcome, title = done.outcome, feedback.offer_title(session, order_id)
    except GovernorError as error:
        return _refusal(request, error)
    response = _page(request, title=title, thanks=outcome)
    response.delete_cookie(FORM_COOKIE, path=_path(request, token))
    return response


def _csrf_matches(request: Request, sent: str) -> bool:
    """Whether the form's CSRF value is the one in this link's signed cookie."""
    cookie = request.cookies.get(FORM_COOKIE)
    if not cookie or not sent:
        return False
    try:
        expected = request.app.state.feedback_forms.loads(cookie, max_age=FORM_MAX_AGE)
    except BadData:
        return False
    return isinstance(expected, str) and hmac.compare_digest(sent.encode(), expected.encode())


@api_router.post("/feedback", response_model=list[feedback.ImportedOut])
def import_feedback(batch: feedback.FeedbackImport) -> list[feedback.ImportedOut]:
    """Import customers' answers given elsewhere: all or none; again with the same: no change.

    Per order the newest answer (by created_at) is kept; a low rating or a text naming a
    problem becomes a finding.
    """
    with session_scope() as session:
        return feedback.import_feedback(session, get_settings(), batch)


@api_router.get("/feedback", response_model=list[feedback.FeedbackOut])
def list_feedback(
    offer_id: str | None = None,
    rating: Annotated[int | None, Query(ge=1, le=5)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[feedback.FeedbackOut]:
    """Customers' feedback, newest first (one offer's with offer_id, one rating's with rating)."""
    with session_scope(readonly=True) as session:
        rows = feedback.list_feedback(session, offer_id=offer_id, rating=rating, limit=limit,
                                      offset=offset)  # fmt: skip
        return [feedback.FeedbackOut.model_validate(row) for row in rows]


@api_router.get("/feedback/offers", response_model=list[feedback_summary.OfferFeedback])
def feedback_per_offer(offer_id: str | None = None) -> list[feedback_summary.OfferFeedback]:
    """Per offer: fulfilled orders, answers, response rate and mean rating."""
    with session_scope(readonly=True) as session:
        return feedback_summary.per_offer(session, offer_id=offer_id)
