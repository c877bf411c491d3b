"""JSON report: the profile's schema dict (docs/PROFILE.md), strict JSON (no NaN)."""

from __future__ import annotations

import json

from ..model import Profile


def to_json(profile: Profile, indent: int | None = 2) -> str:
    return json.dumps(profile.to_dict(), indent=indent, allow_nan=False)
