"""Stripe objects (plain dicts) into ledger facts and balance facts: pure, no database."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypedDict

Obj = dict[str, Any]

LINKS = ("order_id", "offer_id", "idea_id", "task_id")
"""Metadata keys that link Stripe objects to Governor's orders, offers, ideas and tasks."""

# How far an object's status has come: at equal event times the further status wins, so the
# ledger ends the same whatever order the events arrive in.
STATUS_RANK = {
    "pending": 0, "requires_action": 0, "warning_needs_response": 0,
    "warning_under_review": 1, "needs_response": 1, "in_transit": 1,
    "under_review": 2,
    "succeeded": 3, "failed": 3, "canceled": 3, "paid": 3, "won": 3, "lost": 3,
    "warning_closed": 3, "posted": 3,
}  # fmt: skip

NO_MONEY_STATUSES = ("failed", "canceled", "pending")
"""Statuses of a charge, refund or payout under which no money moved (yet)."""


def status_rank(status: str) -> int:
    """How final a status is (unknown statuses count as advanced but not final)."""
    return STATUS_RANK.get(status, 2)


@dataclass(frozen=True, slots=True)
class EntryFact:
    """What one Stripe object says about one ledger entry; `weak` facts only fill gaps."""

    kind: str
    source_ref: str
    amount_minor: int
    currency: str
    status: str
    occurred_at: datetime
    balance_transaction_id: str | None = None
    charge_id: str | None = None
    payment_intent_id: str | None = None
    order_id: str | None = None
    offer_id: str | None = None
    idea_id: str | None = None
    task_id: str | None = None
    description: str | None = None
    weak: bool = False


@dataclass(frozen=True, slots=True)
class BalanceFact:
    """One Stripe balance transaction, from the API or from an itemized report."""

    id: str
    reporting_category: str
    source_id: str | None
    amount_minor: int
    fee_minor: int
    net_minor: int
    currency: str
    created: datetime
    type: str | None = None
    status: str | None = None
    available_on: datetime | None = None
    payout_id: str | None = None
    description: str | None = None

    @property
    def ledger_kind(self) -> str:
        """The kind of ledger entry that should record this balance change."""
        return ledger_kind(self.reporting_category or self.type or "", self.amount_minor,
                           self.source_id)  # fmt: skip

    @property
    def match_ref(self) -> str:
        """The ledger entry's `source_ref`: the object's id, or this id for account-level ones."""
        if self.ledger_kind in OBJECT_KINDS and self.source_id:
            return self.source_id
        return self.id


OBJECT_KINDS = frozenset(
    {"charge", "refund", "refund_failure", "dispute", "dispute_reversal", "payout",
     "payout_failure"}
)  # fmt: skip
"""Ledger kinds whose entry is keyed by a Stripe object (ch_, re_, dp_, po_), not a txn_."""

_CATEGORY_KIND = {
    "charge": "charge", "payment": "charge",
    "refund": "refund", "payment_refund": "refund",
    "refund_failure": "refund_failure", "payment_failure_refund": "refund_failure",
    "dispute": "dispute", "dispute_reversal": "dispute_reversal",
    "payout": "payout",
    "payout_reversal": "payout_failure", "payout_failure": "payout_failure",
    "payout_cancel": "payout_failure",
    "fee": "stripe_fee", "stripe_fee": "stripe_fee", "network_cost": "stripe_fee",
    "tax": "stripe_fee", "application_fee": "stripe_fee",
}  # fmt: skip


def ledger_kind(category: str, amount_minor: int, source_id: str | None) -> str:
    """Map a reporting category (or type) to a ledger kind; adjustments on disputes included."""
    kind = _CATEGORY_KIND.get(category)
    if kind is None and source_id and source_id.startswith(("dp_", "du_")):
        kind = "dispute" if amount_minor < 0 else "dispute_reversal"
    if kind in OBJECT_KINDS and not source_id:
        return "adjustment"
    return kind or "adjustment"


def timestamp(value: int) -> datetime:
    """A Stripe `created` (Unix seconds) as an aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC)


def object_id(value: Any) -> str | None:
    """The id of an expandable field: a string, an expanded object, or None."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


class Links(TypedDict):
    """The Governor ids a Stripe object's metadata names."""

    order_id: str | None
    offer_id: str | None
    idea_id: str | None
    task_id: str | None


def links(metadata: Any) -> Links:
    """order/offer/idea/task ids from an object's metadata (absent ones as None)."""
    found = metadata if isinstance(metadata, dict) else {}

    def pick(key: str) -> str | None:
        return str(found[key]) if found.get(key) else None

    return Links(order_id=pick("order_id"), offer_id=pick("offer_id"), idea_id=pick("idea_id"),
                 task_id=pick("task_id"))  # fmt: skip


def entry_facts(obj: Obj) -> list[EntryFact]:
    """The ledger facts an object states (charges, refunds, disputes, payouts, intents)."""
    reader = _READERS.get(obj.get("object", ""))
    return reader(obj) if reader is not None else []


def balance_facts(obj: Obj) -> list[BalanceFact]:
    """Balance transactions an object carries expanded (a dispute's list, a charge's field)."""
    kind = obj.get("object")
    if kind == "balance_transaction":
        return [balance_fact(obj)]
    if kind == "dispute":
        return [balance_fact(t) for t in obj.get("balance_transactions") or []]
    found = [obj.get("balance_transaction"), obj.get("failure_balance_transaction")]
    return [balance_fact(t) for t in found if isinstance(t, dict)]


def balance_fact(txn: Obj, payout_id: str | None = None) -> BalanceFact:
    """A balance transaction object of the API as a fact."""
    return BalanceFact(
        id=txn["id"],
        type=txn.get("type"),
        reporting_category=txn.get("reporting_category") or txn.get("type") or "",
        source_id=object_id(txn.get("source")),
        amount_minor=int(txn["amount"]),
        fee_minor=int(txn.get("fee") or 0),
        net_minor=int(txn.get("net", int(txn["amount"]) - int(txn.get("fee") or 0))),
        currency=str(txn["currency"]).lower(),
        created=timestamp(txn["created"]),
        status=txn.get("status"),
        available_on=timestamp(txn["available_on"]) if txn.get("available_on") else None,
        payout_id=payout_id,
        description=txn.get("description"),
    )


def fee_fact(txn: BalanceFact) -> EntryFact | None:
    """The Stripe fee a balance transaction charged, as a negative `fee` entry (None if 0)."""
    if txn.fee_minor == 0:
        return None
    charge = txn.source_id if txn.source_id and txn.source_id.startswith(("ch_", "py_")) else None
    return EntryFact(
        kind="fee", source_ref=txn.id, amount_minor=-txn.fee_minor, currency=txn.currency,
        status="posted", occurred_at=txn.created, balance_transaction_id=txn.id,
        charge_id=charge, description=f"Stripe fee on {txn.source_id or txn.id}", weak=True,
    )  # fmt: skip


def account_fact(txn: BalanceFact) -> EntryFact | None:
    """Account-level money no object event reports (Stripe's own fees, adjustments)."""
    if txn.ledger_kind in OBJECT_KINDS:
        return None
    return EntryFact(
        kind=txn.ledger_kind, source_ref=txn.id, amount_minor=txn.amount_minor,
        currency=txn.currency, status="posted", occurred_at=txn.created,
        balance_transaction_id=txn.id, description=txn.description, weak=True,
    )  # fmt: skip


def _charge(ch: Obj) -> list[EntryFact]:
    amount = (
        ch["amount_captured"] if ch.get("captured") and ch.get("amount_captured") else ch["amount"]
    )
    base = EntryFact(
        kind="charge", source_ref=ch["id"], amount_minor=int(amount),
        currency=str(ch["currency"]).lower(), status=ch["status"],
        occurred_at=timestamp(ch["created"]),
        balance_transaction_id=object_id(ch.get("balance_transaction")), charge_id=ch["id"],
        payment_intent_id=object_id(ch.get("payment_intent")),
        description=ch.get("description"), **links(ch.get("metadata")),
    )  # fmt: skip
    refunds = (ch.get("refunds") or {}).get("data") or []
    return [base, *(replace(fact, **_link_values(base)) for r in refunds for fact in _refund(r))]


def _link_values(fact: EntryFact) -> Links:
    return Links(order_id=fact.order_id, offer_id=fact.offer_id, idea_id=fact.idea_id,
                 task_id=fact.task_id)  # fmt: skip


def _refund(re: Obj) -> list[EntryFact]:
    return [
        EntryFact(
            kind="refund", source_ref=re["id"], amount_minor=-int(re["amount"]),
            currency=str(re["currency"]).lower(), status=re["status"],
            occurred_at=timestamp(re["created"]),
            balance_transaction_id=object_id(re.get("balance_transaction")),
            charge_id=object_id(re.get("charge")), **links(re.get("metadata")),
        )
    ]  # fmt: skip


def _dispute(dp: Obj) -> list[EntryFact]:
    facts = []
    for txn in dp.get("balance_transactions") or []:
        amount = int(txn["amount"])
        facts.append(
            EntryFact(
                kind="dispute" if amount < 0 else "dispute_reversal", source_ref=dp["id"],
                amount_minor=amount, currency=str(txn["currency"]).lower(), status=dp["status"],
                occurred_at=timestamp(txn["created"]), balance_transaction_id=txn["id"],
                charge_id=object_id(dp.get("charge")), description=dp.get("reason"),
                **links(dp.get("metadata")),
            )
        )  # fmt: skip
    return facts


def _payout(po: Obj) -> list[EntryFact]:
    currency, created = str(po["currency"]).lower(), timestamp(po["created"])
    facts = [
        EntryFact(
            kind="payout", source_ref=po["id"], amount_minor=-int(po["amount"]), currency=currency,
            status=po["status"], occurred_at=created,
            balance_transaction_id=object_id(po.get("balance_transaction")),
            description=po.get("description"),
        )
    ]  # fmt: skip
    failure = object_id(po.get("failure_balance_transaction"))
    if po["status"] in ("failed", "canceled") and failure:
        facts.append(
            EntryFact(
                kind="payout_failure", source_ref=po["id"], amount_minor=int(po["amount"]),
                currency=currency, status=po["status"], occurred_at=created,
                balance_transaction_id=failure, description=po.get("failure_message"),
            )
        )  # fmt: skip
    return facts


def _payment_intent(pi: Obj) -> list[EntryFact]:
    """A failed intent names its failed charge; recorded weakly (the charge's event wins)."""
    if pi.get("status") not in ("requires_payment_method", "canceled") or not pi.get(
        "last_payment_error"
    ):
        return []
    error = pi["last_payment_error"]
    ref = object_id(pi.get("latest_charge")) or object_id(error.get("charge")) or pi["id"]
    return [
        EntryFact(
            kind="charge", source_ref=ref, amount_minor=int(pi["amount"]),
            currency=str(pi["currency"]).lower(), status="failed",
            occurred_at=timestamp(pi["created"]), charge_id=ref if ref.startswith("ch_") else None,
            payment_intent_id=pi["id"], description=error.get("message"), weak=True,
            **links(pi.get("metadata")),
        )
    ]  # fmt: skip


_READERS = {
    "charge": _charge,
    "refund": _refund,
    "dispute": _dispute,
    "payout": _payout,
    "payment_intent": _payment_intent,
}
