"""/funnel and /funnel/{offer} show the known figures; a step lists its Stripe ids; the JSON."""

import re

from governor.models.types import utcnow
from tests.offers import funnel_data
from tests.web.pages.html import table


def steps(page: str) -> list[tuple[str, str]]:
    """(step, count) of each drawn funnel step, in order."""
    found = re.findall(r'<li class="funnel-step" data-step="(\w+)">.*?'
                       r'<span class="funnel-count">([^<]*)</span>', page, re.S)  # fmt: skip
    return [(k, v) for k, v in found]


def test_funnel_page_draws_each_offers_steps_and_drop_offs(migrated, client):
    ids = funnel_data.build(migrated, now=utcnow())
    page = client.get("/funnel?range=30d")
    assert page.status_code == 200
    text = page.text
    assert steps(text) == [("viewed", "10"), ("started", "9"), ("paid", "5"), ("fulfilled", "3"),
                           ("rated", "2")]  # fmt: skip
    assert "\u22124</b> (44.4%) lost" in text  # started → paid: minus four
    assert f'href="/funnel/{ids["offer"]}?step=paid&amp;range=30d' in text
    assert 'href="/funnel"' in text and ">Funnel</a>" in text  # the navigation's link
    offers = table(text, "offers")
    assert offers[0][:8] == ["Resume rewrite", "10", "9", "5", "3", "2", "25%", "14.3%"]
    assert offers[0][9] == "$98.00"
    providers = {r[0]: r for r in table(text, "providers")}
    assert providers["mailer"][1:3] == ["3", "33.3%"]
    assert providers["mailer"][7:9] == ["100%", "0%"]  # 429s per step on peak days and others
    assert providers["shipper"][6] == "1"  # a call that ended on a 429


def test_offer_page_shows_its_figures_and_a_step_lists_its_stripe_ids(migrated, client):
    ids = funnel_data.build(migrated, now=utcnow())
    page = client.get(f"/funnel/{ids['offer']}?range=30d").text
    assert 'data-figure="time_to_pay"' in page
    figure = re.search(r'data-figure="time_to_pay">.*?kpi-value">([^<]*)<.*?kpi-sub">([^<]*)<',
                       page, re.S)  # fmt: skip
    assert figure is not None and figure.groups() == (
        "3 min 00 s",
        "p95 10 min 00 s · p99 10 min 00 s",
    )
    assert "Abandoned at payment" in page and "14.3%" in page
    lost = client.get(f"/funnel/{ids['offer']}?step=abandoned_at_payment&range=30d").text
    assert [r[1:4] for r in table(lost, "steps")] == [["cs_s5", "expired", "pi_cs_s5"]]
    paid = table(client.get(f"/funnel/{ids['offer']}?step=paid&range=30d&limit=2").text, "steps")
    assert len(paid) == 2
    older = client.get(f"/funnel/{ids['offer']}?step=paid&range=30d&limit=2&offset=4").text
    assert len(table(older, "steps")) == 1  # five paid sessions, two a page
    rated = client.get(f"/funnel/{ids['offer']}?step=rated&range=30d").text
    assert sorted(r[4] for r in table(rated, "steps")) == ["ch_s1", "ch_s2"]
    assert client.get(f"/funnel/{ids['offer']}?step=bought").status_code == 400
    assert client.get("/funnel/offer_nope").status_code == 404


def test_funnel_json(migrated, client):
    ids = funnel_data.build(migrated, now=utcnow())
    body = client.get("/api/funnel?range=30d").json()
    (offer,) = [o for o in body["offers"] if o["offer_id"] == ids["offer"]]
    assert [s["count"] for s in offer["steps"]] == [10, 9, 5, 3, 2]
    assert offer["time_to_fulfil_s"] == {"p50": 200.0, "p95": 300.0, "p99": 300.0}
    assert body["cohort"]["window_days"] == 7
    one = client.get(f"/api/funnel/{ids['offer']}?range=30d").json()
    assert [o["offer_id"] for o in one["offers"]] == [ids["offer"]]
    rows = client.get(f"/api/funnel/{ids['offer']}/steps/fulfilled?range=30d&limit=2").json()
    assert rows["more"] is True and len(rows["rows"]) == 2
    assert all(r["charge_id"].startswith("ch_") for r in rows["rows"])
    assert client.get(f"/api/funnel/{ids['offer']}/steps/bought").status_code == 400
    assert client.get("/api/funnel/offer_nope").status_code == 404
