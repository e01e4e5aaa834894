"""FSAR reports: what a self-audit proposes, as the Markdown Governor writes and as JSON."""

import copy
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from governor.errors import BadInput, NotFound

TITLE = "# FSAR Proposal Report"
PROPOSAL_FIELD = "- proposal:"
RISKS_HEADING = "## Risks"
MITIGATIONS_HEADING = "## Mitigations"

ID_FORM = "'fsar_' then a lower-case UUID4, e.g. fsar_3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"
TIMESTAMP_FORM = "UTC with milliseconds and a Z, e.g. 2026-01-02T20:18:20.891Z"
SEVERITY_FORM = "an integer from 0 to 10"
BLOCK_FORM = "true or false"
ITEM_FORM = "one non-empty line of text without surrounding spaces"
FINDINGS_FORM = "a list of JSON objects (string keys; lists, strings, numbers, booleans, null)"

# What one report may hold, so that no report (imported or written) swamps the store or a page.
# The seed's report is 5 KB; Governor's own audits write a few KB of prose and ~13 findings.
MAX_PROPOSAL_CHARS = 100_000
MAX_ITEMS = 100  # risks, and mitigations
MAX_ITEM_CHARS = 1_000
MAX_FINDINGS = 100  # one per check
MAX_FINDINGS_BYTES = 1_000_000  # the findings as compact JSON, evidence included

_ID = re.compile(r"fsar_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}
_FIELDS = ("id", "timestamp", "severity", "block_execution", "proposal", "risks", "mitigations")

T = TypeVar("T")


def new_report_id() -> str:
    """A fresh report id: `fsar_` and a random UUID4."""
    return f"fsar_{uuid.uuid4()}"


def format_timestamp(dt: datetime) -> str:
    """`2026-01-02T20:18:20.891Z`: the instant in UTC, cut to milliseconds; naive ones refused."""
    if dt.utcoffset() is None:
        raise BadInput(f"timestamp {dt.isoformat()} is naive: expected a timezone-aware datetime")
    utc = dt.astimezone(UTC).replace(tzinfo=None)
    return f"{utc.isoformat(timespec='milliseconds')}Z"


def parse_timestamp(text: str) -> datetime:
    """The aware UTC datetime of a timestamp written as format_timestamp writes it."""
    if not _TIMESTAMP.fullmatch(text):
        raise BadInput(f"timestamp {_preview(text)} is not accepted: expected {TIMESTAMP_FORM}")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadInput(f"timestamp {_preview(text)} is not a real date and time ({exc})") from None


@dataclass(frozen=True)
class FsarReport:
    """One FSAR report; every field is checked on construction (BadInput names the bad one).

    The timestamp is kept in UTC, cut to milliseconds, as both forms write it. The proposal is
    Markdown kept verbatim: it may hold any line but the exact `## Risks` heading (which ends it
    in the Markdown form) and starts and ends with a non-blank line. Risks and mitigations are
    one line each. Findings, the checks' structured evidence, exist only in the JSON form.
    Each field has a cap (the MAX_ constants), so a stored report renders within bounds.
    """

    id: str
    timestamp: datetime
    severity: int
    block_execution: bool
    proposal: str
    risks: tuple[str, ...]
    mitigations: tuple[str, ...]
    findings: tuple[dict[str, Any], ...] = field(default=(), hash=False)  # dicts: unhashable

    def __post_init__(self) -> None:
        _check_id(self.id)
        object.__setattr__(self, "timestamp", _check_timestamp(self.timestamp))
        _check_severity(self.severity)
        _check_block(self.block_execution)
        _check_proposal(self.proposal)
        object.__setattr__(self, "risks", _check_items("risks", self.risks))
        object.__setattr__(self, "mitigations", _check_items("mitigations", self.mitigations))
        object.__setattr__(self, "findings", _check_findings(self.findings))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the timestamp as format_timestamp writes it, lists for the tuples."""
        return {
            "id": self.id,
            "timestamp": format_timestamp(self.timestamp),
            "severity": self.severity,
            "block_execution": self.block_execution,
            "proposal": self.proposal,
            "risks": list(self.risks),
            "mitigations": list(self.mitigations),
            "findings": copy.deepcopy(list(self.findings)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FsarReport":
        """The report of a JSON form as to_dict writes it (findings may be left out)."""
        if not isinstance(data, Mapping):
            raise BadInput(f"an FSAR report must be a JSON object, not {type(data).__name__}")
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise BadInput(f"FSAR report fields missing: {', '.join(missing)}")
        unknown = sorted(map(str, set(data) - {*_FIELDS, "findings"}))
        if unknown:
            raise BadInput(
                f"unknown FSAR report fields: {', '.join(unknown)} "
                f"(accepted: {', '.join(_FIELDS)}, findings)"
            )
        timestamp = data["timestamp"]
        if not isinstance(timestamp, str):
            raise BadInput(
                f"timestamp {_preview(timestamp)} is not accepted: expected {TIMESTAMP_FORM}"
            )
        return cls(
            id=data["id"],
            timestamp=parse_timestamp(timestamp),
            severity=data["severity"],
            block_execution=data["block_execution"],
            proposal=data["proposal"],
            risks=data["risks"],
            mitigations=data["mitigations"],
            findings=data.get("findings", ()),
        )


def render_markdown(report: FsarReport) -> str:
    """The Markdown form: title, field bullets, the proposal, then Risks and Mitigations.

    Lines end with `\\n` and the last one has none, as in the reports Governor has written.
    """
    lines = [
        TITLE,
        f"- id: {report.id}",
        f"- timestamp: {format_timestamp(report.timestamp)}",
        f"- severity: {report.severity}",
        f"- block_execution: {'true' if report.block_execution else 'false'}",
        PROPOSAL_FIELD,
        "",
        report.proposal,
        "",
        RISKS_HEADING,
        *(f"- {risk}" for risk in report.risks),
        "",
        MITIGATIONS_HEADING,
        *(f"- {mitigation}" for mitigation in report.mitigations),
    ]
    return "\n".join(lines)


def read_markdown_file(path: Path, *, max_bytes: int) -> FsarReport:
    """The report in a Markdown file of at most `max_bytes`, refused by its size before it is
    read (and never read past the cap, should it grow meanwhile)."""
    if not path.exists():
        raise NotFound(f"{path} does not exist.", hint="Give the path of an FSAR report file.")
    if not path.is_file():
        raise BadInput(f"{path} is not a file.", hint="Give the path of an FSAR report file.")
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            size = max(path.stat().st_size, len(data))
            raise BadInput(
                f"{path} is {size:,} bytes; FSAR reports of at most {max_bytes:,} bytes "
                "are imported.",
                hint="A report is a few kilobytes (the seed's is 5 KB): check that this is the "
                "report meant, or raise GOVERNOR_FSAR_MAX_BYTES.",
            )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text.", hint="Save the report as UTF-8.") from None
    return parse_markdown(text)


def parse_markdown(text: str) -> FsarReport:
    """The report of a Markdown form; BadInput names the line, what was found and was expected.

    Tolerates CRLF (or CR) line ends, trailing whitespace, blank lines between fields and
    sections, a missing final newline, and true/false/yes/no in any case for block_execution.
    The proposal is every line between `- proposal:` and the first line that is exactly
    `## Risks` (other `## ` headings belong to the proposal), blank lines around it dropped and
    the rest kept verbatim. render_markdown(parse_markdown(text)) == text for a text it wrote.
    """
    reader = _Reader(text)
    reader.expect(TITLE, "the title")
    report_id = reader.field("id", _check_id)
    timestamp = reader.field("timestamp", parse_timestamp)
    severity = reader.field("severity", _severity_from_text)
    block_execution = reader.field("block_execution", _block_from_text)
    proposal_line = reader.expect(PROPOSAL_FIELD, "the proposal field")
    proposal = "\n".join(_strip_blank_lines(reader.until(RISKS_HEADING, "the proposal field")))
    _at_line(proposal_line, _check_proposal, proposal)
    risks = reader.bullets("risks", MITIGATIONS_HEADING)
    mitigations = reader.bullets("mitigations", None)
    return FsarReport(
        id=report_id,
        timestamp=timestamp,
        severity=severity,
        block_execution=block_execution,
        proposal=proposal,
        risks=risks,
        mitigations=mitigations,
    )


class _Reader:
    """A document's lines read top to bottom; errors carry the 1-based line number."""

    def __init__(self, text: str) -> None:
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.next = 0

    def _content(self, expected: str) -> tuple[int, str]:
        """The next non-blank line, right-stripped, and its number; blank lines skipped."""
        while self.next < len(self.lines) and not self.lines[self.next].strip():
            self.next += 1
        if self.next == len(self.lines):
            raise BadInput(f"not an FSAR report: the text ends where {expected} was expected")
        self.next += 1
        return self.next, self.lines[self.next - 1].rstrip()

    def expect(self, line: str, what: str) -> int:
        """Read the exact `line` (ignoring trailing whitespace); return its number."""
        number, found = self._content(f"{what} {line!r}")
        if found != line:
            raise BadInput(f"line {number}: expected {what} {line!r}, found {_preview(found)}")
        return number

    def field(self, name: str, convert: Callable[[str], T]) -> T:
        """The converted value of the `- name: value` line."""
        prefix = f"- {name}:"
        number, found = self._content(f"the field {prefix!r}")
        if not found.startswith(prefix):
            raise BadInput(
                f"line {number}: expected the field '{prefix} ...', found {_preview(found)}"
            )
        return _at_line(number, convert, found[len(prefix) :].strip())

    def until(self, heading: str, what: str) -> list[str]:
        """The raw lines up to the exact `heading`, which is read too."""
        start = self.next
        for index in range(start, len(self.lines)):
            if self.lines[index].rstrip() == heading:
                self.next = index + 1
                return self.lines[start:index]
        raise BadInput(f"not an FSAR report: no {heading!r} heading after {what} on line {start}")

    def bullets(self, name: str, heading: str | None) -> tuple[str, ...]:
        """The `- ` items up to the exact `heading` (read too) or, if None, to the end."""
        items: list[str] = []
        ending = "the end of the text" if heading is None else repr(heading)
        while self.next < len(self.lines):
            self.next += 1
            found = self.lines[self.next - 1].rstrip()
            if found == heading:
                return tuple(items)
            if found.startswith("- ") or found == "-":
                if len(items) == MAX_ITEMS:
                    raise BadInput(
                        f"line {self.next}: {name} hold more than {MAX_ITEMS} items; "
                        f"at most {MAX_ITEMS} are accepted"
                    )
                item = _at_line(self.next, _check_item, f"{name} item", found[1:].strip())
                items.append(item)
            elif found:
                raise BadInput(
                    f"line {self.next}: expected a '- ' item of {name} or {ending}, "
                    f"found {_preview(found)}"
                )
        if heading is not None:
            raise BadInput(f"not an FSAR report: no {heading!r} heading after the {name}")
        return tuple(items)


def _at_line(number: int, check: Callable[..., T], *args: Any) -> T:
    """check(*args), its BadInput prefixed with the line number."""
    try:
        return check(*args)
    except BadInput as exc:
        raise BadInput(f"line {number}: {exc.message}", hint=exc.hint) from None


def _strip_blank_lines(lines: list[str]) -> list[str]:
    """The lines without the blank (whitespace-only) ones at either end."""
    kept = [index for index, line in enumerate(lines) if line.strip()]
    return lines[kept[0] : kept[-1] + 1] if kept else []


def _severity_from_text(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text):
        raise BadInput(f"severity {_preview(text)} is not accepted: expected {SEVERITY_FORM}")
    return _check_severity(int(text))


def _block_from_text(text: str) -> bool:
    if text.lower() not in _BOOLEANS:
        raise BadInput(
            f"block_execution {_preview(text)} is not accepted: "
            f"expected {BLOCK_FORM} (or yes or no)"
        )
    return _BOOLEANS[text.lower()]


def _check_id(value: object) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise BadInput(f"id {_preview(value)} is not accepted: expected {ID_FORM}")
    return value


def _check_timestamp(value: object) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise BadInput(
            f"timestamp {_preview(value)} is not accepted: expected a timezone-aware datetime"
        )
    utc = value.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def _preview(value: object) -> str:
    """The repr of a refused value, cut to 80 characters so an error stays one short line."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}… ({len(text):,} characters)"


def _check_severity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise BadInput(f"severity {_preview(value)} is not accepted: expected {SEVERITY_FORM}")
    return value


def _check_block(value: object) -> bool:
    if not isinstance(value, bool):
        raise BadInput(f"block_execution {_preview(value)} is not accepted: expected {BLOCK_FORM}")
    return value


def _check_proposal(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(
            f"proposal {_preview(value)} is not accepted: expected non-empty Markdown text"
        )
    _check_length("proposal", value, MAX_PROPOSAL_CHARS)
    if "\r" in value:
        raise BadInput("proposal is not accepted: it holds a carriage return; use \\n line ends")
    lines = value.split("\n")
    if _strip_blank_lines(lines) != lines:
        raise BadInput("proposal is not accepted: it starts or ends with a blank line")
    if any(line.rstrip() == RISKS_HEADING for line in lines):
        raise BadInput(f"proposal is not accepted: it holds a {RISKS_HEADING!r} heading line")
    return value


def _check_length(name: str, value: str, most: int) -> None:
    """Refuse a text longer than `most` characters, saying how long it is (not what it says)."""
    if len(value) > most:
        raise BadInput(
            f"{name} is {len(value):,} characters long; at most {most:,} are accepted",
            hint="Shorten it: a report is read by a person.",
        )


def _check_count(name: str, values: object, what: str, most: int) -> None:
    """Refuse a list of more than `most` entries."""
    if isinstance(values, list | tuple) and len(values) > most:
        raise BadInput(f"{name} hold {len(values):,} {what}; at most {most:,} are accepted")


def _check_item(name: str, value: object) -> str:
    if isinstance(value, str) and value == value.strip() and re.fullmatch(r"[^\r\n]+", value):
        _check_length(name, value, MAX_ITEM_CHARS)
        return value
    raise BadInput(f"{name} {_preview(value)} is not accepted: expected {ITEM_FORM}")


def _check_items(name: str, values: object) -> tuple[str, ...]:
    if not isinstance(values, list | tuple):
        raise BadInput(
            f"{name} {_preview(values)} is not accepted: expected a list of items, {ITEM_FORM}"
        )
    _check_count(name, values, "items", MAX_ITEMS)
    return tuple(_check_item(f"{name}[{index}]", value) for index, value in enumerate(values))


def _check_findings(values: object) -> tuple[dict[str, Any], ...]:
    if not isinstance(values, list | tuple) or not all(isinstance(v, dict) for v in values):
        raise BadInput(f"findings {_preview(values)} are not accepted: expected {FINDINGS_FORM}")
    _check_count("findings", values, "checks", MAX_FINDINGS)
    try:
        encoded = json.dumps(values, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise BadInput(f"findings are not accepted: {exc}; expected {FINDINGS_FORM}") from None
    if len(encoded.encode()) > MAX_FINDINGS_BYTES:
        raise BadInput(
            f"findings are {len(encoded.encode()):,} bytes of JSON; at most "
            f"{MAX_FINDINGS_BYTES:,} bytes of JSON are accepted"
        )
    copied = json.loads(encoded)
    if copied != list(values):
        raise BadInput(
            f"findings are not accepted: JSON would change them; expected {FINDINGS_FORM}"
        )
    return tuple(copied)
