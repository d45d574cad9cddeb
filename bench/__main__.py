"""`python -m bench` runs every benchmark; `python -m bench NAME [OPTIONS]` runs one (`--help` after NAME for its
options)."""
from __future__ import annotations

import importlib
import sys

from bench import RESULTS, names


def main(argv: list[str]) -> int:
    available = names()
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\nbenchmarks: " + ", ".join(available))
        return 0
    if argv and argv[0] not in available:
        print(f"no benchmark named '{argv[0]}'; choose from: {', '.join(available)}", file=sys.stderr)
        return 2
    chosen, options = ([argv[0]], argv[1:]) if argv else (available, [])
    status = 0
    RESULTS.mkdir(parents=True, exist_ok=True)  # gitignored: absent from a fresh clone
    for name in chosen:
        status |= importlib.import_module(f"bench.bench_{name}").main(options)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
