"""Fault scenarios: something going wrong in the demo business's last days, for detectors."""

from dataclasses import dataclass

from governor.errors import BadInput


@dataclass(frozen=True)
class Scenario:
    """A change to the business over its last `last_days` days (None: as usual)."""

    name: str
    description: str
    last_days: float
    failure_rate: float | None = None
    refund_rate: float | None = None
    double_charge_rate: float | None = None
    task_failure_rate: float | None = None
    model: str | None = None
    token_factor: float | None = None


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "failed-charges",
            "A third of the charges of the last day are declined.",
            1,
            failure_rate=0.35,
        ),
        Scenario(
            "refund-wave",
            "A quarter of the last two days' orders are refunded at once.",
            2,
            refund_rate=0.25,
        ),
        Scenario(
            "double-charge",
            "A checkout bug charges 5% of the last three days' orders twice.",
            3,
            double_charge_rate=0.05,
        ),
        Scenario(
            "agent-failures",
            "40% of the agents' tasks of the last day fail.",
            1,
            task_failure_rate=0.4,
        ),
        Scenario(
            "cost-spike",
            "Fulfilment switches to gpt-4o with prompts four times as long for the last two days.",
            2,
            model="gpt-4o",
            token_factor=4.0,
        ),
    )
}


def get(name: str | None) -> Scenario | None:
    """The scenario of a name (None for none); BadInput naming the known ones."""
    if name is None or name == "none":
        return None
    found = SCENARIOS.get(name)
    if found is None:
        known = ", ".join(sorted(SCENARIOS))
        raise BadInput(f"Unknown scenario '{name}'.", hint=f"Use one of: {known}.")
    return found
