"""GOVERNOR_OUTBOUND_LIMITS: good strings parse, bad ones give a ConfigError naming the entry."""

import re

import pytest

from governor.errors import ConfigError
from governor.outbound import Limit, OutboundClient, parse_limits


def test_limits_parse_per_host() -> None:
    assert parse_limits(" API.x.com=10/s, y.org = 600/m,,z.net=1/h ") == {
        "api.x.com": Limit(10, "s"),
        "y.org": Limit(600, "m"),
        "z.net": Limit(1, "h"),
    }
    assert parse_limits("") == {}


def test_the_margin_stretches_each_window_as_set() -> None:
    assert parse_limits("a.com=100/s")["a.com"].rate().interval == 1100  # 10% by default
    assert parse_limits("a.com=100/s", margin=0.02)["a.com"].rate().interval == 1020
    assert parse_limits("a.com=100/s", margin=0.0)["a.com"].rate().interval == 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("api.x.com=ten/s", "'api.x.com=ten/s' is not N/s, N/m or N/h"),
        ("api.x.com=10/d", "'api.x.com=10/d' is not N/s, N/m or N/h"),
        ("api.x.com=10", "'api.x.com=10' is not N/s, N/m or N/h"),
        ("api.x.com=-1/s", "'api.x.com=-1/s' is not N/s, N/m or N/h"),
        ("api.x.com:10/s", "'api.x.com:10/s' is not host=N/s"),
        ("=10/s", "'=10/s' is not host=N/s"),
        ("api.x.com=0/s", "allows no calls at all"),
        ("https://api.x.com=1/s", "is not a host name"),
        ("a.com=1/s,A.com=2/s", "'A.com' is given twice"),
    ],
)
def test_bad_limits_give_a_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_limits(text)
    assert caught.value.message.startswith("GOVERNOR_OUTBOUND_LIMITS: ")
    assert message in caught.value.message
    assert caught.value.hint


def test_the_client_refuses_bad_limits_from_the_environment(configure) -> None:
    configure(outbound_limits="api.x.com=ten/s")
    with pytest.raises(ConfigError, match=re.escape("'api.x.com=ten/s' is not N/s, N/m or N/h")):
        OutboundClient()
