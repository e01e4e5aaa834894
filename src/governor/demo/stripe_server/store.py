"""The stand-in's state and the scenario API that changes it (recording Stripe's events)."""

import copy
import random
import threading
from collections import defaultdict
from typing import Any

from governor.demo.stripe_server import objects
from governor.demo.stripe_server.checkout import CheckoutScenarios
from governor.demo.stripe_server.clock import Clock
from governor.demo.stripe_server.money import DISPUTE_FEE, processing_fee
from governor.demo.stripe_server.objects import Obj

DAY = 86_400

# The listable collections and the object name Stripe uses in messages.
KINDS: dict[str, str] = {
    "balance_transactions": "balance_transaction",
    "charges": "charge",
    "checkout_sessions": "checkout.session",
    "disputes": "dispute",
    "events": "event",
    "payment_intents": "payment_intent",
    "payouts": "payout",
    "refunds": "refund",
}


class StripeStore(CheckoutScenarios):
    """Thread-safe Stripe state; the scenario methods return copies of what they created."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        availability_days: int = 2,
        api_version: str = objects.API_VERSION,
    ) -> None:
        self.clock = clock or Clock()
        self.api_version = api_version
        self.availability_days = availability_days
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._objects: dict[str, dict[str, Obj]] = {kind: {} for kind in KINDS}
        self._kind_of: dict[str, str] = {}
        self._seq: dict[str, int] = {}
        self._paid_out_in: dict[str, str] = {}  # balance transaction id -> payout id
        self._late_fees: dict[str, int | None] = {}  # charge id -> fee for settle_fee
        self._failures: list[tuple[int, int]] = []  # (status, retry_after) per request
        self._line_items: dict[str, list[Obj]] = {}  # checkout session id -> its line items
        self._intent_metadata: dict[str, dict[str, str]] = {}  # … -> its intent's metadata

    # Reading -------------------------------------------------------------------------------

    def get(self, kind: str, object_id: str) -> Obj | None:
        """A copy of one object of a kind, or None."""
        with self._lock:
            self._refresh()
            found = self._objects[kind].get(object_id)
            return copy.deepcopy(found) if found is not None else None

    def find(self, object_id: str) -> Obj | None:
        """A copy of any object by id, whatever its kind."""
        with self._lock:
            kind = self._kind_of.get(object_id)
            return None if kind is None else self.get(kind, object_id)

    def all(self, kind: str) -> list[Obj]:
        """Copies of every object of a kind, newest first (ties: latest recorded first)."""
        with self._lock:
            self._refresh()
            items = sorted(self._objects[kind].values(), key=self.sort_key, reverse=True)
            return copy.deepcopy(items)

    def sort_key(self, obj: Obj) -> tuple[int, int]:
        """The order of lists: creation time, then recording order."""
        return (obj["created"], self._seq[obj["id"]])

    def key_of(self, object_id: str) -> tuple[int, int] | None:
        """The sort key of an object by id, or None if unknown."""
        with self._lock:
            kind = self._kind_of.get(object_id)
            if kind is None:
                return None
            return self.sort_key(self._objects[kind][object_id])

    def paid_out_in(self, txn_id: str) -> str | None:
        """The payout that carried a balance transaction, if any."""
        with self._lock:
            return self._paid_out_in.get(txn_id)

    def balance(self) -> Obj:
        """The `balance` object: net of available and pending transactions per currency."""
        with self._lock:
            self._refresh()
            return self._balance()

    def available(self, currency: str) -> int:
        """The available balance in one currency, in minor units."""
        with self._lock:
            self._refresh()
            return self._sums("available").get(currency.lower(), 0)

    # Failure injection ---------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 429, retry_after: int = 1) -> None:
        """Answer the next `n` HTTP requests with `status` (429: Stripe's rate-limit error)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * n)

    def take_failure(self) -> tuple[int, int] | None:
        """The failure owed to the current request, if any."""
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    # Scenarios -----------------------------------------------------------------------------

    def create_charge(
        self,
        amount: int,
        currency: str = "usd",
        *,
        succeed: bool = True,
        fee: int | None = None,
        created: int | None = None,
        metadata: dict[str, str] | None = None,
        fee_later: bool = False,
        customer: str | None = None,
        description: str | None = None,
        failure_code: str = "card_declined",
        failure_message: str = "Your card was declined.",
    ) -> Obj:
        """A card charge; succeeded ones get a fee-bearing balance transaction (now or later)."""
        if amount <= 0:
            raise ValueError("amount must be a positive integer in minor units")
        currency = currency.lower()
        with self._lock:
            when = self._when(created)
            ch = objects.charge(
                self._new_id("ch", "charges"),
                amount=amount,
                currency=currency,
                created=when,
                payment_intent=self._new_id("pi", "payment_intents"),
                succeeded=succeed,
                customer=customer,
                description=description,
                metadata=dict(metadata or {}),
                failure_code=None if succeed else failure_code,
                failure_message=None if succeed else failure_message,
            )
            self._put("charges", ch)
            pi = objects.payment_intent(ch["payment_intent"], ch)
            self._put("payment_intents", pi)
            if not succeed:
                self._emit("charge.failed", ch, when)
                self._emit("payment_intent.payment_failed", pi, when)
                return copy.deepcopy(ch)
            if fee_later:
                self._late_fees[ch["id"]] = fee
            else:
                self._charge_txn(ch, fee, when)
            self._emit("charge.succeeded", ch, when)
            self._emit("payment_intent.succeeded", pi, when)
            return copy.deepcopy(ch)

    def charge_failed(
        self,
        amount: int,
        currency: str = "usd",
        *,
        failure_code: str = "card_declined",
        failure_message: str = "Your card was declined.",
        created: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Obj:
        """A declined charge: status failed, no balance transaction."""
        return self.create_charge(
            amount,
            currency,
            succeed=False,
            created=created,
            metadata=metadata,
            failure_code=failure_code,
            failure_message=failure_message,
        )

    def settle_fee(self, charge_id: str, fee: int | None = None, created: int | None = None) -> Obj:
        """Attach the late balance transaction of a `fee_later` charge; records charge.updated."""
        with self._lock:
            ch = self._require("charges", charge_id)
            if ch["balance_transaction"] is not None:
                raise ValueError(f"{charge_id} already has a balance transaction")
            if ch["status"] != "succeeded":
                raise ValueError(f"{charge_id} did not succeed")
            when = self._when(created)
            chosen = fee if fee is not None else self._late_fees.pop(charge_id, None)
            txn = self._charge_txn(ch, chosen, when)
            self._emit("charge.updated", ch, when, {"balance_transaction": None})
            return copy.deepcopy(txn)

    def refund(
        self,
        charge_id: str,
        amount: int | None = None,
        *,
        created: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Obj:
        """Refund (part of) a charge: negative balance transaction, charge.refunded event."""
        with self._lock:
            ch = self._require("charges", charge_id)
            remaining = ch["amount_captured"] - ch["amount_refunded"]
            amount = remaining if amount is None else amount
            if ch["status"] != "succeeded" or not 0 < amount <= remaining:
                raise ValueError(f"cannot refund {amount} of {charge_id} ({remaining} refundable)")
            when = self._when(created)
            re = objects.refund(
                self._new_id("re", "refunds"),
                charge=ch,
                amount=amount,
                created=when,
                metadata=dict(metadata or {}),
            )
            txn = self._txn(-amount, 0, ch["currency"], "refund", "refund", re["id"], when, when)
            re["balance_transaction"] = txn["id"]
            self._put("refunds", re)
            previous = {"amount_refunded": ch["amount_refunded"], "refunded": ch["refunded"]}
            ch["amount_refunded"] += amount
            ch["refunded"] = ch["amount_refunded"] == ch["amount_captured"]
            self._emit("charge.refunded", ch, when, previous)
            self._emit("refund.created", re, when)
            return copy.deepcopy(re)

    def open_dispute(
        self,
        charge_id: str,
        reason: str = "fraudulent",
        *,
        amount: int | None = None,
        fee: int = DISPUTE_FEE,
        created: int | None = None,
    ) -> Obj:
        """Open a dispute: the amount and a dispute fee are withdrawn at once, as Stripe does."""
        with self._lock:
            ch = self._require("charges", charge_id)
            if ch["status"] != "succeeded" or ch["disputed"]:
                raise ValueError(f"{charge_id} cannot be disputed")
            amount = ch["amount"] if amount is None else amount
            when = self._when(created)
            dp = objects.dispute(
                self._new_id("dp", "disputes"),
                charge=ch,
                amount=amount,
                reason=reason,
                created=when,
            )
            txn = self._txn(
                -amount,
                fee,
                ch["currency"],
                "adjustment",
                "dispute",
                dp["id"],
                when,
                when,
                description=f"Chargeback withdrawal for {ch['id']}",
                fee_description="Dispute fee",
            )
            dp["balance_transactions"] = [copy.deepcopy(txn)]
            self._put("disputes", dp)
            ch["disputed"] = True
            self._emit("charge.dispute.created", dp, when)
            self._emit("charge.dispute.funds_withdrawn", dp, when)
            return copy.deepcopy(dp)

    def review_dispute(self, dispute_id: str, created: int | None = None) -> Obj:
        """Evidence submitted: the dispute goes under review (charge.dispute.updated)."""
        with self._lock:
            dp = self._require("disputes", dispute_id)
            previous = {"status": dp["status"]}
            dp["status"] = "under_review"
            self._emit("charge.dispute.updated", dp, self._when(created), previous)
            return copy.deepcopy(dp)

    def close_dispute(self, dispute_id: str, won: bool, created: int | None = None) -> Obj:
        """Close a dispute; when won, the disputed amount comes back (dispute_reversal)."""
        with self._lock:
            dp = self._require("disputes", dispute_id)
            if dp["status"] in ("won", "lost"):
                raise ValueError(f"{dispute_id} is already closed")
            when = self._when(created)
            previous = {"status": dp["status"]}
            dp["status"] = "won" if won else "lost"
            if won:
                txn = self._txn(
                    dp["amount"],
                    0,
                    dp["currency"],
                    "adjustment",
                    "dispute_reversal",
                    dp["id"],
                    when,
                    when,
                    description=f"Chargeback reversal for {dp['charge']}",
                )
                dp["balance_transactions"].append(copy.deepcopy(txn))
                self._emit("charge.dispute.funds_reinstated", dp, when)
            self._emit("charge.dispute.closed", dp, when, previous)
            return copy.deepcopy(dp)

    def create_payout(
        self,
        amount: int | None = None,
        currency: str = "usd",
        *,
        paid: bool = True,
        created: int | None = None,
    ) -> Obj:
        """Pay out (by default all of) the available balance in one currency."""
        currency = currency.lower()
        with self._lock:
            self._refresh()
            available = self._sums("available").get(currency, 0)
            amount = available if amount is None else amount
            if not 0 < amount <= available:
                raise ValueError(f"cannot pay out {amount} {currency} ({available} available)")
            when = self._when(created)
            po = objects.payout(
                self._new_id("po", "payouts"),
                amount=amount,
                currency=currency,
                created=when,
                arrival_date=when + DAY,
            )
            members = [
                t["id"]
                for t in self._objects["balance_transactions"].values()
                if t["currency"] == currency
                and t["status"] == "available"
                and t["id"] not in self._paid_out_in
            ]
            txn = self._txn(-amount, 0, currency, "payout", "payout", po["id"], when, when)
            po["balance_transaction"] = txn["id"]
            self._put("payouts", po)
            for txn_id in [*members, txn["id"]]:
                self._paid_out_in[txn_id] = po["id"]
            self._emit("payout.created", po, when)
            if paid:
                self._pay(po, when)
            return copy.deepcopy(po)

    def payout_all(self, *, paid: bool = True, created: int | None = None) -> list[Obj]:
        """One payout per currency with a positive available balance."""
        with self._lock:
            self._refresh()
            sums = self._sums("available")
            return [
                self.create_payout(None, c, paid=paid, created=created)
                for c in sorted(sums)
                if sums[c] > 0
            ]

    def pay_payout(self, payout_id: str, created: int | None = None) -> Obj:
        """Mark a pending payout paid (payout.paid)."""
        with self._lock:
            po = self._require("payouts", payout_id)
            if po["status"] != "pending":
                raise ValueError(f"{payout_id} is {po['status']}")
            self._pay(po, self._when(created))
            return copy.deepcopy(po)

    # Internals (call with the lock held) ---------------------------------------------------

    def _when(self, created: int | None) -> int:
        return self.clock.now() if created is None else int(created)

    def _new_id(self, prefix: str, kind: str) -> str:
        while True:
            candidate = objects.new_id(prefix, self._rng)
            if candidate not in self._kind_of:
                return candidate

    def _put(self, kind: str, obj: Obj) -> None:
        self._objects[kind][obj["id"]] = obj
        self._kind_of[obj["id"]] = kind
        self._seq[obj["id"]] = len(self._seq)

    def _require(self, kind: str, object_id: str) -> Obj:
        found = self._objects[kind].get(object_id)
        if found is None:
            raise KeyError(f"no such {KINDS[kind]}: {object_id}")
        return found

    def _emit(self, type: str, obj: Obj, when: int, previous: Obj | None = None) -> None:
        evt = objects.event(
            self._new_id("evt", "events"),
            type=type,
            created=when,
            obj=copy.deepcopy(obj),
            previous_attributes=previous,
            api_version=self.api_version,
        )
        self._put("events", evt)

    def _txn(
        self,
        amount: int,
        fee: int,
        currency: str,
        type: str,
        category: str,
        source: str,
        created: int,
        available_on: int,
        **extra: Any,
    ) -> Obj:
        txn = objects.balance_transaction(
            self._new_id("txn", "balance_transactions"),
            amount=amount,
            fee=fee,
            currency=currency,
            type=type,
            reporting_category=category,
            source=source,
            created=created,
            available_on=available_on,
            **extra,
        )
        self._put("balance_transactions", txn)
        return txn

    def _charge_txn(self, ch: Obj, fee: int | None, when: int) -> Obj:
        fee = processing_fee(ch["amount"], ch["currency"]) if fee is None else fee
        available_on = when + self.availability_days * DAY
        txn = self._txn(
            ch["amount"], fee, ch["currency"], "charge", "charge", ch["id"], when, available_on
        )
        ch["balance_transaction"] = txn["id"]
        return txn

    def _pay(self, po: Obj, when: int) -> None:
        po["status"] = "paid"
        po["reconciliation_status"] = "completed"
        self._emit("payout.paid", po, when, {"status": "pending"})

    def _sums(self, status: str) -> dict[str, int]:
        sums: dict[str, int] = defaultdict(int)
        for txn in self._objects["balance_transactions"].values():
            if txn["status"] == status:
                sums[txn["currency"]] += txn["net"]
        return dict(sums)

    def _balance(self) -> Obj:
        return objects.balance(self._sums("available"), self._sums("pending"))

    def _refresh(self) -> None:
        """Pending funds whose `available_on` has come become available (balance.available)."""
        now = self.clock.now()
        flipped = False
        for txn in self._objects["balance_transactions"].values():
            if txn["status"] == "pending" and txn["available_on"] <= now:
                txn["status"] = "available"
                flipped = True
        if flipped:
            self._emit("balance.available", self._balance(), now)
