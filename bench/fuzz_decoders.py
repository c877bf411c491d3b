"""Fuzz the decoders with corrupt, truncated and hostile input.

The harness is the package ``tests/fuzz`` (its docstring says what it does and
how); this script puts ``src/`` and ``tests/`` on the path and runs its command
line, e.g.::

    .venv/bin/python bench/fuzz_decoders.py --seconds 600
    .venv/bin/python bench/fuzz_decoders.py --targets csv,json --cases 500
    .venv/bin/python bench/fuzz_decoders.py --repro 'csv|syn-quoted|1|17'
    .venv/bin/python bench/fuzz_decoders.py --list
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from fuzz.__main__ import main  # noqa: E402 - after the path is set

if __name__ == "__main__":
    sys.exit(main())
