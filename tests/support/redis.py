"""A throw-away Redis server on a free loopback port, with nothing written to disk."""

import shutil
import subprocess
import time

import redis

from tests.support.ports import free_port


def find_redis() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """One redis-server process owned by the test session."""

    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def flush(self) -> None:
        redis.Redis(port=self.port).flushall()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
