"""Tables of the pages: columns, formatted cells with their drill-through links, pagers and CSV."""

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from governor.analytics.filters import MAX_LIMIT, MAX_OFFSET
from governor.analytics.kpis import micros_to_minor
from governor.errors import BadInput
from governor.models.types import utcnow
from governor.revenue.currency import format_minor

CSV_LIMIT = 100_000
"""The most rows one CSV export holds (a paginated table exports every row up to this)."""

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- formatting: the one place numbers become text --------------------------------------------


def group(digits: str) -> str:
    """Thousands separators in a plain number's text ("-1234.50" → "-1,234.50")."""
    sign = "-" if digits.startswith("-") else ""
    whole, _, fraction = digits.lstrip("-").partition(".")
    grouped = f"{int(whole):,}" if whole.isdigit() else whole
    return f"{sign}{grouped}{'.' + fraction if fraction else ''}"


def money(amount: int | None, currency: str | None) -> str:
    """An amount in minor units as people read it: "$1,234.50", "-€0.59", "1,000 JPY"→"¥1,000"."""
    if amount is None:
        return "—"
    code = (currency or "").lower()
    text = group(format_minor(abs(amount), code)) if code else f"{abs(amount):,}"
    sign = "-" if amount < 0 else ""
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code.upper()}".rstrip()


def micros_text(micros: int) -> str:
    """Micro-dollars as a plain decimal with 2 to 4 places ("0.0045", "12.30", "1234.57")."""
    sign = "-" if micros < 0 else ""
    value = abs(micros)
    if value >= 1_000_000:  # a dollar or more: cents are enough
        cents = micros_to_minor(value)
        return f"{sign}{cents // 100}.{cents % 100:02d}"
    tenth_mils = (value + 50) // 100  # units of $0.0001
    places = f"{tenth_mils % 10_000:04d}".rstrip("0").ljust(2, "0")
    return f"{sign}{tenth_mils // 10_000}.{places}"


def usd_micros(micros: int | None) -> str:
    """An AI cost in micro-dollars as "$0.0045" or "$1,234.57"."""
    if micros is None:
        return "—"
    text = micros_text(micros)
    sign = "-" if text.startswith("-") else ""
    return f"{sign}${group(text.lstrip('-'))}"


def duration(ms: int | float | None) -> str:
    """A duration in milliseconds as "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min"."""
    if ms is None:
        return "—"
    if ms < 1:
        return f"{ms * 1000:.0f} µs" if ms > 0 else "0 ms"
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {second:02d} s"
    hours, minute = divmod(minutes, 60)
    return f"{hours} h {minute:02d} min"


def micros_duration(us: int | None) -> str:
    """A duration in microseconds (spans), as `duration` writes it."""
    return duration(None if us is None else us / 1000)


def short_id(value: Any) -> str:
    """A long prefixed id as its prefix and its last characters ("task_…edmvn2kmm")."""
    if value is None:
        return "—"
    text = str(value)
    prefix, _, rest = text.partition("_")
    if len(text) <= 16 or not rest:
        return text
    return f"{prefix}_…{rest[-8:]}"


def number(value: int | float | None) -> str:
    """An integer count with thousands separators."""
    if value is None:
        return "—"
    return f"{value:,.0f}" if isinstance(value, int) or float(value).is_integer() else f"{value:,}"


def when(value: datetime | None) -> str:
    """A UTC time as "2024-05-01 12:34 UTC"."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def when_full(value: datetime | None) -> str:
    """A UTC time to the second, for titles and details."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(ratio: float | None) -> str:
    """A ratio as a percentage ("12.5%", "-40%"); ROI 1.25 → "125%"."""
    if ratio is None or math.isnan(ratio) or math.isinf(ratio):
        return "—"
    value = ratio * 100
    return f"{value:,.0f}%" if abs(value) >= 100 else f"{value:.1f}%".replace(".0%", "%")


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no "</script>" can end it early)."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- tables ------------------------------------------------------------------------------------


def value_of(row: Any, key: str) -> Any:
    """A field of a row that is a mapping or an object."""
    if isinstance(row, Mapping):
        return row.get(key)
    return getattr(row, key, None)


@dataclass(frozen=True)
class Column:
    """One column: where its value comes from, how it reads, where a click on it goes.

    kind: text, code (an id in full), id (an id shortened on the page, in full in CSV), int,
    money (minor units; the row's `currency`), micros (USD), duration (ms), datetime, percent,
    status (a coloured pill), figures (preformatted amounts). `wrap` lets long text wrap.
    """

    key: str
    label: str
    kind: str = "text"
    href: Callable[[Any], str | None] | None = None
    signed: bool = False
    get: Callable[[Any], Any] | None = None
    currency_key: str = "currency"
    html: bool = True
    csv: bool = True
    wrap: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "money", "micros", "duration", "percent", "figures")

    def value(self, row: Any) -> Any:
        return self.get(row) if self.get is not None else value_of(row, self.key)


@dataclass(frozen=True)
class Cell:
    """A formatted cell: its text, its link, its CSS classes, a title for the exact value."""

    text: str
    href: str | None = None
    classes: str = ""
    title: str | None = None
    pill: str | None = None


@dataclass(frozen=True)
class Pager:
    """Where a paginated table is: this page's `limit` rows from `offset` of `total` rows
    (or, when the total is not counted, whether `more` rows follow)."""

    total: int | None
    limit: int
    offset: int
    more: bool = False

    @property
    def first(self) -> int:
        return self.offset + 1 if self.total is None else min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        end = self.offset + self.limit
        return end if self.total is None else min(end, self.total)

    @property
    def has_next(self) -> bool:
        return self.more if self.total is None else self.offset + self.limit < self.total

    @property
    def needed(self) -> bool:
        return self.offset > 0 or self.has_next


def cut(rows: Sequence[Any], limit: int, offset: int) -> tuple[list[Any], Pager]:
    """Rows fetched with `limit + 1` as one page and a pager that knows whether more follow."""
    return list(rows[:limit]), Pager(None, limit, offset, more=len(rows) > limit)


@dataclass
class Table:
    """Rows under columns, rendered as HTML by `_table.html` and as CSV by `csv_response`."""

    name: str
    columns: Sequence[Column]
    rows: Sequence[Any]
    title: str = ""
    totals: Sequence[Any] = ()
    empty: str = "Nothing here for this selection."
    pager: Pager | None = None
    note: str = ""
    row_class: Callable[[Any], str] | None = None
    total: int | None = None

    @property
    def count(self) -> int | None:
        """How many rows the table stands for (None on a page whose total is not counted)."""
        if self.total is not None:
            return self.total
        if self.pager is not None:
            return self.pager.total
        return len(self.rows)

    def classes(self, row: Any) -> str:
        return self.row_class(row) if self.row_class is not None else ""

    def html_columns(self) -> list[Column]:
        return [c for c in self.columns if c.html]

    def cells(self, row: Any) -> list[Cell]:
        return [cell(c, row) for c in self.html_columns()]

    def footer(self) -> list[list[Cell]]:
        return [[cell(c, row, total=True) for c in self.html_columns()] for row in self.totals]

    def csv_text(self) -> str:
        """The rows as CSV: raw ids, decimal amounts in major units, ISO times."""
        columns = [c for c in self.columns if c.csv]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([csv_header(c) for c in columns])
        for row in self.rows:
            writer.writerow([csv_value(c, row) for c in columns])
        return out.getvalue()


def cell(column: Column, row: Any, *, total: bool = False) -> Cell:
    """One formatted cell of a row; a totals row has no links and leaves missing values blank."""
    value = column.value(row)
    if total and value is None:
        return Cell("", None, "num" if column.numeric else "")
    href = None if total or column.href is None or value is None else column.href(row)
    classes = ["num"] if column.numeric else []
    title = None
    if column.kind == "money":
        text = money(value, value_of(row, column.currency_key))
    elif column.kind == "micros":
        text = usd_micros(value)
        title = None if value is None else f"{value:,} micro-dollars"
    elif column.kind == "int":
        text = number(value)
    elif column.kind == "duration":
        text = duration(value)
    elif column.kind == "percent":
        text = percent(value)
    elif column.kind == "datetime":  # the page says once that times are UTC
        text, title = when(value).removesuffix(" UTC"), when_full(value)
        classes.append("nowrap")
    elif column.kind == "code":
        text = "—" if value is None else str(value)
        classes.append("code")
    elif column.kind == "id":
        text, title = short_id(value), None if value is None else str(value)
        classes.append("code")
    else:
        text = "—" if value is None or value == "" else str(value)
    if column.wrap:
        classes.append("wrap")
    if column.signed and isinstance(value, int | float) and value:
        classes.append("pos" if value > 0 else "neg")
    pill = f"s-{value}" if column.kind == "status" and value is not None else None
    return Cell(text, href, " ".join(classes), title, pill)


def csv_header(column: Column) -> str:
    if column.kind == "micros":
        return f"{column.key}_usd"
    if column.kind == "duration":
        return f"{column.key}" if column.key.endswith("_ms") else f"{column.key}_ms"
    return column.key


def csv_value(column: Column, row: Any) -> str:
    """A cell for a spreadsheet: numbers plain, text that could be a formula defused."""
    value = column.value(row)
    if value is None:
        return ""
    if column.kind == "money":
        currency = value_of(row, column.currency_key)
        return format_minor(value, currency) if currency else str(value)
    if column.kind == "micros":
        places, sign = 6, "-" if value < 0 else ""
        whole, part = divmod(abs(value), 10**places)
        return f"{sign}{whole}.{part:06d}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


# --- query strings, pagination and CSV answers --------------------------------------------------


def url_with(request: Request, path: str | None = None, **changes: Any) -> str:
    """The current URL (or `path`) with query parameters changed; None removes one."""
    params = dict(request.query_params) if path is None else {}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    base = request.url.path if path is None else path
    return f"{base}?{urlencode(params)}" if params else base


def link(path: str, **params: Any) -> str:
    """A path with the given query parameters, leaving out empty ones."""
    kept = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    return f"{path}?{urlencode(kept)}" if kept else path


def csv_url(request: Request, table: str) -> str:
    """The current view of one table as CSV (every page of it)."""
    return url_with(request, format="csv", table=table, offset=None)


def wants_csv(request: Request) -> bool:
    """Whether the request asks for CSV; any other format is a 400."""
    fmt = request.query_params.get("format")
    if fmt in (None, "", "html"):
        return False
    if fmt != "csv":
        raise BadInput(f"Unknown format '{fmt}'.", hint="Use format=csv, or leave it out.")
    return True


def int_param(
    request: Request, name: str, default: int, *, low: int = 0, high: int = 10_000
) -> int:
    """An integer query parameter within [low, high], or BadInput naming it."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"'{name}' must be a whole number, not '{raw}'.") from None
    if not low <= value <= high:
        raise BadInput(f"'{name}' must be between {low} and {high}, not {value}.")
    return value


def choice_param(request: Request, name: str, allowed: Sequence[str]) -> str | None:
    """A query parameter that must be one of `allowed` (or absent)."""
    raw = request.query_params.get(name) or None
    if raw is not None and raw not in allowed:
        raise BadInput(f"Unknown {name} '{raw}'.", hint=f"Use one of: {', '.join(allowed)}.")
    return raw


def text_param(request: Request, name: str, *, max_length: int = 200) -> str | None:
    """A free-text query parameter (an id, a type), stripped; empty is absent."""
    raw = (request.query_params.get(name) or "").strip()
    if len(raw) > max_length:
        raise BadInput(f"'{name}' is longer than {max_length} characters.")
    return raw or None


def page_window(request: Request, *, limit: int = 50) -> tuple[int, int]:
    """(limit, offset) of a paginated table; a CSV export takes every row from the start."""
    if wants_csv(request):
        return CSV_LIMIT, 0
    return int_param(request, "limit", limit, low=1, high=MAX_LIMIT), int_param(
        request, "offset", 0, high=MAX_OFFSET
    )


def csv_response(tables: Sequence[Table], request: Request, *, stem: str) -> Response:
    """The table the request names (`table=`; the first by default) as a CSV download."""
    wanted = request.query_params.get("table") or tables[0].name
    table = next((t for t in tables if t.name == wanted), None)
    if table is None:
        names = ", ".join(t.name for t in tables)
        raise BadInput(f"This page has no table '{wanted}'.", hint=f"Use table= one of: {names}.")
    name = stem if table.name == stem else f"{stem}-{table.name}"
    filename = f"governor-{name}-{utcnow():%Y%m%d-%H%M}.csv".replace("/", "-")
    return Response(
        table.csv_text(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
