"""FSAR reports: Markdown and JSON round trips, tolerant parsing, and each refusal's message."""

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from governor.audits.fsar import (
    MAX_FINDINGS,
    MAX_FINDINGS_BYTES,
    MAX_ITEM_CHARS,
    MAX_ITEMS,
    MAX_PROPOSAL_CHARS,
    FsarReport,
    format_timestamp,
    new_report_id,
    parse_markdown,
    parse_timestamp,
    render_markdown,
)
from governor.errors import BadInput

REPORT_ID = "fsar_0c5e2a9d-41b7-4f3e-9d2a-7b6c5e4d3f21"

PROPOSAL = """\
self_improvement:  Three changes would make the audit loop sturdier.

1. **Tighten the task checks:**
   - **Retry budget:** cap retries per task type so a failing handler cannot starve others.
     - Action: add a per-type counter and alert at 80% of the budget.
   - **Slow types:** profile the slowest handler before changing it.
2. **Explain the numbers:**
   - Show *why* a figure moved, not only that it moved.

## Notes (a heading that is not Risks stays in the proposal)
A line with a hard break at its end\x20\x20
and `code`, then a final sentence."""

DOCUMENT = f"""\
# FSAR Proposal Report
- id: {REPORT_ID}
- timestamp: 2026-03-04T05:06:07.089Z
- severity: 7
- block_execution: true
- proposal:

{PROPOSAL}

## Risks
- Slow failure: a check that silently stops running
- Drift: thresholds tuned to last month's traffic

## Mitigations
- Alert when a check has not run for a day
- Re-tune thresholds from a rolling window"""


def make_report(**changes: object) -> FsarReport:
    """The report DOCUMENT holds, with `changes` applied."""
    fields: dict[str, object] = {
        "id": REPORT_ID,
        "timestamp": datetime(2026, 3, 4, 5, 6, 7, 89_000, tzinfo=UTC),
        "severity": 7,
        "block_execution": True,
        "proposal": PROPOSAL,
        "risks": (
            "Slow failure: a check that silently stops running",
            "Drift: thresholds tuned to last month's traffic",
        ),
        "mitigations": (
            "Alert when a check has not run for a day",
            "Re-tune thresholds from a rolling window",
        ),
    }
    return FsarReport(**{**fields, **changes})


def error_of(action: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The message of the BadInput that action(*args, **kwargs) raises."""
    with pytest.raises(BadInput) as caught:
        action(*args, **kwargs)
    return caught.value.message


def test_parse_reads_every_field_and_keeps_the_proposal_verbatim() -> None:
    report = parse_markdown(DOCUMENT)
    assert report == make_report()
    assert report.proposal == PROPOSAL
    assert report.findings == ()


def test_render_of_a_parsed_document_is_the_same_text() -> None:
    assert render_markdown(parse_markdown(DOCUMENT)) == DOCUMENT


def test_render_then_parse_gives_the_report_back_without_findings() -> None:
    report = make_report(findings=({"check": "canary", "passed": False},), block_execution=False)
    rendered = render_markdown(report)
    assert "canary" not in rendered
    assert "- block_execution: false" in rendered
    assert parse_markdown(rendered) == dataclasses.replace(report, findings=())


def test_render_has_the_layout_and_no_final_newline() -> None:
    lines = render_markdown(make_report()).split("\n")
    assert lines[:7] == [
        "# FSAR Proposal Report",
        f"- id: {REPORT_ID}",
        "- timestamp: 2026-03-04T05:06:07.089Z",
        "- severity: 7",
        "- block_execution: true",
        "- proposal:",
        "",
    ]
    assert lines[-1] == "- Re-tune thresholds from a rolling window"


def test_crlf_trailing_spaces_extra_blank_lines_and_a_final_newline_are_tolerated() -> None:
    untidy = DOCUMENT.replace("- severity: 7", "- severity: 7   ")
    untidy = untidy.replace("\n## Risks", "\n\n\n## Risks  ").replace("\n## Mitig", "\n\n## Mitig")
    untidy = untidy.replace("- proposal:\n\n", "- proposal:\n\n\n").replace("\n", "\r\n") + "\r\n"
    assert parse_markdown(untidy) == make_report()
    assert parse_markdown(DOCUMENT.replace("\n- proposal:\n\n", "\n- proposal:\n")) == make_report()


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("true", True),
        ("True", True),
        ("yes", True),
        ("false", False),
        ("False", False),
        ("no", False),
    ],
)
def test_block_execution_accepts_true_false_yes_no(written: str, value: bool) -> None:
    text = DOCUMENT.replace("- block_execution: true", f"- block_execution: {written}")
    assert parse_markdown(text).block_execution is value


def test_empty_risks_and_mitigations_render_bare_headings_and_parse_back() -> None:
    report = make_report(risks=(), mitigations=())
    rendered = render_markdown(report)
    assert rendered.endswith(f"{PROPOSAL}\n\n## Risks\n\n## Mitigations")
    assert parse_markdown(rendered) == report


def test_only_the_exact_risks_heading_ends_the_proposal() -> None:
    proposal = "Intro.\n\n## Risks of doing nothing\n- they grow\n\n### Risks\nEnd."
    report = make_report(proposal=proposal)
    assert parse_markdown(render_markdown(report)).proposal == proposal


def test_reports_with_findings_are_still_hashable() -> None:
    report = make_report(findings=({"check": "canary"},))
    assert report in {report}
    assert report != make_report()


def test_json_round_trip_keeps_findings() -> None:
    findings = ({"check": "schema", "passed": True, "details": {"tables": ["a", "b"], "ms": 1.5}},)
    report = make_report(findings=findings)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["timestamp"] == "2026-03-04T05:06:07.089Z"
    assert data["findings"] == list(findings)
    assert FsarReport.from_dict(data) == report
    without = {key: value for key, value in data.items() if key != "findings"}
    assert FsarReport.from_dict(without).findings == ()


def test_timestamp_is_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2026, 1, 2, 21, 18, 20, 891_999, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == "2026-01-02T20:18:20.891Z"
    assert format_timestamp(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00.000Z"
    parsed = parse_timestamp("2026-01-02T20:18:20.891Z")
    assert parsed == datetime(2026, 1, 2, 20, 18, 20, 891_000, tzinfo=UTC)
    assert parsed.tzinfo is UTC
    assert "naive" in error_of(format_timestamp, datetime(2026, 1, 2))


def test_the_report_keeps_its_timestamp_in_utc_cut_to_milliseconds() -> None:
    moment = datetime(2026, 3, 4, 6, 6, 7, 89_654, tzinfo=timezone(timedelta(hours=1)))
    assert make_report(timestamp=moment).timestamp == make_report().timestamp
    assert make_report(timestamp=moment).timestamp.tzinfo is UTC


def test_new_report_ids_are_accepted_and_differ() -> None:
    first, second = new_report_id(), new_report_id()
    assert first != second
    assert make_report(id=first).id == first


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-02T20:18:20Z", "milliseconds"),
        ("2026-01-02 20:18:20.891", "milliseconds"),
        ("2026-02-30T20:18:20.891Z", "not a real date"),
    ],
)
def test_bad_timestamps_are_refused(value: str, expected: str) -> None:
    assert expected in error_of(parse_timestamp, value)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"severity": 11}, "severity 11 is not accepted: expected an integer from 0 to 10"),
        ({"severity": -1}, "severity -1 is not accepted: expected an integer from 0 to 10"),
        ({"severity": True}, "severity True is not accepted"),
        ({"id": "fsar_123"}, "id 'fsar_123' is not accepted: expected 'fsar_' then a lower-case"),
        ({"id": REPORT_ID.upper()}, "is not accepted: expected 'fsar_' then a lower-case UUID4"),
        (
            {"timestamp": datetime(2026, 1, 2)},
            "is not accepted: expected a timezone-aware datetime",
        ),
        ({"block_execution": "false"}, "block_execution 'false' is not accepted: expected true or"),
        ({"proposal": "  \n"}, "proposal '  \\n' is not accepted: expected non-empty Markdown"),
        ({"proposal": "\nText"}, "proposal is not accepted: it starts or ends with a blank line"),
        ({"proposal": "A\n## Risks\nB"}, "proposal is not accepted: it holds a '## Risks' heading"),
        ({"proposal": "A\r\nB"}, "proposal is not accepted: it holds a carriage return"),
        ({"risks": ("ok", "two\nlines")}, "risks[1] 'two\\nlines' is not accepted: expected one"),
        ({"mitigations": (" padded",)}, "mitigations[0] ' padded' is not accepted"),
        (
            {"mitigations": "one string"},
            "mitigations 'one string' is not accepted: expected a list",
        ),
        ({"findings": ({"when": datetime(2026, 1, 2)},)}, "findings are not accepted"),
        ({"findings": ({1: "int key"},)}, "findings are not accepted: JSON would change them"),
        ({"findings": ("not an object",)}, "expected a list of JSON objects"),
    ],
)
def test_each_bad_field_is_refused_by_name(changes: dict[str, object], expected: str) -> None:
    assert expected in error_of(make_report, **changes)


def test_from_dict_refuses_missing_unknown_and_mistyped_fields() -> None:
    data = make_report().to_dict()
    assert "missing: severity" in error_of(
        FsarReport.from_dict, {k: v for k, v in data.items() if k != "severity"}
    )
    assert "unknown FSAR report fields: sevrity" in error_of(
        FsarReport.from_dict, {**data, "sevrity": 1}
    )
    assert "timestamp 1767384000 is not accepted" in error_of(
        FsarReport.from_dict, {**data, "timestamp": 1767384000}
    )
    assert "must be a JSON object" in error_of(FsarReport.from_dict, [data])


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "# FSAR Proposal Report",
            "# Report",
            "line 1: expected the title '# FSAR Proposal Report'",
        ),
        ("- severity: 7", "- severity: 11", "line 4: severity 11 is not accepted: expected an"),
        ("- severity: 7", "- severity: high", "line 4: severity 'high' is not accepted"),
        ("- severity: 7", "- level: 7", "line 4: expected the field '- severity: ...', found"),
        ("- block_execution: true", "- block_execution: maybe", "line 5: block_execution 'maybe'"),
        (f"- id: {REPORT_ID}", "- id: 42", "line 2: id '42' is not accepted: expected 'fsar_'"),
        (
            "07.089Z",
            "07Z",
            "line 3: timestamp '2026-03-04T05:06:07Z' is not accepted: expected UTC",
        ),
        (
            "- proposal:\n",
            "- proposal: inline\n",
            "line 6: expected the proposal field '- proposal:'",
        ),
        ("## Risks\n", "## Risk\n", "no '## Risks' heading after the proposal field on line 6"),
        (
            "## Mitigations\n",
            "## Mitigation\n",
            "expected a '- ' item of risks or '## Mitigations'",
        ),
        ("- Drift", "* Drift", "line 23: expected a '- ' item of risks or '## Mitigations'"),
        ("- Drift: thresholds tuned to last month's traffic", "-", "line 23: risks item '' is not"),
        ("a rolling window", "a rolling window\n\n## Appendix", "item of mitigations or the end"),
    ],
)
def test_a_document_that_is_not_a_report_is_refused_with_its_line(
    old: str, new: str, expected: str
) -> None:
    assert DOCUMENT.count(old) == 1
    assert expected in error_of(parse_markdown, DOCUMENT.replace(old, new))


def test_missing_parts_are_named() -> None:
    assert "ends where the field '- id:' was expected" in error_of(
        parse_markdown, "# FSAR Proposal Report\n"
    )
    assert "ends where the title" in error_of(parse_markdown, "")
    proposal_only = DOCUMENT.replace("\n\n\n", "\n\n").replace(PROPOSAL, " ")
    assert "line 6: proposal" in error_of(parse_markdown, proposal_only)
    assert "no '## Mitigations' heading after the risks" in error_of(
        parse_markdown, DOCUMENT.split("\n\n## Mitigations")[0]
    )


def test_a_report_at_every_cap_is_accepted_and_round_trips() -> None:
    at_caps = make_report(
        proposal="p" * MAX_PROPOSAL_CHARS,
        risks=tuple(f"{i:04d}" + "r" * (MAX_ITEM_CHARS - 4) for i in range(MAX_ITEMS)),
        mitigations=("m" * MAX_ITEM_CHARS,) * MAX_ITEMS,
        findings=({"summary": "s" * (MAX_FINDINGS_BYTES // MAX_FINDINGS - 20)},) * MAX_FINDINGS,
    )
    assert parse_markdown(render_markdown(at_caps)) == dataclasses.replace(at_caps, findings=())


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"proposal": "p" * (MAX_PROPOSAL_CHARS + 1)},
            f"proposal is {MAX_PROPOSAL_CHARS + 1:,} characters long; at most "
            f"{MAX_PROPOSAL_CHARS:,} are accepted",
        ),
        (
            {"risks": ("r",) * (MAX_ITEMS + 1)},
            f"risks hold {MAX_ITEMS + 1} items; at most {MAX_ITEMS} are accepted",
        ),
        (
            {"mitigations": ("ok", "m" * (MAX_ITEM_CHARS + 1))},
            f"mitigations[1] is {MAX_ITEM_CHARS + 1:,} characters long; at most "
            f"{MAX_ITEM_CHARS:,} are accepted",
        ),
        (
            {"findings": ({"passed": True},) * (MAX_FINDINGS + 1)},
            f"findings hold {MAX_FINDINGS + 1} checks; at most {MAX_FINDINGS} are accepted",
        ),
        (
            {"findings": ({"evidence": "e" * MAX_FINDINGS_BYTES},)},
            f"at most {MAX_FINDINGS_BYTES:,} bytes of JSON are accepted",
        ),
    ],
)
def test_fields_past_their_caps_are_refused_by_name(
    changes: dict[str, object], expected: str
) -> None:
    assert expected in error_of(make_report, **changes)


def test_a_document_past_a_cap_is_refused_with_its_line() -> None:
    long_proposal = DOCUMENT.replace(PROPOSAL, "p" * (MAX_PROPOSAL_CHARS + 1))
    assert "line 6: proposal is" in error_of(parse_markdown, long_proposal)
    many_risks = DOCUMENT.replace("## Risks\n", "## Risks\n" + "- another risk\n" * (MAX_ITEMS - 1))
    line = DOCUMENT.splitlines().index("## Risks") + 1 + MAX_ITEMS + 1
    assert f"line {line}: risks hold more than {MAX_ITEMS} items" in error_of(
        parse_markdown, many_risks
    )
