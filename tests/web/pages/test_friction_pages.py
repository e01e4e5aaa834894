"""The fulfilment queue, the feedback list and the offer's friction panel and timeline, as a
signed-in user sees them, and their JSON twins, from known rows on both databases."""

import csv
import io
import re

from governor.models.types import utcnow
from tests.offers.queue_world import a_world
from tests.web.pages.html import kpi, link_to, links, table, text, timeline


def _kpi_value(page: str, key: str) -> str:
    """The value of a figure card, a link or not."""
    match = re.search(rf'data-kpi="{key}"[^>]*>.*?<span class="kpi-value">(.*?)</span>', page,
                      re.S)  # fmt: skip
    assert match, f"no card {key}"
    return text(match.group(1))


def test_the_queue_page_lists_what_waits_and_filters_by_state_and_provider(
    migrated, client, configure
):
    configure(outbound_breaker_failures=5, outbound_breaker_reset_seconds=3600)
    world = a_world(migrated, utcnow())
    page = client.get("/fulfilment").text
    assert [_kpi_value(page, k) for k in ("all", "waiting", "failing", "action_required",
                                          "over_sla")] == ["5", "2", "2", "1", "1"]  # fmt: skip
    rows = table(page, "queue")
    assert [r[1] for r in rows] == ["Resume rewrite", "Logo pack", "Logo pack", "Resume rewrite",
                                    "Resume rewrite"]  # fmt: skip
    late = rows[0]
    assert late[2:9] == ["deliver", "mail.example", "waiting", "3 h 00 min", "yes", "1", "0"]
    assert rows[1][2:5] + rows[1][6:10] == ["licence", "licences.example", "failing", "no", "5",
                                            "2", "licences.example answered 500"]  # fmt: skip
    assert rows[3][2:4] == ["(not started)", "—"]
    assert rows[4][4] == "action_required"
    assert f"/orders/{world.orders['late']}" in links(page)
    assert '<tr class="late">' in page  # the row over its SLA is marked

    failing = client.get(kpi(page, "failing")["href"]).text
    assert [r[2] for r in table(failing, "queue")] == ["licence", "deliver"]
    mailer = client.get(link_to(page, "mail.example")).text
    assert [r[2:4] for r in table(mailer, "queue")] == [["deliver", "mail.example"]] * 2
    assert _kpi_value(mailer, "all") == "2"
    late_only = client.get("/fulfilment?state=over_sla").text
    assert len(table(late_only, "queue")) == 1

    health = {r[0]: r for r in table(page, "providers")}
    assert sorted(health) == ["licences.example", "mail.example", "ship.example"]
    assert health["licences.example"][1:] == ["1", "0", "5", "5", "100%", "2", "0", "open"]
    assert health["mail.example"][1:] == ["2", "0", "4", "0", "0%", "1", "0", "closed"]
    assert health["ship.example"][1:] == ["1", "0", "0", "0", "—", "0", "0", "—"]

    exported = list(csv.DictReader(io.StringIO(client.get("/fulfilment?format=csv").text)))
    assert [r["order_id"] for r in exported][:1] == [world.orders["late"]]
    assert exported[0]["offer_id"] == world.resume
    assert 180 <= int(exported[0]["age_ms"]) // 60_000 < 185  # paid 3 h before the world was made


def test_the_queue_page_refuses_an_unknown_state_in_one_line(migrated, client):
    answer = client.get("/fulfilment?state=lost")
    assert answer.status_code == 400
    assert "Unknown state 'lost'" in text(answer.text) and "over_sla" in answer.text
    api = client.get("/api/fulfilment/queue?state=lost")
    assert api.status_code == 400 and "state" in api.json()["message"]


def test_the_queue_s_json_twins(migrated, client, configure):
    configure(outbound_breaker_failures=5, outbound_breaker_reset_seconds=3600)
    world = a_world(migrated, utcnow())
    items = client.get("/api/fulfilment/queue").json()
    assert [i["order_id"] for i in items][:2] == [world.orders["late"], world.orders["licence"]]
    assert items[0]["over_sla"] is True and items[0]["sla_minutes"] == 60
    asked = {"state": "failing", "provider": "licences.example"}
    failing = client.get("/api/fulfilment/queue", params=asked).json()
    assert [(i["step"], i["attempts"], i["status"]) for i in failing] == [("licence", 5, "failed")]
    assert client.get("/api/fulfilment/counts").json() == {
        "total": 5, "waiting": 2, "failing": 2, "action_required": 1, "over_sla": 1}  # fmt: skip
    providers = {p["provider"]: p for p in client.get("/api/fulfilment/providers").json()}
    assert providers["licences.example"]["breaker"] == "open"
    assert (providers["mail.example"]["calls"], providers["mail.example"]["responses_429"]) == (
        4, 1)  # fmt: skip


def test_the_feedback_list_with_each_offer_s_figures_and_filters(migrated, client):
    world = a_world(migrated, utcnow())
    page = client.get("/feedback").text
    summary = {r[0]: r[1:] for r in table(page, "offers")}
    assert summary == {"Resume rewrite": ["2.00", "1", "1", "100%"],
                       "Logo pack": ["5.00", "1", "1", "100%"]}  # fmt: skip
    rows = table(page, "feedback")
    assert [(r[1], r[2], r[4], r[5]) for r in rows] == [
        ("5", "Lovely logos", "Logo pack", "AI resume rewriter"),
        ("2", "It arrived late and broken", "Resume rewrite", "AI resume rewriter"),
    ]
    assert f"/orders/{world.orders['done']}" in links(page)
    low = client.get("/feedback?rating=2").text
    assert [r[2] for r in table(low, "feedback")] == ["It arrived late and broken"]
    one = client.get(link_to(page, "Logo pack")).text  # the summary's link filters by offer
    assert [r[2] for r in table(one, "feedback")] == ["Lovely logos"]
    assert list(summary) != [r[0] for r in table(one, "offers")]  # only that offer's figures
    assert client.get("/feedback?rating=9").status_code == 400
    api = client.get("/api/feedback", params={"rating": 5}).json()
    assert [a["text"] for a in api] == ["Lovely logos"]
    assert client.get("/api/feedback?rating=0").status_code == 400
    per_offer = client.get("/api/feedback/offers").json()
    assert {o["offer_title"]: o["mean_rating"] for o in per_offer} == {
        "Resume rewrite": 2.0, "Logo pack": 5.0}  # fmt: skip


def test_the_offer_page_shows_its_friction_and_its_timeline(migrated, client):
    world = a_world(migrated, utcnow())
    page = client.get(f"/offers/{world.resume}?range=7d").text  # the cohort of 14 to 7 days ago
    assert [_kpi_value(page, k) for k in ("sessions", "abandonment", "paid", "fulfilled",
                                          "rating", "over_sla")] == [
        "5", "40%", "2", "1", "2.00", "1"]  # fmt: skip
    assert kpi(page, "over_sla")["href"] == f"/fulfilment?state=over_sla&offer_id={world.resume}"
    late = client.get(kpi(page, "over_sla")["href"]).text
    assert [r[2] for r in table(late, "queue")] == ["deliver"]
    abandoned = client.get(kpi(page, "abandonment")["href"]).text  # the funnel's rows behind
    assert sorted(r[1] for r in table(abandoned, "steps")) == ["cs_q2", "cs_q3"]
    moves = timeline(page)
    assert [m[0] for m in moves] == ["created as draft", "draft → live", "live → paused",
                                     "paused → live"]  # fmt: skip
    assert moves[1][1].startswith("by task:")
    assert moves[2] == ["live → paused", "by user:ada", "Shipping provider down"]
    assert any(h.startswith("/tasks/task_") for h in links(page))
    history = list(csv.DictReader(io.StringIO(
        client.get(f"/offers/{world.resume}?format=csv&table=history").text)))  # fmt: skip
    assert [h["to_status"] for h in history] == ["draft", "live", "paused", "live"]
    quiet = client.get(f"/offers/{world.resume}?range=24h").text  # 8 to 7 days ago: nothing
    assert _kpi_value(quiet, "sessions") == "0" and _kpi_value(quiet, "abandonment") == "—"
    assert _kpi_value(quiet, "over_sla") == "1"  # now, whatever the period
    counts = client.get("/api/fulfilment/counts", params={"offer_id": world.resume}).json()
    assert (counts["total"], counts["over_sla"]) == (3, 1)
