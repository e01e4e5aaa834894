"""Reading what a user sees in a page: KPI cards, table rows, links."""

import html
import re


def kpi(page: str, key: str) -> dict[str, str]:
    """One KPI card's link, value and change text."""
    match = re.search(
        rf'<a class="kpi[^"]*" href="([^"]+)" data-kpi="{re.escape(key)}">(.*?)</a>', page, re.S
    )
    assert match, f"no KPI card {key}"
    body = match.group(2)
    value = re.search(r'<span class="kpi-value">([^<]*)</span>', body)
    change = re.search(r'<span class="kpi-change[^"]*"[^>]*>(.*?)<span class="muted">', body, re.S)
    return {
        "href": html.unescape(match.group(1)),
        "value": html.unescape(value.group(1)) if value else "",
        "change": " ".join(re.sub(r"<[^>]+>", " ", change.group(1)).split()) if change else "",
    }


def table(page: str, name: str) -> list[list[str]]:
    """The body rows of a table as the text of their cells."""
    match = re.search(rf'<table class="data" data-table="{name}">(.*?)</table>', page, re.S)
    assert match, f"no table {name}"
    body = re.search(r"<tbody>(.*?)</tbody>", match.group(1), re.S)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1) if body else "", re.S)
    return [[text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def footer(page: str, name: str) -> list[list[str]]:
    """The totals rows of a table."""
    match = re.search(rf'<table class="data" data-table="{name}">(.*?)</table>', page, re.S)
    assert match, f"no table {name}"
    foot = re.search(r"<tfoot>(.*?)</tfoot>", match.group(1), re.S)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", foot.group(1) if foot else "", re.S)
    return [[text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def links(page: str) -> list[str]:
    """Every link target of a page, unescaped."""
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)]


def link_to(page: str, text_: str) -> str:
    """The target of the first link whose text is `text_`."""
    for href, inner in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', page, re.S):
        if text(inner) == text_:
            return html.unescape(href)
    raise AssertionError(f"no link '{text_}'")


def text(fragment: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))


def timeline(page: str) -> list[list[str]]:
    """An offer's timeline: per change, its move, who made it and why (the time left out)."""
    items = re.findall(r'<li class="timeline-item">(.*?)</li>', page, re.S)
    parts = ("timeline-move", "timeline-who", "timeline-why")
    found = []
    for item in items:
        row = []
        for part in parts:
            match = re.search(rf'<(?:div|p) class="{part}">(.*?)</(?:div|p)>', item, re.S)
            row.append(text(match.group(1)) if match else "")
        found.append(row)
    return found
