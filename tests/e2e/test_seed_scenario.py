"""The seed scenario end to end: `governor demo --scenario seed`, then `governor audit run`
names every problem the seed report describes, with its evidence, and stops the agents."""

import json

import pytest

from governor.audits.fsar import parse_markdown
from governor.demo.business.seed_world import REPEATED, SLOW_API, THROTTLING_API
from governor.storage.db import session_scope
from governor.tasks import gate

pytestmark = pytest.mark.slow


def test_the_audit_of_the_seed_world_names_each_problem_and_blocks_execution(migrated, cli):
    planted = cli("demo", "--scenario", "seed", "--days", "14", "--json")
    assert planted.exit_code == 0, planted.output
    world = json.loads(planted.stdout)

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
    for text in ("ai_model", "implement_idea", world["missing_charge"], THROTTLING_API):
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
