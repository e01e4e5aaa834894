"""Numbers as the pages write them: money per currency, AI micro-dollars, durations, CSV cells."""

from datetime import UTC, datetime

from governor.web.pages.tables import (
    Column,
    Table,
    duration,
    money,
    percent,
    short_id,
    usd_micros,
)


def test_money_is_grouped_signed_and_in_its_currency():
    assert money(123450, "usd") == "$1,234.50"
    assert money(-59, "eur") == "-€0.59"
    assert money(1000, "jpy") == "¥1,000"
    assert money(5124, "kwd") == "5.124 KWD"
    assert money(None, "usd") == "—"


def test_ai_costs_show_two_to_four_decimals():
    assert usd_micros(4500) == "$0.0045"
    assert usd_micros(120_000) == "$0.12"
    assert usd_micros(1_234_567_890) == "$1,234.57"
    assert usd_micros(0) == "$0.00"
    assert usd_micros(-25_175) == "-$0.0252"


def test_durations_read_at_a_glance():
    assert duration(850) == "850 ms"
    assert duration(12_300) == "12.3 s"
    assert duration(245_000) == "4 min 05 s"
    assert duration(7_380_000) == "2 h 03 min"
    assert percent(1.25) == "125%" and percent(0.125) == "12.5%" and percent(None) == "—"
    assert short_id("task_01m8gntwzgpqhjjx0edmvn2kmm") == "task_…dmvn2kmm"
    assert short_id("ch_123") == "ch_123"


def test_csv_cells_are_plain_numbers_and_defused_text():
    rows = [{"id": "t1", "when": datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "amount": -4900,
             "currency": "usd", "cost": 4500, "note": "=HYPERLINK(\"http://x\")"}]  # fmt: skip
    table = Table("t", [Column("id", "Id"), Column("when", "When", "datetime"),
                        Column("amount", "Amount", "money"), Column("cost", "Cost", "micros"),
                        Column("note", "Note")], rows)  # fmt: skip
    lines = table.csv_text().splitlines()
    assert lines[0] == "id,when,amount,cost_usd,note"
    assert lines[1] == 't1,2026-01-02T03:04:00+00:00,-49.00,0.004500,"\'=HYPERLINK(""http://x"")"'
