"""Shared dictionaries for small messages (``cobol train``, ``compress(..., dictionary=d)``).

- :mod:`.model`: the :class:`Dictionary` type and its serialized layout
  (docs/DICTIONARY.md), which the engine reads;
- :mod:`.training`: :func:`train`, which builds one from sample messages,
  measuring candidates with the planner and the block layout (not the engine,
  which sits above this package).

>>> d = Dictionary(zstd=b"raw content: {\\"id\\": ", level=3)
>>> Dictionary.from_bytes(d.to_bytes()) == d
True
"""

from .model import (  # noqa: F401  (_dict_id: the fuzz harness forges dictionaries with it)
    DEFAULT_LEVEL, DEFAULT_SIZE, FORMAT_VERSION, MAGIC, Dictionary, _dict_id, load,
)
from .training import train

__all__ = ["Dictionary", "train", "load", "DEFAULT_SIZE", "DEFAULT_LEVEL", "MAGIC", "FORMAT_VERSION"]
