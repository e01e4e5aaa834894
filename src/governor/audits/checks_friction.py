"""Checks of the path from offer to rated order: fulfilment over its SLA, providers failing or
throttling, checkout abandonment against its usual level, ratings falling."""

from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa

from governor.audits.checks import AuditContext, CheckResult, check
from governor.models import CheckoutSession, Feedback, Fulfilment, Offer, Order

USUAL_WINDOWS = 7
"""The windows before the audited one that give an offer's usual level."""
MIN_SESSIONS = 20
"""Ended checkout sessions of an offer in a window below which abandonment is not judged."""
ABANDONMENT_RISE = 0.10
"""A rise of abandonment at the payment step (in points) that fails, if also 1.5 times the usual."""
MIN_STEPS = 20
"""Finished fulfilment steps of a provider in a window below which it is not judged."""
FIRST_ATTEMPT_FAILURES = 0.10
"""The share of a provider's steps that failed their first attempt above which it fails."""
THROTTLED_SHARE = 0.20
"""The share of a provider's calls answered 429 above which it fails."""
MIN_RATINGS = 5
"""Ratings of an offer in a window below which a fall is not judged."""
RATING_FALL, LOW_RATING = 0.75, 3.0
"""A mean rating that fell by this much against usual, or is below LOW_RATING, fails."""


@check("fulfilment_sla", needs=("orders", "offers"))
def fulfilment_sla(context: AuditContext) -> CheckResult:
    """Paid orders not fulfilled within their offer's SLA."""
    with context.reading() as session:
        waiting = session.execute(
            sa.select(Order.id, Order.offer_id, Order.paid_at, Offer.fulfilment_sla_minutes)
            .join(Offer, Offer.id == Order.offer_id)
            .where(Order.status == "paid", Order.fulfilled_at.is_(None),
                   Order.paid_at.is_not(None), Offer.fulfilment_sla_minutes.is_not(None))
            .order_by(Order.paid_at)
            .limit(10_000)
        ).all()  # fmt: skip
    late: list[tuple[str, str, datetime, timedelta]] = [
        (order_id, offer_id, paid_at, context.now - paid_at)
        for order_id, offer_id, paid_at, sla in waiting
        if paid_at is not None
        and sla is not None
        and paid_at + timedelta(minutes=sla) < context.now
    ]
    evidence = {
        "over_sla": len(late),
        "orders": [{"order_id": o, "offer_id": f, "paid_at": p.isoformat(),
                    "waiting_minutes": int(w.total_seconds() // 60)}
                   for o, f, p, w in late[:10]],
    }  # fmt: skip
    if not late:
        return CheckResult("fulfilment_sla", True, 0, "Every paid order is within its SLA.",
                           evidence)  # fmt: skip
    oldest = late[0]
    return CheckResult(
        "fulfilment_sla",
        False,
        6,
        f"{len(late)} paid order(s) wait past their offer's SLA; the oldest, {oldest[0]} "
        f"(offer {oldest[1]}), was paid {int(oldest[3].total_seconds() // 3600)} h ago.",
        evidence,
        action="Open /fulfilment: retry the failing steps, ask the customer for what an "
        "action-required step needs, or decide a refund in Stripe.",
        risk="Customers who paid wait; refunds, disputes and bad ratings follow.",
    )


@check("fulfilment_providers", needs=("fulfilments",))
def fulfilment_providers(context: AuditContext) -> CheckResult:
    """Each provider's steps of the window: first attempts failing, eventual failures, 429s."""
    start = context.now - context.window
    with context.reading() as session:
        rows = session.execute(
            sa.select(
                Fulfilment.provider,
                sa.func.count(),
                sa.func.sum(sa.case((sa.or_(Fulfilment.attempts > 1,
                                            Fulfilment.status == "failed"), 1), else_=0)),
                sa.func.sum(sa.case((Fulfilment.status == "failed", 1), else_=0)),
                sa.func.sum(Fulfilment.attempts),
                sa.func.sum(Fulfilment.throttled),
            )
            .where(Fulfilment.status.in_(("done", "failed")),
                   Fulfilment.finished_at >= start, Fulfilment.finished_at < context.now)
            .group_by(Fulfilment.provider)
            .order_by(Fulfilment.provider)
        ).all()  # fmt: skip
    providers, problems = {}, []
    for provider, steps, first_failed, failed, attempts, throttled in rows:
        first_rate = int(first_failed or 0) / steps
        throttled_rate = int(throttled or 0) / max(int(attempts or 0), 1)
        providers[provider] = {"steps": steps, "first_attempt_failure_rate": round(first_rate, 4),
                               "failed": int(failed or 0), "attempts": int(attempts or 0),
                               "throttled": int(throttled or 0)}  # fmt: skip
        if steps < MIN_STEPS:
            continue
        if first_rate > FIRST_ATTEMPT_FAILURES:
            problems.append(f"provider {provider} fails {first_rate:.0%} of first attempts "
                            f"({first_failed} of {steps} steps, {failed} gave up)")  # fmt: skip
        if throttled_rate > THROTTLED_SHARE:
            problems.append(f"provider {provider} answers 429 to {throttled_rate:.0%} of calls "
                            f"({throttled} of {attempts})")  # fmt: skip
    evidence = {"since": start.isoformat(), "providers": providers}
    if not problems:
        return CheckResult("fulfilment_providers", True, 0,
                           "Every fulfilment provider is healthy.", evidence)  # fmt: skip
    return CheckResult(
        "fulfilment_providers",
        False,
        5,
        _sentence(problems),
        evidence,
        action="Check the provider's status and limits (GOVERNOR_OUTBOUND_LIMITS); lower the "
        "rate during offer launches or move the offer to another provider.",
        risk="Fulfilment slows or fails; paid orders wait and the provider may ban the key.",
    )


@check("checkout_abandonment", needs=("checkout_sessions", "offers"))
def checkout_abandonment(context: AuditContext) -> CheckResult:
    """Each offer's abandonment at the payment step in the window against its usual level."""
    end, width = context.now, context.window
    with context.reading() as session:
        ended = sa.func.coalesce(CheckoutSession.completed_at, CheckoutSession.expired_at)
        rows = session.execute(
            sa.select(CheckoutSession.offer_id, Offer.title, ended, CheckoutSession.status,
                      CheckoutSession.payment_intent_id.is_not(None))
            .join(Offer, Offer.id == CheckoutSession.offer_id)
            .where(ended >= end - (USUAL_WINDOWS + 1) * width, ended < end,
                   CheckoutSession.status.in_(("complete", "expired")))
        ).all()  # fmt: skip
    per_offer: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    titles: dict[str, str] = {}
    days: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for offer_id, title, at, status, had_intent in rows:
        titles[str(offer_id)] = title
        recent = at >= end - width
        abandoned = int(status == "expired" and bool(had_intent))
        counts = per_offer[str(offer_id)]["recent" if recent else "usual"]
        counts[0], counts[1] = counts[0] + 1, counts[1] + abandoned
        if recent:
            day = days[str(offer_id)][at.date().isoformat()]
            day[0], day[1] = day[0] + 1, day[1] + abandoned
    offers, problems = {}, []
    for offer_id, periods in sorted(per_offer.items()):
        (sessions, lost), (usual_sessions, usual_lost) = periods["recent"], periods["usual"]
        rate = lost / sessions if sessions else 0.0
        usual = usual_lost / usual_sessions if usual_sessions else 0.0
        offers[offer_id] = {"sessions": sessions, "abandoned_at_payment": lost,
                            "rate": round(rate, 4), "usual_rate": round(usual, 4),
                            "usual_sessions": usual_sessions}  # fmt: skip
        if sessions < MIN_SESSIONS or not usual_sessions:
            continue
        if rate - usual > ABANDONMENT_RISE and rate > 1.5 * usual:
            since = _first_day_over(days[offer_id], (rate + usual) / 2)
            problems.append(f"offer {offer_id} ({titles[offer_id]}) loses {rate:.0%} of buyers "
                            f"at the payment step since {since} (usually {usual:.0%}; "
                            f"{lost} of {sessions} sessions)")  # fmt: skip
    evidence = {"window": context.settings.audit_window, "offers": offers}
    if not problems:
        return CheckResult("checkout_abandonment", True, 0,
                           "Checkout abandonment is within its usual range.", evidence)  # fmt: skip
    return CheckResult(
        "checkout_abandonment",
        False,
        6,
        _sentence(problems),
        evidence,
        action="Open /funnel for the offer: list the abandoned sessions and their payment "
        "intents in Stripe (declines, 3-D Secure, a broken payment method).",
        risk="Buyers who wanted the offer leave at the payment step: lost sales accumulate.",
    )


def _first_day_over(days: dict[str, list[int]], level: float) -> str:
    """The first day (as '3 Dec') whose rate of abandonment exceeded `level`."""
    for day in sorted(days):
        sessions, lost = days[day]
        if sessions and lost / sessions > level:
            return datetime.fromisoformat(day).strftime("%-d %b")
    return datetime.fromisoformat(min(days)).strftime("%-d %b")


@check("ratings", needs=("feedback", "offers"))
def ratings(context: AuditContext) -> CheckResult:
    """Each offer's mean rating in the window against its usual level."""
    end, width = context.now, context.window
    found: dict[str, dict[str, tuple[int, float]]] = defaultdict(dict)
    titles = {}
    periods = {"recent": (end - width, end), "usual": (end - (USUAL_WINDOWS + 1) * width,
                                                        end - width)}  # fmt: skip
    with context.reading() as session:
        for period, (start, stop) in periods.items():
            rows = session.execute(
                sa.select(Feedback.offer_id, Offer.title, sa.func.count(),
                          sa.func.avg(Feedback.rating))
                .join(Offer, Offer.id == Feedback.offer_id)
                .where(Feedback.created_at >= start, Feedback.created_at < stop)
                .group_by(Feedback.offer_id, Offer.title)
            ).all()  # fmt: skip
            for offer_id, title, count, mean in rows:
                titles[offer_id] = title
                found[offer_id][period] = (int(count), float(mean))
    offers, problems = {}, []
    for offer_id, parts in sorted(found.items()):
        count, mean = parts.get("recent", (0, 0.0))
        usual_count, usual = parts.get("usual", (0, 0.0))
        offers[offer_id] = {"ratings": count, "mean": round(mean, 2), "usual_ratings": usual_count,
                            "usual_mean": round(usual, 2)}  # fmt: skip
        if count < MIN_RATINGS:
            continue
        fell = usual_count >= MIN_RATINGS and usual - mean >= RATING_FALL
        if fell or mean < LOW_RATING:
            versus = f" (usually {usual:.1f})" if usual_count else ""
            problems.append(f"offer {offer_id} ({titles[offer_id]}) is rated {mean:.1f} of 5 "
                            f"by {count} customers{versus}")  # fmt: skip
    evidence = {"window": context.settings.audit_window, "offers": offers}
    if not problems:
        return CheckResult("ratings", True, 0, "Ratings are within their usual range.", evidence)
    return CheckResult(
        "ratings",
        False,
        4,
        _sentence(problems),
        evidence,
        action="Read the offer's feedback (/feedback) and its findings; fix what customers name.",
        risk="Unhappy customers ask for refunds, dispute charges and do not come back.",
    )


def _sentence(problems: list[str]) -> str:
    """Problems joined into one sentence that starts with a capital."""
    text = "; ".join(problems)
    return text[:1].upper() + text[1:] + "."
