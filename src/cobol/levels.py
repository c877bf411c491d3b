"""Compression levels: their range and the default.

A module of constants with no imports, so that ``import cobol`` and
``cobol --help`` can name them without loading the engine (and with it
NumPy and Numba). :mod:`cobol.engine` re-exports them.
"""

MIN_LEVEL, MAX_LEVEL = 0, 22
DEFAULT_LEVEL = 3
