"""Real FSAR reports through parse, render and parse again: equal fields, and the same bytes?"""

import argparse
import json
import sys
from pathlib import Path

from common import ROOT, median_ms, report
from governor.audits.fsar import parse_markdown, render_markdown
from governor.errors import BadInput


def first_difference(a: bytes, b: bytes) -> int | None:
    """The offset of the first byte where a and b differ; None when they are equal."""
    if a == b:
        return None
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def check(path: Path, runs: int) -> bool:
    """Report one seed's round trip; True when the re-parsed fields equal the parsed ones."""
    original = path.read_bytes()
    try:
        text = original.decode("utf-8")
        parsed = parse_markdown(text)
    except (UnicodeDecodeError, BadInput) as exc:
        print(json.dumps({"seed": path.name, "error": str(exc)}), flush=True)
        return False
    rendered = render_markdown(parsed).encode("utf-8")
    fields_equal = parse_markdown(rendered.decode("utf-8")) == parsed
    report("fsar_round_trip_ms", median_ms(lambda: render_markdown(parse_markdown(text)), runs),
           "ms", "splitlines_ms", median_ms(text.splitlines, runs), seed=path.name,
           bytes=len(original), fields_equal=fields_equal, byte_equal=rendered == original,
           first_difference=first_difference(rendered, original))  # fmt: skip
    return fields_equal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "seed",
        type=Path,
        nargs="?",
        default=ROOT.parent / "shared" / "seed",
        help="a report file or a folder of them (default: ../shared/seed)",
    )
    parser.add_argument("--runs", type=int, default=101)
    args = parser.parse_args()
    if not args.seed.exists():
        print(json.dumps({"skipped": "fsar_seed", "reason": f"no seed at {args.seed}"}), flush=True)
        return
    seeds = (
        sorted(p for p in args.seed.iterdir() if p.is_file()) if args.seed.is_dir() else [args.seed]
    )
    failed = [p.name for p in seeds if not check(p, args.runs)]
    if failed:
        sys.exit(f"no round trip (unreadable, or fields differ): {', '.join(failed)}")


if __name__ == "__main__":
    main()
