"""A KPI's change reads as a person reads it: outflows grow when they get bigger."""

from governor.web.pages.overview import change


def test_revenue_up_is_good_and_refunds_up_are_bad():
    assert change(150, 100) == ("+50%", "▲", "good")
    assert change(-80, -50) == ("+60%", "▲", "bad")  # refunds grew from $50 to $80
    assert change(0, -45) == ("-100%", "▼", "good")  # and then stopped
    assert change(7, 7) == ("no change", "", "flat")
    assert change(5, 0) == ("new", "▲", "good")
