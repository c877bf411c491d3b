"""cobol.profile: where the time and the bytes of a run go.

>>> from cobol.profile import profile_roundtrip, to_text
>>> blob, prof = profile_roundtrip(b'{"id": 1, "name": "x"}\\n' * 2000)
>>> prof.totals["frame_bytes"] == len(blob)
True
>>> [r["op"] for r in prof.runs]
['compress', 'decompress']

Give a :class:`Profiler` to the engine (``CobolEngine(profiler=p)``) and call
``p.profile()``, or use :func:`profile_compress` / :func:`profile_roundtrip`.
:class:`StreamingProfile` times blocks on the wire for the streaming API.
The JSON schema, the ``record`` API for transforms and the bottleneck rating
are documented in docs/PROFILE.md.
"""

from __future__ import annotations

from .bottleneck import find_bottlenecks, severity
from .model import SCHEMA, SEVERITY_NAMES, Profile
from .profiler import Profiler, profile_compress, profile_roundtrip
from .reporters import print_text, to_csv, to_html, to_json, to_text, write_report
from .streaming import StreamingProfile

__all__ = [
    "Profiler", "Profile", "StreamingProfile", "profile_compress", "profile_roundtrip", "find_bottlenecks",
    "severity", "SCHEMA", "SEVERITY_NAMES", "to_json", "to_csv", "to_text", "print_text", "to_html", "write_report",
]
