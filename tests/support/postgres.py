"""A throw-away PostgreSQL server: initdb and pg_ctl in a temporary folder, on a loopback port."""

import os
import pwd
import queue
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import psycopg

from tests.support.ports import free_port


def find_bin_dir() -> Path | None:
    """The folder of the newest installed PostgreSQL server binaries, if any."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    return versions[-1].parent if versions else None


class PostgresServer:
    """One PostgreSQL cluster owned by the test session; stop() removes every trace."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="governor-pg-"))
        self.data = self.root / "data"
        self.user = "postgres"
        self._runas: list[str] = []
        if os.geteuid() == 0:  # postgres refuses to run as root: run it as an unprivileged user
            account = _unprivileged_account()
            self._runas = ["runuser", "-u", account, "--"]
            uid = pwd.getpwnam(account)
            os.chown(self.root, uid.pw_uid, uid.pw_gid)

    def _run(self, *args: str) -> None:
        subprocess.run([*self._runas, *args], check=True, capture_output=True, cwd=self.root)

    def start(self) -> "PostgresServer":
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.user,
                  "--auth=trust", "--encoding=UTF8", "--locale=C")  # fmt: skip
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server on its data folder (after start() made it, or after pause())."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "log"), "-w", "start")  # fmt: skip

    def pause(self) -> None:
        """Stop the server as an operator would (fast shutdown), keeping its data."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user,
                             dbname="postgres", autocommit=True) as conn:  # fmt: skip
            conn.execute(sql)

    def create_database(self, name: str, template: str | None = None) -> str:
        copy = f' TEMPLATE "{template}" STRATEGY = FILE_COPY' if template else ""
        self._admin(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class AheadCopies:
    """Copies of a template database made, and used ones dropped, by a thread ahead of the
    tests: a test's set-up takes a ready copy instead of waiting for CREATE DATABASE."""

    def __init__(self, server: PostgresServer, template: str, ahead: int = 2) -> None:
        self.server, self.template = server, template
        self._ready: queue.Queue[str] = queue.Queue(maxsize=ahead)
        self._used: queue.Queue[str] = queue.Queue()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-copies", daemon=True)
        self._thread.start()

    def take(self) -> str:
        """The name of a fresh copy (waits for one if the thread is behind)."""
        return self._ready.get(timeout=120)

    def give_back(self, name: str) -> None:
        """A copy a test has finished with: dropped by the thread."""
        self._used.put(name)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        made: str | None = None
        while not self._stopped.is_set():
            try:
                while not self._used.empty():
                    self.server.drop_database(self._used.get_nowait())
                if made is None:
                    made = f"t_{uuid.uuid4().hex[:12]}"
                    self.server.create_database(made, template=self.template)
                self._ready.put(made, timeout=0.05)
                made = None
            except queue.Full:
                continue
            except psycopg.Error:
                if self._stopped.wait(0.2):
                    return


def _unprivileged_account() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("no unprivileged account (postgres or nobody) to run PostgreSQL as")
