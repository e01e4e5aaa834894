"""How the command line prints: Rich for people, plain JSON for scripts, errors on stderr."""

import json
from typing import Any

from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Print one JSON document on stdout and nothing else."""
    print(json.dumps(data, indent=2, default=str))
