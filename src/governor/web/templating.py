"""The Jinja2 templates every page renders with, and the filters they share."""

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# web/auth.py renders with `templates`, so these import it only when a page calls them.


@pass_context
def _csrf_token(context: Context) -> str:
    """`{{ csrf_token() }}`: the token a form that posts must carry (see web/auth.py)."""
    from governor.web.auth import csrf_token

    request = context.get("request")
    return csrf_token(request) if request is not None else ""


@pass_context
def _current_user(context: Context) -> object:
    """`{{ current_user() }}`: who is signed in (id, name, via_token), or None."""
    from governor.web.auth import current_user

    request = context.get("request")
    return current_user(request) if request is not None else None


templates.env.globals["csrf_token"] = _csrf_token
templates.env.globals["current_user"] = _current_user
