"""`governor funnel`: the known figures as JSON and as a table; an unknown offer is one line."""

import json

from governor.models.types import utcnow
from tests.offers import funnel_data


def test_funnel_prints_the_figures(migrated, cli):
    ids = funnel_data.build(migrated, now=utcnow())
    result = cli("funnel", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    (offer,) = [o for o in body["offers"] if o["offer_id"] == ids["offer"]]
    assert [s["count"] for s in offer["steps"]] == [10, 9, 5, 3, 2]
    assert offer["abandoned_at_payment"] == 1 and body["cohort"]["window_days"] == 7
    table = cli("funnel", "--offer", ids["offer"])
    assert table.exit_code == 0 and "$98.00" in table.stdout
    missing = cli("funnel", "--offer", "offer_nope")
    assert missing.exit_code != 0 and "No offer 'offer_nope'" in missing.output
    assert "Traceback" not in missing.output
