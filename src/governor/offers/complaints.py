"""The problems a customer's text names: a short, documented list of words and phrases.

Each problem is a label and one pattern that matches its usual forms, case aside, with
straight or curly apostrophes and with or without them ("didn't", "didnt", "did not"). The
list is small on purpose: a text matching it becomes a finding a person reads, so a miss
costs less than a flood of false alarms. Add a line here to catch a new kind of complaint.
"""

import re

_NOT = r"(?:n'?t|\s+not)"  # "didn't", "didnt", "did not"
PROBLEMS: dict[str, str] = {
    "refund": r"refund(?:s|ed|ing)?|money back|chargeback",
    "broken": r"broken|broke|(?:does|did|do|is|was|wo|ca)" + _NOT + r"\s+work|not\s+working"
    r"|stopped\s+working|(?:is|was)" + _NOT + r"\s+working",
    "never arrived": r"never\s+(?:arrived|came|received|got\s+it)|(?:did|has|have)"
    + _NOT
    + r"\s+(?:arrive|arrived|receive|received)|not\s+(?:arrived|received|delivered)",
    "scam": r"scam(?:med|mer)?|fraud(?:ulent)?|rip[\s-]?off",
    "charged twice": r"(?:charged|billed)\s+twice|double[\s-]+(?:charged|billed)",
    "cannot download": r"(?:can|could)(?:not|" + _NOT + r")\s+(?:download|open|access)"
    r"|download\s+(?:failed|fails)",
    "wrong item": r"wrong\s+(?:item|file|product|order|version)",
    "error": r"errors?",
}
_MATCHERS = {label: re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)
             for label, pattern in PROBLEMS.items()}  # fmt: skip


def problems(text: str | None) -> list[str]:
    """The labels of the problems the text names, in the list's order (none: empty)."""
    if not text:
        return []
    plain = text.replace("\u2019", "'").replace("\u2018", "'")
    return [label for label, matcher in _MATCHERS.items() if matcher.search(plain)]
