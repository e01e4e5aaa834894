"""Costs by type and model, the task list and its filters, a task's error and span waterfall."""

import csv
import io

from tests.web.pages.data import a_business, spans_of
from tests.web.pages.html import footer, link_to, links, table


def test_ai_cost_drills_down_from_type_to_model_to_tasks_to_a_tasks_spans(migrated, client):
    biz = a_business(migrated)
    spans_of(migrated, biz.task_id, biz.task_started)
    costs = client.get("/costs?range=7d").text
    by_type = table(costs, "types")
    assert [r[0] for r in by_type] == ["fulfill_order", "write_copy"]  # costliest first
    assert by_type[0][1:5] == ["2", "1", "50%", "$0.0052"]
    assert footer(costs, "types")[0][:5] == ["Total", "3", "1", "33.3%", "$0.0064"]
    assert '<script type="application/json" id="chart-costs-data">' in costs

    type_page = client.get(link_to(costs, "fulfill_order")).text
    models = table(type_page, "models")
    assert [(r[1], r[5]) for r in models] == [("gpt-4o", "$0.0045"), ("gpt-4o-mini", "$0.0007")]
    tasks_href = link_to(type_page, "gpt-4o")
    assert tasks_href == "/tasks?type=fulfill_order&ai_model=gpt-4o&kind=agent&range=7d&grain=day"

    tasks = client.get(tasks_href).text
    rows = table(tasks, "tasks")
    assert len(rows) == 1 and rows[0][1:4] == ["fulfill_order", "succeeded", "gpt-4o"]
    assert f"/tasks/{biz.task_id}" in links(tasks)

    task = client.get(f"/tasks/{biz.task_id}").text
    assert "$0.0045" in task and "3.0 s" in task
    assert f'href="/orders/{biz.order_id}"' in task and f'href="/offers/{biz.offer_id}"' in task
    waterfall = task[task.index('class="waterfall"') :]
    order = ["fulfill_order", "chat gpt-4o", "POST api.openai.com /v1/chat/completions",
             "SELECT * FROM orders WHERE id = ?"]  # fmt: skip
    positions = [waterfall.index(f'<span class="wf-label">{label}</span>') for label in order]
    assert positions == sorted(positions)  # parents before children, children by start
    assert '<details class="wf-row k-http">' in waterfall
    assert 'style="--depth: 2" title="POST api.openai.com /v1/chat/completions"' in waterfall
    assert 'style="left: 5.0%; width: 63.333%"' in waterfall  # 150 ms in, 1.9 s of 3 s
    assert "\u00d712" in waterfall and ">1.9 s<" in waterfall and ">30 ms<" in waterfall
    spans = list(csv.DictReader(io.StringIO(client.get(
        f"/tasks/{biz.task_id}?format=csv&table=spans").text)))  # fmt: skip
    assert [(s["kind"], int(s["duration_us"]) // 1000) for s in spans] == [
        ("internal", 3000), ("llm", 2000), ("http", 1900), ("db", 30)]  # fmt: skip


def test_tasks_filter_paginate_and_show_their_error(migrated, client):
    biz = a_business(migrated)
    failed = client.get("/tasks?status=failed").text
    assert [r[2] for r in table(failed, "tasks")] == ["failed"]
    assert "status: <b>failed</b>" in failed  # the active filter, removable
    detail = client.get(f"/tasks/{biz.failed_task_id}").text
    assert "RateLimitError: 429 after 3 attempts" in detail and "Traceback" in detail

    first = client.get("/tasks?limit=2").text
    assert len(table(first, "tasks")) == 2 and "1\u20132 of 3" in first  # 1-2 of 3
    second = client.get(link_to(first, "Older →")).text
    assert len(table(second, "tasks")) == 1

    everything = list(csv.DictReader(io.StringIO(client.get("/tasks?format=csv&limit=2").text)))
    assert len(everything) == 3  # a CSV holds every page
    assert {r["cost_micros_usd"] for r in everything} == {"0.004500", "0.000700", "0.001200"}

    bad = client.get("/tasks?status=exploded")
    assert bad.status_code == 400
    assert "Unknown status &#39;exploded&#39;." in bad.text and "Traceback" not in bad.text
    assert client.get("/costs?range=yesterday").status_code == 400
    missing = client.get("/tasks/task_nope")
    assert missing.status_code == 404 and "No task task_nope." in missing.text
