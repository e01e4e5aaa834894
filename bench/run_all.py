"""Run every benchmark in bench/ in turn (what `make bench` does)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

if __name__ == "__main__":
    scripts = sorted(p for p in HERE.glob("*.py")  # modules the scripts import have no main
                     if p.name != "run_all.py" and "__main__" in p.read_text())  # fmt: skip
    failed = [
        p.name for p in scripts if subprocess.run([sys.executable, str(p)], cwd=HERE).returncode
    ]
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")
