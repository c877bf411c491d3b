"""Paths and constants shared by the harness's modules."""

from pathlib import Path

#: the repository (this file is tests/fuzz/common.py)
ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
MiB = 1 << 20

#: exceptions that the engine's decode_block turns into FormatError (its safety net)
ENGINE_NET = ("IndexError", "ValueError", "KeyError", "TypeError", "OverflowError", "MemoryError",
              "ArithmeticError", "ZeroDivisionError", "FloatingPointError")


# ====================================================================== inputs
