"""The failed-login limiter: five failures in 15 minutes per address or name, then a pause."""

import threading

from governor.auth.ratelimit import LoginLimiter


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_block_the_rest_of_the_window():
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    for _ in range(5):
        assert limiter.retry_after(ip="10.0.0.1", name="alice") == 0
        limiter.failed(ip="10.0.0.1", name="alice")
        clock.now += 60
    assert limiter.retry_after(ip="10.0.0.1", name="alice") == 15 * 60 - 5 * 60
    clock.now += 10 * 60 - 1
    assert limiter.retry_after(ip="10.0.0.1", name="alice") == 1
    clock.now += 1
    assert limiter.retry_after(ip="10.0.0.1", name="alice") == 0


def test_the_window_slides_with_the_oldest_failure():
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    for _ in range(5):
        limiter.failed(ip="10.0.0.1", name="alice")
        clock.now += 100
    clock.now = 1000.0 + 900  # the first failure has left the window
    assert limiter.retry_after(ip="10.0.0.1", name="alice") == 0
    limiter.failed(ip="10.0.0.1", name="alice")  # five within 15 minutes again
    assert limiter.retry_after(ip="10.0.0.1", name="alice") == 100


def test_one_address_guessing_many_names_is_blocked_for_every_name():
    limiter = LoginLimiter(clock=Clock())
    for n in range(5):
        limiter.failed(ip="10.0.0.9", name=f"user{n}")
    assert limiter.retry_after(ip="10.0.0.9", name="someone-else") > 0
    assert limiter.retry_after(ip="10.0.0.10", name="someone-else") == 0


def test_many_addresses_guessing_one_name_block_that_name():
    limiter = LoginLimiter(clock=Clock())
    for n in range(5):
        limiter.failed(ip=f"10.0.1.{n}", name="Alice")
    assert limiter.retry_after(ip="10.0.2.1", name=" alice ") > 0  # case and spaces do not help
    assert limiter.retry_after(ip="10.0.2.1", name="bob") == 0


def test_a_success_clears_the_name_but_not_the_address():
    limiter = LoginLimiter(clock=Clock())
    for _ in range(4):
        limiter.failed(ip="10.0.0.1", name="alice")
    limiter.succeeded(name="alice")
    limiter.failed(ip="10.0.0.2", name="alice")
    assert limiter.retry_after(ip="10.0.0.2", name="alice") == 0  # the name's count restarted
    limiter.failed(ip="10.0.0.1", name="bob")
    assert limiter.retry_after(ip="10.0.0.1", name="carol") > 0  # the address kept its four


def test_concurrent_failures_are_all_counted():
    limiter = LoginLimiter(max_failures=800, clock=Clock())
    start = threading.Barrier(8)

    def fail_100(worker: int) -> None:
        start.wait()
        for n in range(100):
            limiter.failed(ip="10.0.0.1", name=f"w{worker}-{n}")

    threads = [threading.Thread(target=fail_100, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limiter.retry_after(ip="10.0.0.1", name="anyone") > 0


def test_stale_entries_are_swept_when_many_names_were_tried():
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    for n in range(6000):
        limiter.failed(ip=f"10.1.{n // 250}.{n % 250}", name=f"user{n}")
    clock.now += 15 * 60
    limiter.failed(ip="10.9.9.9", name="late")
    assert limiter.tracked() <= 2


def test_a_known_device_is_not_blocked_by_the_names_or_addresses_failures():
    limiter = LoginLimiter(clock=Clock())
    for _ in range(5):
        limiter.failed(ip="10.0.0.1", name="alice")
    assert limiter.retry_after(ip="10.0.0.1", name="alice") > 0
    assert limiter.retry_after(ip="10.0.0.1", name="alice", device="d1") == 0


def test_a_known_devices_failures_are_its_own_until_it_has_five():
    limiter = LoginLimiter(clock=Clock())
    for _ in range(5):
        limiter.failed(ip="10.0.0.1", name="alice", device="d1")
    assert limiter.retry_after(ip="10.0.0.1", name="alice") == 0  # nobody else was counted
    assert limiter.retry_after(ip="10.0.0.1", name="alice", device="d2") == 0
    for _ in range(5):  # now an unknown browser: these count for the name and address
        limiter.failed(ip="10.0.0.1", name="alice", device="d1")
    assert limiter.retry_after(ip="10.0.0.1", name="alice", device="d1") > 0
    assert limiter.retry_after(ip="10.0.0.2", name="alice") > 0
    limiter.succeeded(name="alice", device="d1")
    assert limiter.retry_after(ip="10.0.0.2", name="alice", device="d1") == 0
