"""A second process for the shared-limit test: N GETs once told to go (settings from env)."""

import sys
from concurrent.futures import ThreadPoolExecutor

from governor.outbound import OutboundClient


def main(url: str, calls: int) -> None:
    """Print 'ready', wait for a line on stdin, make the calls, print how many answered 200."""
    with OutboundClient() as client:
        client.throttle.wait("warm-up.invalid")  # import and set up everything before the start
        print("ready", flush=True)
        sys.stdin.readline()
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda _: client.get(url).status_code, range(calls)))
    print(codes.count(200), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
