"""The one digest of JSON-able values: sha256 of their canonical JSON, hex, shortened.

Campaign task keys, config hashes, prompt hashes and per-sensor result fingerprints all use it,
so equal values give equal digests wherever they are computed.

Examples
--------
>>> json_digest({"b": 1, "a": [1, 2]})
'94a786c3662bc7be'
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["json_digest"]


def json_digest(value: Any, length: int = 16, compact: bool = True) -> str:
    """The first ``length`` hex digits of sha256 over ``json.dumps(value, sort_keys=True)``.

    compact: separators without spaces (",", ":"); False keeps json's default ", " and ": ",
    which campaign task keys were first computed with (they must not change: a rerun finds its
    finished runs by them).
    """
    separators = (",", ":") if compact else None
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=separators).encode()).hexdigest()[:length]
