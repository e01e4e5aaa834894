"""Stripe's "Balance change from activity, itemized" CSV report: parse it whole, or write it."""

import csv
import gc
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from governor.errors import BadInput
from governor.revenue.currency import KNOWN, exponent, format_minor, minor_units

if TYPE_CHECKING:
    from _csv import Reader

# Written in this order; read in any order, other columns ignored.
COLUMNS = (
    "balance_transaction_id",
    "created_utc",
    "available_on_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "description",
    "automatic_payout_id",
)
# The header names of each field, preferred first. Stripe writes `created` and `available_on`
# in the time zone the report was run for; they are read as UTC, Stripe's default.
_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("balance_transaction_id",),
    "created": ("created_utc", "created"),
    "available_on": ("available_on_utc", "available_on"),
    "currency": ("currency",),
    "gross": ("gross",),
    "fee": ("fee",),
    "net": ("net",),
    "reporting_category": ("reporting_category",),
    "source_id": ("source_id",),
    "description": ("description",),
    "payout_id": ("automatic_payout_id",),
}
_REQUIRED = ("id", "created", "currency", "gross", "fee", "net", "reporting_category")
SHOWN_PROBLEMS = 20
_CACHE_LIMIT = 65_536  # entries per look-up cache of the parser (repeated texts parse once)
_HINT = (
    "Import the itemized 'Balance change from activity' report as downloaded from Stripe "
    "(Reports > Balance, or report type balance_change_from_activity.itemized.3)."
)


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One balance transaction; amounts in integer minor units, signed as Stripe writes them."""

    id: str
    created: datetime
    available_on: datetime | None
    currency: str
    amount_minor: int  # gross
    fee_minor: int  # what Stripe took, positive for a charge's fee: net = gross - fee
    net_minor: int
    reporting_category: str
    source_id: str | None
    description: str | None
    payout_id: str | None


def parse_report(path: Path) -> list[ReportRow]:
    """Every row of a report, or BadInput listing each problem by line; never part of them."""
    collecting = gc.isenabled()
    gc.disable()  # a million rows and no cycles: the cyclic collector would only slow this
    try:
        with path.open(newline="", encoding="utf-8-sig") as source:
            reader = csv.reader(source)
            try:
                return _parse(reader, path)
            except csv.Error as error:
                raise BadInput(f"{path}, line {reader.line_num}: {error}", hint=_HINT) from None
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror or error}", hint=_HINT) from None
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text, so not a Stripe report", hint=_HINT) from None
    finally:
        if collecting:
            gc.enable()


def write_report(rows: Iterable[ReportRow], path: Path) -> None:
    """Write rows in Stripe's layout: times in UTC, amounts in major units."""
    try:
        with path.open("w", newline="", encoding="utf-8") as target:
            writer = csv.writer(target)
            writer.writerow(COLUMNS)
            writer.writerows(_cells(row) for row in rows)
    except OSError as error:
        raise BadInput(f"cannot write {path}: {error.strerror or error}") from None


def _cells(row: ReportRow) -> tuple[str, ...]:
    return (
        row.id,
        _stamp(row.created),
        "" if row.available_on is None else _stamp(row.available_on),
        row.currency,
        format_minor(row.amount_minor, row.currency),
        format_minor(row.fee_minor, row.currency),
        format_minor(row.net_minor, row.currency),
        row.reporting_category,
        row.source_id or "",
        row.description or "",
        row.payout_id or "",
    )


def _stamp(when: datetime) -> str:
    """UTC as Stripe writes it, '2026-01-01 00:00:00' (microseconds only if there are some)."""
    if when.tzinfo is None:
        raise ValueError(f"{when!r} is not timezone-aware")
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def _when(text: str) -> datetime | None:
    """An aware UTC datetime from Stripe's '2026-01-01 00:00:00' (UTC) or ISO 8601; None if bad."""
    try:
        when = datetime.fromisoformat(text + "+00:00")  # the usual case, and the fastest
        if when.tzinfo is not None:
            return when
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _currency(cell: str, found: list[str]) -> tuple[str, int] | None:
    """The lower-case code and exponent of a currency cell; None, and a problem, if unknown."""
    code = cell.strip().lower()
    if code in KNOWN:
        return code, exponent(code)
    found.append(f"currency {cell!r} is not an ISO 4217 code" if code else "currency is blank")
    return None


def _amount(
    text: str, places: int, currency: str, cache: dict[str, int], column: str, found: list[str]
) -> int | None:
    """Minor units of an amount cell not in the cache yet; None, and a problem, if bad."""
    try:
        value = minor_units(text, places, currency)
    except ValueError as error:
        found.append(f"{column} {error}")
        return None
    if len(cache) < _CACHE_LIMIT:
        cache[text] = value
    return value


def _columns(header: list[str], path: Path) -> dict[str, int]:
    """The position of each field in the header; BadInput naming any required one missing."""
    position: dict[str, int] = {}
    for index, name in enumerate(header):
        position.setdefault(name.strip(), index)
    at: dict[str, int] = {}
    for field, names in _NAMES.items():
        for name in names:
            if name in position:
                at[field] = position[name]
                break
    missing = [field for field in _REQUIRED if field not in at]
    if missing:
        lacking = ", ".join(" or ".join(_NAMES[field]) for field in missing)
        required = ", ".join(_NAMES[field][0] for field in _REQUIRED)
        raise BadInput(
            f"{path} has no column {lacking}; a Stripe balance report has {required}",
            hint=_HINT,
        )
    return at


def _parse(reader: "Reader", path: Path) -> list[ReportRow]:
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise BadInput(f"{path} is empty: no header line, no rows", hint=_HINT)
    rows, problems, count = _read(reader, header, _columns(header, path))
    if count:
        raise BadInput(_problem_report(path, problems, count), hint=_HINT)
    if not rows:
        raise BadInput(f"{path} has a header but no rows", hint=_HINT)
    return rows


def _read(
    reader: "Reader", header: list[str], at: dict[str, int]
) -> tuple[list[ReportRow], list[str], int]:
    """The rows, the first problems (each with its line) and how many there are.

    One flat pass with look-up caches: it runs once per row of files of a million rows.
    """
    width = len(header)
    i_id, i_created, i_currency = at["id"], at["created"], at["currency"]
    i_gross, i_fee, i_net, i_category = at["gross"], at["fee"], at["net"], at["reporting_category"]
    i_available, i_source = at.get("available_on"), at.get("source_id")
    i_description, i_payout = at.get("description"), at.get("payout_id")
    created_name = header[i_created].strip()
    available_name = "" if i_available is None else header[i_available].strip()

    rows: list[ReportRow] = []
    problems: list[str] = []
    count = 0
    first_line: dict[str, int] = {}  # balance transaction id -> its line
    currencies: dict[str, tuple[str, int]] = {}  # cell -> lower-case code and exponent
    amounts: tuple[dict[str, int], ...] = ({}, {}, {}, {})  # by exponent: cell -> minor units
    days: dict[str, datetime] = {}  # available_on values repeat: each is parsed once
    strings: dict[str, str] = {}  # one object per repeated category or payout id
    previous = reader.line_num
    for record in reader:
        line = previous + 1  # where the record starts, even if a quoted cell spans lines
        previous = reader.line_num
        if not record:
            continue  # a blank line
        if len(record) != width:
            count += 1
            if len(problems) < SHOWN_PROBLEMS:
                problems.append(f"line {line}: has {len(record)} cells, the header has {width}")
            rows.clear()
            continue
        found: list[str] = []

        txn_id = record[i_id].strip()
        if not txn_id:
            found.append("balance_transaction_id is blank")
        elif txn_id in first_line:
            found.append(f"{txn_id} is listed twice (first on line {first_line[txn_id]})")
        else:
            first_line[txn_id] = line

        created = _when(record[i_created])
        if created is None:
            found.append(f"{created_name} {record[i_created]!r} is not a date and time")
        available_on = None
        if i_available is not None and (text := record[i_available]):
            available_on = days.get(text)
            if available_on is None:
                available_on = _when(text)
                if available_on is not None and len(days) < _CACHE_LIMIT:
                    days[text] = available_on
                elif available_on is None and text.strip():
                    found.append(f"{available_name} {text!r} is not a date and time")

        currency = ""
        gross = fee = net = None
        cell = record[i_currency]
        known = currencies.get(cell)
        if known is None and (known := _currency(cell, found)) is not None:
            currencies[cell] = known
        if known is not None:
            currency, places = known
            cache = amounts[places]
            text = record[i_gross]
            gross = cache.get(text)
            if gross is None:
                gross = _amount(text, places, currency, cache, "gross", found)
            text = record[i_fee]
            fee = cache.get(text)
            if fee is None:
                fee = _amount(text, places, currency, cache, "fee", found)
            text = record[i_net]
            net = cache.get(text)
            if net is None:
                net = _amount(text, places, currency, cache, "net", found)
            if gross is not None and fee is not None and net is not None and gross - fee != net:
                found.append(
                    f"gross {record[i_gross]} minus fee {record[i_fee]} is "
                    f"{format_minor(gross - fee, currency)}, not net {record[i_net]}"
                )

        category = record[i_category].strip()
        if not category:
            found.append("reporting_category is blank")

        if found or created is None or gross is None or fee is None or net is None:
            count += len(found)
            problems.extend(f"line {line}: {what}" for what in found)
            del problems[SHOWN_PROBLEMS:]
            rows.clear()
            continue
        if count:
            continue  # nothing is returned once a row is bad, but every row is checked
        payout_id = record[i_payout].strip() if i_payout is not None else ""
        if len(strings) > _CACHE_LIMIT:
            strings.clear()
        rows.append(
            ReportRow(
                txn_id,
                created,
                available_on,
                currency,
                gross,
                fee,
                net,
                strings.setdefault(category, category),
                (record[i_source].strip() or None) if i_source is not None else None,
                (record[i_description] or None) if i_description is not None else None,
                strings.setdefault(payout_id, payout_id) if payout_id else None,
            )
        )
    return rows, problems, count


def _problem_report(path: Path, problems: list[str], count: int) -> str:
    """The BadInput message: how many problems, the first of them by line, nothing imported."""
    lines = [f"{path} has {count} problem{'s' if count != 1 else ''}; nothing was imported:"]
    lines += [f"  {problem}" for problem in problems]
    if count > len(problems):
        lines.append(f"  … and {count - len(problems)} more")
    return "\n".join(lines)
