"""Stripe's itemized balance-change report: parse, refuse whole files with every problem, write."""

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from governor.demo.stripe_server import Clock, StripeStore
from governor.demo.stripe_server.reports import itemized_report
from governor.demo.stripe_server.store import DAY
from governor.errors import BadInput
from governor.revenue.report import COLUMNS, ReportRow, parse_report, write_report

START = 1_767_225_600  # 2026-01-01T00:00:00Z
T0 = datetime.fromtimestamp(START, UTC)
HEADER = ",".join(COLUMNS)


def row(n: int, **changes: object) -> ReportRow:
    values: dict[str, object] = {
        "id": f"txn_{n:04d}",
        "created": T0 + timedelta(minutes=n),
        "available_on": T0 + timedelta(days=2),
        "currency": "usd",
        "amount_minor": 1000,
        "fee_minor": 59,
        "net_minor": 941,
        "reporting_category": "charge",
        "source_id": f"ch_{n:04d}",
        "description": None,
        "payout_id": None,
    }
    values.update(changes)
    return ReportRow(**values)


def write(text: str, name: str = "report.csv") -> Path:
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(BadInput) as caught:
        parse_report(path)
    return caught.value.message


def test_reads_stripe_layout_in_any_column_order_ignoring_other_columns() -> None:
    path = write(
        "reporting_category,balance_transaction_id,gross,fee,net,currency,created_utc,"
        "available_on_utc,customer_id,description,source_id,automatic_payout_id\r\n"
        "charge,txn_1,10.00,0.59,9.41,usd,2026-01-01 00:00:00,2026-01-03 00:00:00,cus_1,"
        '"Acme, Inc. ""monthly"" plan",ch_1,po_1\r\n'
        "refund,txn_2,-2.50,0.00,-2.50,USD,2026-01-02 08:30:00,2026-01-02 08:30:00,,,re_1,\r\n"
        "charge,txn_3,1000,37,963,jpy,2026-01-02 09:00:00,,,,ch_2,\r\n"
        "dispute,txn_4,-5.120,15.000,-20.120,kwd,2026-01-03 00:00:00,2026-01-03,,,dp_1,\r\n"
    )

    rows = parse_report(path)

    assert rows[0] == ReportRow(
        id="txn_1",
        created=T0,
        available_on=T0 + timedelta(days=2),
        currency="usd",
        amount_minor=1000,
        fee_minor=59,
        net_minor=941,
        reporting_category="charge",
        source_id="ch_1",
        description='Acme, Inc. "monthly" plan',
        payout_id="po_1",
    )
    assert [(r.currency, r.amount_minor, r.fee_minor, r.net_minor) for r in rows] == [
        ("usd", 1000, 59, 941),
        ("usd", -250, 0, -250),
        ("jpy", 1000, 37, 963),
        ("kwd", -5120, 15000, -20120),
    ]
    assert rows[1].description is None and rows[1].payout_id is None
    assert rows[2].available_on is None
    assert all(r.created.tzinfo is UTC for r in rows)
    with pytest.raises(FrozenInstanceError):
        rows[0].id = "txn_other"


def test_round_trip() -> None:
    rows = [
        row(1, description='Order 1, "gift"\nsecond line', payout_id="po_1"),
        row(2, amount_minor=-250, fee_minor=0, net_minor=-250, reporting_category="refund"),
        row(3, currency="jpy", amount_minor=1000, fee_minor=29, net_minor=971, available_on=None),
        row(4, currency="kwd", amount_minor=5124, fee_minor=150, net_minor=4974, source_id=None),
        row(
            5, created=T0 + timedelta(microseconds=250), amount_minor=0, fee_minor=30, net_minor=-30
        ),
    ]
    path = Path("out.csv")

    write_report(rows, path)

    assert path.read_text().splitlines()[0] == HEADER
    assert ",jpy,1000,29,971," in path.read_text()
    assert ",kwd,5.124,0.150,4.974," in path.read_text()
    assert parse_report(path) == rows


def test_iso_8601_times_and_the_created_column() -> None:
    path = write(
        "balance_transaction_id,created,available_on,currency,gross,fee,net,reporting_category\n"
        "txn_1,2026-01-01T00:00:00Z,2026-01-03,usd,1.00,0.00,1.00,charge\n"
        "txn_2,2026-01-01T02:00:00+02:00,2026-01-03T00:00:00+00:00,usd,1.00,0.00,1.00,charge\n"
        "txn_3,2026-01-01T00:00:00,,usd,1.00,0.00,1.00,charge\n"
    )
    rows = parse_report(path)
    assert [r.created for r in rows] == [T0, T0, T0]
    assert [r.available_on for r in rows] == [T0 + timedelta(days=2)] * 2 + [None]
    assert rows[0].source_id is None and rows[0].payout_id is None


def test_utf8_bom_is_tolerated() -> None:
    path = Path("bom.csv")
    path.write_bytes(("\ufeff" + HEADER + "\n" + "txn_1,2026-01-01 00:00:00,,usd,1.00,0.00,1.00,"
                      "charge,,,\n").encode())  # fmt: skip
    assert [r.id for r in parse_report(path)] == ["txn_1"]


def test_every_bad_line_is_named_and_nothing_is_returned() -> None:
    good = "2026-01-01 00:00:00,,usd,10.00,0.59,9.41,charge,ch_1,,"
    lines = [HEADER] + [f"txn_{n},{good}" for n in range(2, 10)]
    lines[3] = "txn_4,2026-01-01 00:00:00,,usd,10.0x,0.59,9.41,charge,ch_1,,"  # line 4
    lines[6] = "txn_7,yesterday,,usd,10.00,0.59,9.41,charge,ch_1,,"  # line 7
    message = refused(write("\n".join(lines) + "\n"))

    assert "2 problems; nothing was imported" in message
    assert "line 4: gross '10.0x' is not an amount" in message
    assert "line 7: created_utc 'yesterday' is not a date and time" in message
    assert "line 5" not in message


def test_line_numbers_count_lines_of_the_file_even_inside_quoted_cells() -> None:
    good = "2026-01-01 00:00:00,,usd,10.00,0.59,9.41,charge,ch_1"
    lines = [
        HEADER,  # line 1
        f'txn_2,{good},"a description',  # line 2
        'on two lines",',  # line 3
        f"txn_4,{good},,",  # line 4
        "",  # line 5
        "txn_6,x,,usd,1.00,0.00,1.00,charge,,,",  # line 6
    ]
    message = refused(write("\n".join(lines) + "\n"))
    assert (
        "has 1 problem; nothing was imported:\n  line 6: created_utc 'x' is not a date" in message
    )


def test_problems_of_each_kind() -> None:
    t = "2026-01-01 00:00:00"
    message = refused(
        write(
            f"{HEADER}\n"
            f"txn_1,{t},,usd,10.00,0.59,9.41,charge,,,\n"
            f"txn_1,{t},,usd,10.00,0.59,9.41,charge,,,\n"  # line 3: again
            f"txn_3,{t},,usd,10.00,0.59,9.42,charge,,,\n"  # line 4: 10.00 - 0.59 != 9.42
            f"txn_4,{t},,xyz,10.00,0.59,9.41,charge,,,\n"  # line 5
            f"txn_5,{t},,,10.00,0.59,9.41,charge,,,\n"  # line 6
            f",{t},,usd,10.00,0.59,9.41,charge,,,\n"  # line 7
            f"txn_7,{t},,jpy,10.5,0,10.5,charge,,,\n"  # line 8: twice, gross and net
            f"txn_8,{t},soon,usd,1.00,0.00,1.00,,,,\n"  # line 9: twice
            f"txn_9,{t},,usd,1.00\n"  # line 10
        )
    )
    assert "has 10 problems" in message
    for expected in [
        "line 3: txn_1 is listed twice (first on line 2)",
        "line 4: gross 10.00 minus fee 0.59 is 9.41, not net 9.42",
        "line 5: currency 'xyz' is not an ISO 4217 code",
        "line 6: currency is blank",
        "line 7: balance_transaction_id is blank",
        "line 8: gross '10.5' has more decimal places than JPY has (0)",
        "line 8: net '10.5' has more decimal places than JPY has (0)",
        "line 9: available_on_utc 'soon' is not a date and time",
        "line 9: reporting_category is blank",
        "line 10: has 5 cells, the header has 11",
    ]:
        assert expected in message


def test_the_first_twenty_problems_then_how_many_more() -> None:
    bad = [f"txn_{n},never,,usd,1.00,0.00,1.00,charge,,," for n in range(25)]
    message = refused(write("\n".join([HEADER, *bad])))
    assert "line 21:" in message and "line 22:" not in message
    assert message.endswith("… and 5 more")


def test_missing_columns_are_named_with_the_required_ones() -> None:
    message = refused(write("balance_transaction_id,created_utc,currency,gross,net\ntxn_1\n"))
    assert "has no column fee, reporting_category" in message
    assert (
        "balance_transaction_id, created_utc, currency, gross, fee, net, reporting_category"
        in message
    )


def test_empty_header_only_missing_and_undecodable_files() -> None:
    assert "is empty" in refused(write(""))
    assert "has a header but no rows" in refused(write(HEADER + "\n\n"))
    assert "cannot read nowhere.csv" in refused(Path("nowhere.csv"))
    Path("latin1.csv").write_bytes(HEADER.encode() + b"\ntxn_1,\xe9\n")
    assert "latin1.csv is not UTF-8 text" in refused(Path("latin1.csv"))


def test_the_stand_in_report_parses_back_to_its_balance_transactions() -> None:
    store = StripeStore(clock=Clock(START), seed=1)
    usd = store.create_charge(10_000, "usd")  # fee 320
    store.create_charge(5_000, "jpy")  # fee 145, zero-decimal
    store.clock.advance(600)
    store.refund(usd["id"], 2_500)
    store.clock.advance(3 * DAY)  # the charges are available now
    payout = store.create_payout(currency="usd")
    store.clock.advance(60)
    store.create_charge(700, "usd")  # after the payout: not in it

    path = Path("stand-in.csv")
    write_report(itemized_report(store), path)
    rows = parse_report(path)

    txns = sorted(store.all("balance_transactions"), key=store.sort_key)
    expected = [t for t in txns if t["reporting_category"] != "payout"]
    assert [r.id for r in rows] == [t["id"] for t in expected]
    for got, txn in zip(rows, expected, strict=True):
        assert (got.amount_minor, got.fee_minor, got.net_minor, got.currency) == (
            txn["amount"], txn["fee"], txn["net"], txn["currency"],
        )  # fmt: skip
        assert got.created == datetime.fromtimestamp(txn["created"], UTC)
        assert got.available_on == datetime.fromtimestamp(txn["available_on"], UTC)
        assert (got.reporting_category, got.source_id) == (txn["reporting_category"], txn["source"])
    assert [r.reporting_category for r in rows] == ["charge", "charge", "refund", "charge"]
    assert [r.payout_id for r in rows] == [payout["id"], None, payout["id"], None]
    assert rows[1].amount_minor == 5_000 and rows[1].fee_minor == 145
    assert ",jpy,5000,145,4855," in path.read_text()

    everything = itemized_report(store, include_payouts=True)
    assert [r.id for r in everything] == [t["id"] for t in txns]
    assert everything[3].net_minor == -payout["amount"]
    later = itemized_report(store, since=START + 600, until=START + 600 + 3 * DAY + 60)
    assert [r.reporting_category for r in later] == ["refund"]


def test_write_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        write_report([row(1, created=datetime(2026, 1, 1))], Path("naive.csv"))
