"""What the simulated business may build and sell, and how its agents' tasks behave (pure data)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class OfferSpec:
    """An offer an idea can become: title, price in minor units, currency, how well it sells."""

    title: str
    price_minor: int
    currency: str
    popularity: float


@dataclass(frozen=True)
class IdeaSpec:
    """An idea for an AI business and the offers it can turn into."""

    title: str
    description: str
    offers: tuple[OfferSpec, ...]


IDEAS: tuple[IdeaSpec, ...] = (
    IdeaSpec("AI resume rewriter", "Rewrites a CV for a job ad: keywords, impact, clean layout.", (
        OfferSpec("Resume rewrite", 4900, "usd", 1.6),
        OfferSpec("Resume + cover letter bundle", 7900, "usd", 0.8),
        OfferSpec("Lebenslauf-Optimierung", 3900, "eur", 0.5),
    )),
    IdeaSpec("SEO audit reports", "Crawls a site and writes a prioritised audit with fixes.", (
        OfferSpec("SEO audit, up to 50 pages", 9900, "usd", 0.9),
        OfferSpec("SEO audit Pro, up to 500 pages", 29900, "usd", 0.25),
    )),
    IdeaSpec("Shopify product descriptions", "Writes on-brand product copy from a catalog CSV.", (
        OfferSpec("100 product descriptions", 4900, "usd", 1.0),
        OfferSpec("Catalog refresh, 500 products", 19900, "usd", 0.2),
    )),
    IdeaSpec("Podcast show notes", "Transcribes an episode; writes notes, chapters and quotes.", (
        OfferSpec("Show notes, one episode", 1900, "usd", 1.8),
        OfferSpec("Show notes, 10-episode pack", 14900, "usd", 0.3),
    )),
    IdeaSpec("Cold email personalisation", "Researches prospects, writes a first line for each.", (
        OfferSpec("500 personalised openers", 9900, "usd", 0.6),
        OfferSpec("500 personalisierte Einstiege", 8900, "eur", 0.35),
    )),
    IdeaSpec("Contract summaries", "Summarises a contract's obligations, dates and risks.", (
        OfferSpec("Contract summary", 2900, "usd", 1.1),
        OfferSpec("Vertragszusammenfassung", 2900, "eur", 0.6),
    )),
    IdeaSpec("YouTube title and thumbnail copy", "Writes ten title and thumbnail-text variants.", (
        OfferSpec("Title & thumbnail pack", 1900, "usd", 1.4),
    )),
    IdeaSpec("Etsy listing optimiser", "Rewrites Etsy titles, tags and descriptions for search.", (
        OfferSpec("20 Etsy listings", 3900, "usd", 0.9),
        OfferSpec("Optimisation de 20 annonces Etsy", 3500, "eur", 0.4),
    )),
    IdeaSpec("Real-estate listing writer", "Turns a property's facts and photos into a listing.", (
        OfferSpec("Property listing", 2900, "usd", 0.8),
    )),
    IdeaSpec("Grant proposal drafts", "Drafts a grant proposal from a funder's call and notes.", (
        OfferSpec("Grant proposal first draft", 24900, "usd", 0.15),
    )),
    IdeaSpec("Meeting notes to action items", "Turns a meeting transcript into owners and dates.", (
        OfferSpec("Meeting pack, 20 meetings", 2900, "usd", 0.7),
    )),
    IdeaSpec("App store review replies", "Drafts replies to app reviews in the app's voice.", (
        OfferSpec("1,000 review replies", 4900, "usd", 0.5),
        OfferSpec("1.000 Antworten auf Bewertungen", 4500, "eur", 0.25),
    )),
)  # fmt: skip


@dataclass(frozen=True)
class ModelUse:
    """A model a task type calls, how often it is chosen, and its token ranges per call."""

    model: str
    weight: float
    input_tokens: tuple[int, int]
    output_tokens: tuple[int, int]
    tokens_per_s: float


@dataclass(frozen=True)
class TaskKind:
    """How one type of agent task behaves: its model calls, the step around them, failures."""

    type: str
    calls: tuple[int, int]
    models: tuple[ModelUse, ...]
    failure_rate: float
    retry_rate: float
    step: str | None


TASKS: dict[str, TaskKind] = {
    "implement_idea": TaskKind("implement_idea", (2, 3), (
        ModelUse("claude-3-5-sonnet", 0.6, (6_000, 24_000), (1_500, 6_000), 55.0),
        ModelUse("gpt-4o", 0.4, (6_000, 20_000), (1_500, 5_000), 70.0),
    ), 0.08, 0.15, "build the product"),
    "create_offer": TaskKind("create_offer", (1, 2), (
        ModelUse("gpt-4o", 0.7, (2_500, 7_000), (600, 1_800), 70.0),
        ModelUse("claude-3-5-sonnet", 0.3, (2_500, 7_000), (600, 1_800), 55.0),
    ), 0.04, 0.08, None),
    "write_copy": TaskKind("write_copy", (1, 1), (
        ModelUse("gpt-4o-mini", 0.7, (1_200, 4_000), (300, 1_400), 110.0),
        ModelUse("claude-3-5-haiku", 0.3, (1_200, 4_000), (300, 1_400), 95.0),
    ), 0.02, 0.05, None),
    "fulfill_order": TaskKind("fulfill_order", (1, 2), (
        ModelUse("gpt-4o-mini", 0.75, (1_500, 9_000), (400, 2_500), 110.0),
        ModelUse("gpt-4o", 0.25, (1_500, 9_000), (400, 2_500), 70.0),
    ), 0.01, 0.04, "draft the deliverable"),
}  # fmt: skip

ERRORS = (
    "RateLimitError: Error code: 429 - Rate limit reached for requests",
    "APITimeoutError: Request timed out.",
    "InternalServerError: Error code: 500 - The server had an error while processing",
    "ValueError: the model's answer was not valid JSON",
)

FIRST_NAMES = (
    "Ada", "Ben", "Chloé", "Daniel", "Elif", "Farah", "Greta", "Hugo", "Ines", "Jonas", "Kenji",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sami", "Tara", "Uma",
    "Victor", "Wen", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adler", "Brooks", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ito",
    "Jensen", "Kowalski", "Lopez", "Müller", "Novak", "Okafor", "Petrov", "Rossi", "Schmidt",
    "Tanaka", "Varga", "Weber", "Young", "Zimmermann",
)  # fmt: skip
EMAIL_DOMAIN = "example.com"
"""Every simulated customer's email domain (reserved by RFC 2606): it marks a demo database."""


def email(first: str, last: str, tag: str) -> str:
    """A simulated customer's address: ascii, lower case, at EMAIL_DOMAIN."""
    plain = str.maketrans("éüíá", "euia")
    return f"{first.translate(plain)}.{last.translate(plain)}{tag}@{EMAIL_DOMAIN}".lower()


COSTS = (
    ("other_cost", 2000, "usd", "Hosting (monthly)"),
    ("other_cost", 1200, "usd", "Transactional email (monthly)"),
    ("other_cost", 900, "eur", "EU VAT filing service (monthly)"),
)
"""Monthly costs the business pays besides fulfilment: kind, amount, currency, description."""
