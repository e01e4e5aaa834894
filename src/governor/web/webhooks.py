"""POST /webhooks/stripe: verify, store once, answer at once; a system task does the work."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from governor.config import Settings
from governor.revenue.webhook import InvalidSignature, Receiver, verify


def stripe_webhooks(settings: Settings, engine: Engine) -> APIRouter:
    """The router of Stripe's webhook endpoint (no login: Stripe's signature is the proof)."""
    router = APIRouter()
    receiver = Receiver(engine)
    secrets = settings.webhook_secrets()

    @router.post("/webhooks/stripe", include_in_schema=False)
    async def stripe_webhook(request: Request) -> JSONResponse:
        """400 and nothing stored unless the signature verifies; 200 once the event is committed."""
        payload = await request.body()
        try:
            event = verify(payload, request.headers.get("stripe-signature"), secrets)
        except InvalidSignature as error:
            return JSONResponse({"error": error.message}, status_code=400)
        await run_in_threadpool(receiver.receive, event)
        return JSONResponse({"received": True})

    return router
