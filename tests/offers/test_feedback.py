"""Feedback on fulfilled orders: signed expiring links, one answer per order, findings."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governor.auth.secret import signing_key
from governor.config import get_settings
from governor.errors import BadInput, LinkExpired, LinkInvalid, NotFound
from governor.models import Feedback, Finding
from governor.models.types import utcnow
from governor.offers import feedback, service
from governor.offers.complaints import problems
from governor.storage.db import session_scope
from tests.factories import T0, make_order


def fulfilled_order(engine: Engine) -> dict[str, str]:
    """make_order's order, paid and fulfilled."""
    ids = make_order(engine)
    with session_scope(engine) as session:
        service.mark_paid(session, ids["order"], charge_id="ch_fb", at=T0)
        service.mark_fulfilled(session, ids["order"], at=T0 + timedelta(hours=1))
    return ids


def token_of(link: str) -> str:
    path = urlsplit(link).path
    assert path.startswith("/f/")
    return path[len("/f/") :]


def test_a_link_names_its_order_until_it_expires_and_refuses_tampering(migrated, configure):
    configure(public_url="https://shop.example.com/", feedback_link_days=7)
    ids = fulfilled_order(migrated)
    settings = get_settings()
    now = utcnow()
    with session_scope(migrated, readonly=True) as session:
        link = feedback.feedback_link(session, settings, ids["order"], now=now)
    assert link.startswith("https://shop.example.com/f/")
    token, key = token_of(link), signing_key(settings)
    assert feedback.read_token(key, token) == ids["order"]
    assert feedback.read_token(key, token, now=now + timedelta(days=6, hours=23)) == ids["order"]
    with pytest.raises(LinkExpired, match="expired on"):
        feedback.read_token(key, token, now=now + timedelta(days=7))
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for forged in (flipped, token[:-5], "", "x.y", token.replace(".", "", 1)):
        with pytest.raises(LinkInvalid, match="not valid"):
            feedback.read_token(key, forged)
    with pytest.raises(LinkInvalid):
        feedback.read_token("another key " * 4, token)
    other = feedback.make_token(key, "order_other", expires_at=now + timedelta(days=1))
    assert feedback.read_token(key, other) == "order_other"  # the order is what was signed


def test_only_fulfilled_orders_get_a_link(migrated):
    ids = make_order(migrated)
    with session_scope(migrated, readonly=True) as session:
        with pytest.raises(BadInput, match="not fulfilled yet"):
            feedback.feedback_link(session, get_settings(), ids["order"])
        with pytest.raises(NotFound, match="No order order_missing"):
            feedback.feedback_link(session, get_settings(), "order_missing")


def test_the_cli_prints_the_link_or_says_why_not(migrated, configure, cli):
    configure(public_url="https://shop.example.com")
    ids = fulfilled_order(migrated)
    done = cli("orders", "feedback-link", ids["order"])
    assert done.exit_code == 0, done.output
    link = done.stdout.strip()
    assert link.startswith("https://shop.example.com/f/")
    assert feedback.read_token(signing_key(get_settings()), token_of(link)) == ids["order"]
    other = make_order(migrated)
    refused = cli("orders", "feedback-link", other["order"])
    assert refused.exit_code == 2 and "not fulfilled yet" in refused.output
    assert "Traceback" not in refused.output


def _finding(engine: Engine, order_id: str) -> Finding | None:
    with session_scope(engine, readonly=True) as session:
        return session.scalar(sa.select(Finding).where(Finding.series == f"feedback.{order_id}"))


def _record(engine: Engine, order_id: str, rating: int, text: str | None, **more: object):
    with session_scope(engine) as session:
        done = feedback.record(session, get_settings(), order_id=order_id, rating=rating,
                               text=text, source="link", **more)  # type: ignore[arg-type]  # fmt: skip
        return done.outcome, done.finding.id if done.finding else None


def test_one_answer_per_order_and_problems_become_findings(migrated):
    ids = fulfilled_order(migrated)
    order = ids["order"]
    assert _record(migrated, order, 5, "Lovely, thanks") == ("created", None)
    assert _finding(migrated, order) is None
    assert _record(migrated, order, 5, "Lovely, thanks") == ("unchanged", None)

    outcome, finding_id = _record(migrated, order, 4, "Nice, but the PDF never arrived")
    assert outcome == "replaced" and finding_id is not None
    found = _finding(migrated, order)
    assert found is not None and found.kind == "feedback" and found.value == 4.0
    assert order in found.explanation and ids["offer"] in found.explanation
    assert "Resume rewrite" in found.explanation and "rated 4/5" in found.explanation
    assert "never arrived" in found.explanation and "“Nice, but the PDF never arrived”" in (
        found.explanation
    )
    assert found.link == f"/orders/{order}"

    long_text = "<b>awful</b> " + "x" * 500
    outcome, again = _record(migrated, order, 1, long_text)
    assert outcome == "replaced" and again == finding_id  # the order's one finding, updated
    found = _finding(migrated, order)
    assert found is not None and found.value == 1.0 and "a low rating" in found.explanation
    assert "<b>awful</b>" in found.explanation and "…" in found.explanation
    assert len(found.explanation) < 400  # the text is quoted cut short

    older = utcnow() - timedelta(days=1)
    assert _record(migrated, order, 5, "old", created_at=older)[0] == "kept"
    assert _record(migrated, order, 5, "All good now") == ("replaced", None)
    assert _finding(migrated, order) is None  # no problem any more: no finding
    with session_scope(migrated, readonly=True) as session:
        (row,) = session.scalars(sa.select(Feedback)).all()
        assert (row.rating, row.text, row.offer_id, row.idea_id) == (
            5, "All good now", ids["offer"], ids["idea"])  # fmt: skip


def test_bad_answers_are_refused_and_nothing_is_written(migrated):
    ids = fulfilled_order(migrated)
    for rating, text, message in ((0, None, "1 to 5"), (6, None, "1 to 5"),
                                  (3, "y" * (feedback.MAX_TEXT + 1), "at most"),
                                  (3, "a\x00b", "NUL"), (3, "\ud800", "surrogate")):  # fmt: skip
        with pytest.raises(BadInput, match=message):
            _record(migrated, ids["order"], rating, text)
    with pytest.raises(BadInput, match="in the future"):
        _record(migrated, ids["order"], 3, None, created_at=utcnow() + timedelta(hours=1))
    with session_scope(migrated, readonly=True) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


@pytest.mark.parametrize(
    "text, named",
    [
        ("I want a REFUND", ["refund"]),
        ("It didn\u2019t work", ["broken"]),  # a curly apostrophe
        ("didnt work at all", ["broken"]),
        ("The file is broken", ["broken"]),
        ("Package never arrived", ["never arrived"]),
        ("I did not receive it", ["never arrived"]),
        ("total scam", ["scam"]),
        ("I was charged twice", ["charged twice"]),
        ("couldn't download the file", ["cannot download"]),
        ("Works great, a refundable brokerage of ideas", []),
        (None, []),
    ],
)
def test_the_problem_list_matches_its_usual_forms(text, named):
    assert problems(text) == named
