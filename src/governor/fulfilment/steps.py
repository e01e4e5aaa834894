"""What fulfilling an offer takes: its fulfilment type and config as a list of named steps."""

from dataclasses import dataclass
from typing import Any

import httpx

from governor.errors import BadInput
from governor.models import Offer

TYPES = ("deliver_file", "issue_licence", "call_api", "agent_task")
APIS = ("shipping", "email")
"""What a call_api step calls: a shipping API needs the address, an e-mail API the e-mail."""
NEEDS: dict[str, tuple[str, ...]] = {"shipping": ("address",), "email": ("email",)}
AGENT = "agent:"
"""A step run by an agent's own task has the provider `agent:<task type>`."""


@dataclass(frozen=True)
class Step:
    """One step: its name (unique per order), the provider, the URL it POSTs to (None for an
    agent's task) and the customer data the provider needs."""

    name: str
    provider: str
    url: str | None = None
    needs: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()  # fixed fields of the payload, from the config

    @property
    def task_type(self) -> str | None:
        """The agent's task type of an `agent_task` step."""
        return self.provider.removeprefix(AGENT) if self.provider.startswith(AGENT) else None


def plan(offer: Offer) -> list[Step]:
    """The offer's steps, in order; BadInput naming what its fulfilment config lacks."""
    kind, config = offer.fulfilment_type, offer.fulfilment_config or {}
    if not isinstance(config, dict):
        raise _bad(offer, "fulfilment_config must be a JSON object")
    if kind == "deliver_file":
        return [
            _http(
                offer, config, "deliver_file", "url", ("email",), file=_text(offer, config, "file")
            )
        ]
    if kind == "issue_licence":
        steps = [_http(offer, config, "issue_licence", "url", (), product=config.get("product"))]
        if config.get("email_url"):
            steps.append(_http(offer, config, "send_licence", "email_url", ("email",)))
        return steps
    if kind == "call_api":
        api = config.get("api")
        if api is not None and api not in APIS:
            raise _bad(offer, f"'api' is '{api}', not one of {', '.join(APIS)} (or left out)")
        needs = NEEDS.get(str(api), ())
        return [_http(offer, config, api or "call_api", "url", needs,
                      template=config.get("template"))]  # fmt: skip
    if kind == "agent_task":
        return [Step("agent_task", AGENT + _text(offer, config, "task_type"))]
    raise _bad(offer, f"unknown fulfilment type '{kind}' (known: {', '.join(TYPES)})")


def _http(offer: Offer, config: dict[str, Any], name: str, url_key: str,
          needs: tuple[str, ...], **extra: Any) -> Step:  # fmt: skip
    url = _text(offer, config, url_key)
    try:
        host = httpx.URL(url).host
    except httpx.InvalidURL:
        host = ""
    if not host or not url.startswith(("http://", "https://")):
        raise _bad(offer, f"'{url_key}' is not an http(s) URL: {url!r}")
    fixed = tuple((k, v) for k, v in sorted(extra.items()) if v is not None)
    return Step(name, host.lower(), url, needs, fixed)


def _text(offer: Offer, config: dict[str, Any], key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(offer, f"'{key}' is missing")
    return value.strip()


def _bad(offer: Offer, problem: str) -> BadInput:
    return BadInput(
        f"Offer {offer.id} ({offer.fulfilment_type}) cannot be fulfilled: {problem}.",
        hint="Fix the offer's fulfilment_config, then retry the order's fulfilment task "
        "(`governor tasks retry ID`).",
    )
