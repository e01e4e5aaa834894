"""Stripe's currency exponents, and amounts between report text and integer minor units."""

import re

# Stripe's zero-decimal currencies: amounts are already in the currency's smallest unit.
ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()  # noqa: SIM905
)
# Stripe's three-decimal currencies: 5.124 KWD is 5124 in the API.
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())  # noqa: SIM905

# ISO 4217 codes, current ones and those withdrawn since Stripe launched (old reports hold them).
KNOWN = frozenset(
    """
    aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob bov brl bsd btn
    bwp byn byr bzd cad cdf che chf chw clf clp cny cop cou crc cuc cup cve czk djf dkk dop dzd
    eek egp ern etb eur fjd fkp gbp gel ghs gip gmd gnf gtq gyd hkd hnl hrk htg huf idr ils inr
    iqd irr isk jmd jod jpy kes kgs khr kmf kpw krw kwd kyd kzt lak lbp lkr lrd lsl ltl lvl lyd
    mad mdl mga mkd mmk mnt mop mro mru mur mvr mwk mxn mxv myr mzn nad ngn nio nok npr nzd omr
    pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sdg sek sgd shp sle sll sos srd
    ssp std stn svc syp szl thb tjs tmt tnd top try ttd twd tzs uah ugx usd usn uyi uyu uyw uzs
    ved vef ves vnd vuv wst xaf xcd xcg xof xpf yer zar zmk zmw zwg zwl
    """.split()  # noqa: SIM905
)

_EXPONENT = {
    code: 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2 for code in KNOWN
}

# How Stripe's CSV reports write amounts: an optional minus, digits, optionally a point and
# digits ("10.00", "-0.59", "1000"); no thousands separators, no exponent, no plus sign.
_AMOUNT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_CODE = re.compile(r"[a-z]{3}")


def normalise(currency: str) -> str:
    """The lower-case code of a currency; ValueError unless it is three letters."""
    code = currency.strip().lower()
    if not _CODE.fullmatch(code):
        raise ValueError(f"currency {currency!r} is not a three-letter ISO code")
    return code


def is_known(currency: str) -> bool:
    """Whether the currency is an ISO 4217 code (any case)."""
    return currency.strip().lower() in KNOWN


def exponent(currency: str) -> int:
    """How many decimal places the currency has in Stripe: 0, 3, or else 2."""
    places = _EXPONENT.get(currency)
    if places is None:
        code = normalise(currency)
        places = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return places


def is_zero_decimal(currency: str) -> bool:
    """Whether Stripe treats the currency as zero-decimal."""
    return currency.strip().lower() in ZERO_DECIMAL


def to_minor(text: str, currency: str) -> int:
    """Integer minor units from a major-unit amount as Stripe's reports write it ("-0.59").

    Exact integer arithmetic on the digits (no float, and no Decimal context to round with);
    zeros beyond the currency's places are accepted ("10.000" USD), other digits refused.
    """
    return minor_units(text, exponent(currency), currency)


def minor_units(text: str, places: int, currency: str) -> int:
    """`to_minor` with the currency's exponent already known (the report parser's hot path)."""
    match = _AMOUNT.fullmatch(text) or _AMOUNT.fullmatch(text.strip())
    if match is None:
        why = "; Stripe writes no thousands separators" if "," in text else ""
        raise ValueError(f"{text!r} is not an amount in major units like 10.00 or -0.59{why}")
    minus, whole, fraction = match.groups()
    if fraction is None:
        minor = int(whole) * 10**places
    elif len(fraction) == places:
        minor = int(whole + fraction)
    elif fraction[places:].strip("0"):
        code = currency.strip().upper()
        raise ValueError(f"{text!r} has more decimal places than {code} has ({places})")
    else:
        minor = int(whole + fraction[:places].ljust(places, "0"))
    return -minor if minus else minor


def format_minor(amount: int, currency: str) -> str:
    """The major-unit text of an amount in minor units ("-0.59"; "1000" for JPY)."""
    places = exponent(currency)
    if places == 0:
        return str(amount)
    whole, part = divmod(abs(amount), 10**places)
    sign = "-" if amount < 0 else ""
    return f"{sign}{whole}.{part:0{places}d}"
