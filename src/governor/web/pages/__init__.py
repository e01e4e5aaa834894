"""The dashboard's pages: one router per area, and the static files they use (plotly included)."""

import gzip
import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from governor.web.pages import (
    alerts,
    audits,
    business,
    costs,
    feedback_list,
    fulfilment,
    funnel,
    live,
    overview,
    revenue,
    tasks,
)

STATIC = Path(__file__).parent.parent / "static"
PLOTLY_URL = "/static/vendor/plotly.min.js"

router = APIRouter()
for _area in (overview, revenue, business, funnel, fulfilment, feedback_list, costs, tasks,
              alerts, audits, live):  # fmt: skip
    router.include_router(_area.router)


@lru_cache(maxsize=1)
def _plotly() -> tuple[bytes, bytes, str]:
    """plotly.min.js as the installed `plotly` package ships it: plain, gzipped, and its ETag."""
    body = resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    return body, gzip.compress(body, compresslevel=6), hashlib.sha256(body).hexdigest()[:20]


def plotly_js(request: Request) -> Response:
    """The charting library, cached by the browser and gzipped when it accepts that."""
    body, zipped, etag = _plotly()
    headers = {"ETag": f'"{etag}"', "Cache-Control": "public, max-age=86400",
               "Vary": "Accept-Encoding"}  # fmt: skip
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = zipped
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


def mount_static(app: FastAPI) -> None:
    """Serve /static (the pages' CSS and JS) and plotly from the installed package."""
    app.add_api_route(PLOTLY_URL, plotly_js, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


__all__ = ["PLOTLY_URL", "mount_static", "router"]
