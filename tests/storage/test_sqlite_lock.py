"""One writer at a time per process on SQLite: queued in arrival order, released however a
transaction ends, so no writer waits in SQLite's busy handler or forever."""

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from governor.storage.db import create_engine, session_scope
from governor.storage.sqlite_lock import WriterLock


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    made = create_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with made.begin() as conn:
        conn.execute(sa.text("CREATE TABLE log (n INTEGER)"))
    return made


def test_writers_get_the_lock_in_the_order_they_asked_for_it(engine: sa.Engine) -> None:
    order: list[int] = []
    first_holds = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with session_scope(engine) as session:
            session.execute(sa.text("INSERT INTO log VALUES (0)"))
            first_holds.set()
            release_first.wait(5)
            order.append(0)

    def writer(n: int) -> None:
        with session_scope(engine) as session:
            session.execute(sa.text("INSERT INTO log VALUES (:n)"), {"n": n})
            order.append(n)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    first_holds.wait(5)
    for n in (1, 2, 3):
        threads.append(threading.Thread(target=writer, args=(n,)))
        threads[-1].start()
        time.sleep(0.05)  # each asks after the one before
    release_first.set()
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3]


def test_a_failed_transaction_and_a_reader_do_not_keep_the_lock(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.OperationalError), session_scope(engine) as session:
        session.execute(sa.text("INSERT INTO missing_table VALUES (1)"))
    with session_scope(engine, readonly=True) as session:  # readers never take it
        session.execute(sa.text("SELECT count(*) FROM log"))
    done = threading.Event()

    def write() -> None:
        with session_scope(engine) as session:
            session.execute(sa.text("INSERT INTO log VALUES (1)"))
        done.set()

    threading.Thread(target=write).start()
    assert done.wait(2), "the lock was never given back after the rollback"


def test_a_writer_that_waited_too_long_goes_on_and_leaves_the_queue() -> None:
    lock = WriterLock(timeout_s=0.05)
    holder: dict[str, object] = {}
    lock.take(holder)
    late: dict[str, object] = {}
    started = time.monotonic()
    lock.take(late)  # gives up after the timeout: SQLite's own busy handling decides
    assert time.monotonic() - started < 1 and late == {}
    lock.let_go(holder)
    again: dict[str, object] = {}
    lock.take(again)  # free again, not handed to the writer who left
    assert again
    lock.let_go(again)
