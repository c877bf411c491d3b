"""The Profile: what one profiled run measured, as plain JSON-ready data.

A :class:`Profile` wraps one dict whose layout is the documented JSON schema
(docs/PROFILE.md, ``"schema": "cobol-profile/1"``). Every reporter reads that
dict and nothing else, so a profile saved as JSON and loaded back renders the
same text, CSV and HTML reports as the live one.
"""

from __future__ import annotations

import json
import math

SCHEMA = "cobol-profile/1"

#: severity levels of a bottleneck, index = level
SEVERITY_NAMES = ("ok", "low", "medium", "high", "critical")


def clean_number(x):
    """JSON has no NaN or infinity: such values become None; numpy scalars become Python ones."""
    if x is None or isinstance(x, (bool, int, str)):
        return x
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    if not math.isfinite(f):
        return None
    if hasattr(x, "dtype") and getattr(x.dtype, "kind", "") in "iu":
        return int(x)
    return f


def clean_tree(obj):
    """Make a nested structure of dicts/lists/numbers JSON-safe (see clean_number)."""
    if isinstance(obj, dict):
        return {str(k): clean_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_tree(v) for v in obj]
    return clean_number(obj)


class Profile:
    """One profiled run: ``profile.data`` is the schema dict; the properties are shortcuts."""

    def __init__(self, data: dict):
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} profile (schema={data.get('schema')!r})")
        self.data = data

    # shortcuts to the schema's top-level lists
    @property
    def runs(self) -> list:
        return self.data["runs"]

    @property
    def layers(self) -> list:
        return self.data["layers"]

    @property
    def streams(self) -> list:
        return self.data["streams"]

    @property
    def blocks(self) -> list:
        return self.data["blocks"]

    @property
    def bottlenecks(self) -> list:
        return self.data["bottlenecks"]

    @property
    def totals(self) -> dict:
        return self.data["totals"]

    def run(self, op: str) -> dict | None:
        return next((r for r in self.runs if r["op"] == op), None)

    def layer(self, name: str, op: str = "compress", stream: str | None = None) -> dict | None:
        return next((r for r in self.layers
                     if r["layer"] == name and r["op"] == op and r.get("stream") == stream), None)

    def to_dict(self) -> dict:
        return self.data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.data, indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict) -> "Profile":
        return cls(data)

    @classmethod
    def from_json(cls, text: str) -> "Profile":
        return cls(json.loads(text))

    def __repr__(self) -> str:
        t = self.data.get("totals", {})
        return (f"Profile(raw={t.get('raw_bytes')}, stored={t.get('frame_bytes')}, "
                f"blocks={len(self.blocks)}, bottlenecks={len(self.bottlenecks)})")
