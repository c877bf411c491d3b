"""Fuzz the decoders with corrupt, truncated and hostile input.

The rule under test (docs/FORMAT.md, cobol/errors.py): whatever bytes a
decoder is given, it raises a :class:`~cobol.errors.CobolError` subclass or
returns; never another exception, never a crash (a Numba kernel writing out of
bounds), never a hang, never an allocation out of proportion to the input.

How: every *target* (a registered transform, the int codec, the bit packer,
the accelerator backends' decoders, entropy codec 3 (ppmd), whole frames through the
public API, level-19 frames with ppmd streams) gets
a few valid inputs, made by the target's own encoder from small synthetic data
and from ``samples/``. Each *case* takes one input, applies 1-3 random
mutations (bit flips, byte substitutions, truncations, extensions, spliced or
swapped or dropped streams, huge or zeroed varints, a different block length)
and decodes the result. A case is named ``target|input|seed|index`` and is
reproducible from that name alone (``--repro NAME``).

Cases run in child processes (a segfault must not take the driver with it),
each with a soft address-space limit set per case to the child's current size
plus a budget proportional to the case (raw length and stream bytes), so an
allocation from an untrusted count shows up as MemoryError. The driver
watches a heartbeat per case: a case that runs past ``--case-timeout`` seconds
is a hang, a child that dies is a crash; the driver starts a new child after
the case that killed the old one.

Outcomes per case:

ok        the decoder raised a CobolError (or returned: a mutation may be a no-op)
FAIL      another exception escaped (reported with its traceback), or crash/hang,
          or MemoryError (an allocation not bounded by the case's sizes)
net       a FormatError that wraps another exception (a transform's own
          ``except IndexError`` net, seen through ``__context__``): the input
          was not validated before use; lower priority, reported apart
slow      decoded, but took more than ``--slow`` seconds

``--boundscheck`` runs the children with ``NUMBA_BOUNDSCHECK=1`` (and their
own Numba cache): an out-of-bounds access inside a kernel, silent memory
corruption otherwise, becomes an IndexError naming the call.

Modules: ``inputs`` (valid data per format), ``targets`` (one decoder each and
its inputs), ``mutations``, ``child`` (runs cases, in a child process),
``driver`` (starts and watches children, the report), ``__main__`` (the
command line). Importable with ``tests/`` on the path (pytest puts it there):
tests/test_hostile_decoders.py runs a small seeded share of it in CI.

Usage (``bench/fuzz_decoders.py`` runs the same command line)::

    PYTHONPATH=src:tests .venv/bin/python -m fuzz --seconds 600
    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --seconds 600
    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --targets csv,json --cases 500
    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --boundscheck --seconds 300
    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --repro 'csv|syn-quoted|1|17'
    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --list

"""

from .driver import Report, numeric_bomb_frame, repro, run_campaign
from .targets import DEFAULT_TARGETS, Input, Target, all_targets, default_targets

__all__ = ["DEFAULT_TARGETS", "Input", "Report", "Target", "all_targets", "default_targets", "numeric_bomb_frame",
           "repro", "run_campaign"]
