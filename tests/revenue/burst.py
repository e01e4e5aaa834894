"""Many signed webhook deliveries at once over keep-alive connections, with little client work.

httpx spends more CPU per request than the server does; in one process with the server that
would make a burst of thousands take tens of seconds. This client writes each request in one
piece and reads the status line, the headers and the Content-Length body back.
"""

import asyncio
from urllib.parse import urlsplit

from governor.demo.stripe_server import sign
from tests.revenue.conftest import SECRET


def burst(url: str, bodies: list[str], *, connections: int = 32) -> list[int | str]:
    """POST every body signed, over `connections` at once; each status, or why none came."""
    return asyncio.run(_burst(url, bodies, connections))


async def _burst(url: str, bodies: list[str], connections: int) -> list[int | str]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    statuses: list[int | str] = ["not sent"] * len(bodies)
    todo = iter(range(len(bodies)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in todo:
                body = bodies[n].encode()
                writer.write(
                    f"POST {parts.path} HTTP/1.1\r\nHost: {host}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Stripe-Signature: {sign(body, SECRET)}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                try:
                    statuses[n] = await _status(reader)
                except (ConnectionError, asyncio.IncompleteReadError) as error:
                    statuses[n] = type(error).__name__
                    writer.close()
                    try:
                        reader, writer = await asyncio.open_connection(host, port)
                    except OSError:  # the server is gone: the rest stay "not sent"
                        return
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return statuses


async def _status(reader: asyncio.StreamReader) -> int:
    """Read one response; its status code."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":", 1)[1]) for line in head if line.lower().startswith("content-length:")
    )
    await reader.readexactly(length)
    return int(head[0].split()[1])
