"""Plotly figures as plain JSON (the browser draws them with the installed plotly.min.js)."""

from datetime import datetime
from typing import Any

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK = "#475569"
GRID = "#eef2f7"


def bars(
    name: str, x: list[datetime], y: list[float], text: list[str], urls: list[str], colour: str
) -> dict[str, Any]:
    """A bar trace over time; hovering shows `text`, a click opens `urls[i]`."""
    return {"type": "bar", "name": name, "x": [b.isoformat() for b in x], "y": y, "text": text,
            "textposition": "none", "customdata": urls, "marker": {"color": colour},
            "hovertemplate": "%{text}<extra>" + name + "</extra>"}  # fmt: skip


def line(
    name: str, x: list[datetime], y: list[float], text: list[str], urls: list[str], colour: str
) -> dict[str, Any]:
    """A line trace over time, like `bars`."""
    return {"type": "scatter", "mode": "lines+markers", "name": name,
            "x": [b.isoformat() for b in x], "y": y, "text": text, "customdata": urls,
            "line": {"color": colour, "width": 2}, "marker": {"size": 4},
            "hovertemplate": "%{text}<extra>" + name + "</extra>"}  # fmt: skip


def layout(unit: str) -> dict[str, Any]:
    """The layout of a time chart: quiet grid, legend below, one hover label per bucket."""
    return {
        "height": 280, "margin": {"l": 52, "r": 48, "t": 8, "b": 36},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT, "size": 12, "color": INK},
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "hovermode": "x unified", "bargap": 0.25,
        "xaxis": {"type": "date", "showgrid": False, "linecolor": "#e2e8f0"},
        "yaxis": {"gridcolor": GRID, "zerolinecolor": "#cbd5e1", "rangemode": "tozero",
                  "title": {"text": unit}},
    }  # fmt: skip


def ranking(
    labels: list[str], values: list[float], text: list[str], urls: list[str], colour: str
) -> dict[str, Any]:
    """A horizontal bar chart of named values, the largest on top."""
    height = 60 + 28 * max(len(labels), 1)
    return {
        "data": [{"type": "bar", "orientation": "h", "y": labels[::-1], "x": values[::-1],
                  "text": text[::-1], "textposition": "auto", "customdata": urls[::-1],
                  "marker": {"color": colour}, "hovertemplate": "%{y}: %{text}<extra></extra>"}],
        "layout": {
            "height": height, "margin": {"l": 8, "r": 16, "t": 8, "b": 28},
            "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"family": FONT, "size": 12, "color": INK},
            "xaxis": {"gridcolor": GRID, "rangemode": "tozero", "title": {"text": "USD"}},
            "yaxis": {"automargin": True},
        },
    }  # fmt: skip


def marks(findings: list[Any], values: dict[datetime, float], bucket: Any) -> dict[str, Any]:
    """A trace of red crosses on the buckets holding flagged points (`bucket` maps a time to
    its chart bucket); hovering explains, a click opens the rows behind."""
    first: dict[datetime, Any] = {}
    counts: dict[datetime, int] = {}
    for finding in findings:
        at = bucket(finding.at)
        first.setdefault(at, finding)
        counts[at] = counts.get(at, 0) + 1
    xs = sorted(first)
    text = [first[x].explanation + (f" (+{counts[x] - 1} more)" if counts[x] > 1 else "")
            for x in xs]  # fmt: skip
    return {"type": "scatter", "mode": "markers", "name": "Anomaly",
            "x": [x.isoformat() for x in xs], "y": [values.get(x, 0.0) for x in xs],
            "text": text, "customdata": [first[x].link for x in xs],
            "marker": {"color": "#dc2626", "size": 12, "symbol": "x-thin",
                       "line": {"width": 3, "color": "#dc2626"}},
            "hovertemplate": "%{text}<extra>Anomaly</extra>"}  # fmt: skip
