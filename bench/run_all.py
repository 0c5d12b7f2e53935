"""``make bench``: every benchmark, one after the other, each printing its own ratios."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = ["cli_overhead.py", "http_invoke.py", "mcp_gateway.py"]


def main() -> None:
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        sys.argv = [str(HERE / name)]
        runpy.run_path(str(HERE / name), run_name="__main__")


if __name__ == "__main__":
    main()
