"""The seed scenario end to end: `governor demo --scenario seed`, then `governor audit run`
names every problem the seed report describes, with its evidence, and stops the agents."""

import json

import pytest

from governor.audits.fsar import parse_markdown
from governor.demo.business.seed_friction import FRICTION_PROVIDER
from governor.demo.business.seed_world import REPEATED, SLOW_API, THROTTLING_API
from governor.storage.db import get_engine, session_scope
from governor.storage.guard import check_schema
from governor.tasks import gate

pytestmark = pytest.mark.slow


def test_the_audit_of_the_seed_world_names_each_problem_and_blocks_execution(migrated, cli):
    planted = cli("demo", "--scenario", "seed", "--days", "14")
    assert planted.exit_code == 0, planted.output
    world = dict(line.strip().split(": ", 1) for line in planted.stdout.splitlines()
                 if line.startswith("  "))  # fmt: skip
    # what the demo says it did to the schema is what the guard finds: a change by hand
    assert "execution_tasks.ai_model was dropped by hand" in planted.stdout
    assert "migration behind" not in planted.stdout
    [dropped] = [p for p in check_schema(get_engine()).problems
                 if p.object == world["dropped_column"]]  # fmt: skip
    assert "changed by hand?" in dropped.fix and "governor db repair" in dropped.fix

    ran = cli("audit", "run", "--json")
    assert ran.exit_code == 1
    report = json.loads(ran.stdout)
    assert report["severity"] >= 6 and report["block_execution"] is True
    failing = {f["name"]: f for f in report["findings"] if not f["passed"]}
    proposal = report["proposal"]
    assert "execution_tasks.ai_model" in failing["schema"]["summary"]  # one migration behind
    slow = failing["task_performance"]["summary"]
    assert "implement_idea takes" in slow and SLOW_API in slow and REPEATED in slow
    assert world["failed_charge"] in failing["failed_charges"]["summary"]
    assert world["missing_charge"] in failing["reconciliation"]["summary"]
    assert failing["reconciliation"]["hard"]  # money missing from the ledger
    assert THROTTLING_API in failing["outbound"]["summary"] and "429" in proposal
    assert "Gross revenue dropped" in failing["revenue_trend"]["summary"]
    abandonment = failing["checkout_abandonment"]["summary"]  # the high-friction offer
    assert world["friction_offer_id"] in abandonment and "at the payment step" in abandonment
    assert FRICTION_PROVIDER in failing["fulfilment_providers"]["summary"]
    assert "of first attempts" in failing["fulfilment_providers"]["summary"]
    assert failing["fulfilment_sla"]["evidence"]["over_sla"] >= 2
    for text in ("ai_model", "implement_idea", world["missing_charge"], THROTTLING_API,
                 world["friction_offer_id"], FRICTION_PROVIDER):  # fmt: skip
        assert text in proposal

    with session_scope(readonly=True) as session:
        state = gate.status(session)
    assert not state.open and state.report_id == report["id"]

    shown = cli("fsar", "show", report["id"])  # readable on the drifted database
    assert shown.exit_code == 0 and shown.stdout.startswith("# FSAR Proposal Report\n")
    parsed = parse_markdown(shown.stdout)
    assert (parsed.id, parsed.severity, parsed.block_execution) == (
        report["id"],
        report["severity"],
        True,
    )
    assert parsed.risks and parsed.mitigations


def test_the_operator_reads_the_gate_alerts_and_tasks_of_the_drifted_seed_world_then_repairs_it(
    migrated, cli
):
    assert cli("demo", "--scenario", "seed", "--days", "3", "--json").exit_code == 0
    report = json.loads(cli("audit", "run", "--json").stdout)

    status = cli("gate", "status", "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["report_id"] == report["id"]  # stdout stays pure JSON
    [warning] = status.stderr.strip().splitlines()
    assert warning.startswith("warning: the schema differs") and "ai_model" in warning
    alerts = cli("alerts", "list", "--json")
    assert alerts.exit_code == 0, alerts.output
    assert any(a["kind"] == "audit" for a in json.loads(alerts.stdout))
    tasks = cli("tasks", "list", "--type", "implement_idea", "--json")
    assert tasks.exit_code == 0, tasks.output
    listed = json.loads(tasks.stdout)
    assert listed and all(t["ai_model"] is None for t in listed)  # the column is not there
    shown = cli("tasks", "show", listed[0]["id"])
    assert shown.exit_code == 0 and listed[0]["id"] in shown.stdout
    refused = cli("tasks", "submit", "implement_idea")  # agent work still refuses
    assert refused.exit_code == 1 and "refusing to run" in refused.stderr

    repaired = cli("db", "repair")
    assert repaired.exit_code == 0, repaired.output
    assert "backup: " in repaired.stdout and "the schema is clean" in repaired.stdout
    clean = cli("gate", "status")
    assert clean.exit_code == 0 and clean.stderr == "" and "closed" in clean.stdout
