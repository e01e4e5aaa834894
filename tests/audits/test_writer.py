"""The report writer: whatever the checks say, an audit writes a report the store accepts."""

from datetime import UTC, datetime

from governor.audits.checks import CheckResult
from governor.audits.fsar import MAX_ITEM_CHARS, MAX_PROPOSAL_CHARS, FsarReport
from governor.audits.writer import write_report


def test_an_audit_whose_checks_say_too_much_still_writes_a_report_within_the_caps() -> None:
    wordy = [
        CheckResult(f"check_{number}", False, 5, "s" * 2_000, action="a" * 3_000, risk="r" * 3_000)
        for number in range(60)
    ]
    report = write_report(wordy, datetime(2026, 12, 3, tzinfo=UTC), block_execution=False,
                          every="1h")  # fmt: skip

    assert len(report.proposal) <= MAX_PROPOSAL_CHARS
    assert report.proposal.endswith("more characters in the findings)")
    assert all(len(item) <= MAX_ITEM_CHARS for item in (*report.risks, *report.mitigations))
    assert report.risks[0].startswith("check_0: rrr")
    # The report survives its own round trip, as the store and `fsar show` read it.
    assert FsarReport.from_dict(report.to_dict()) == report
