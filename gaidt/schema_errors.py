"""The one formatter of jsonschema validation errors: one line naming the field, its value and
what is allowed. Scenario configs (gaidt.config), generated candidates (generators.compile) and
LLM replies (generators.llm_client) all report through it.

Examples
--------
>>> import jsonschema
>>> v = jsonschema.Draft202012Validator({"properties": {"n": {"type": "integer", "minimum": 1}}})
>>> explain(next(v.iter_errors({"n": 0})))
"config field 'n' = 0: must be >= 1"
"""
from __future__ import annotations

import json
from typing import Any

import jsonschema

__all__ = ["explain", "field_path"]

_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def field_path(path, top: str = "(top level)") -> str:
    """A dotted field path ("traffic.payload_bytes.max"), or ``top`` for the document itself."""
    return ".".join(str(p) for p in path) or top


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def explain(err: jsonschema.ValidationError, noun: str = "config field", top: str = "(top level)") -> str:
    """One line for a validation error: ``<noun> '<field>' = <value>: <what is allowed>``."""
    field = field_path(err.absolute_path, top)
    v = err.validator
    s = err.schema if isinstance(err.schema, dict) else {}
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        name = missing if field == top else f"{field}.{missing}"
        return f"{noun} '{name}' is missing (required)"
    if v == "additionalProperties":
        allowed = ", ".join(sorted(s.get("properties", {})))
        extra = err.message.split("(")[-1].rstrip(")")
        extra = extra if len(extra) <= 120 else extra[:117] + "..."
        return f"{noun} '{field}' has unknown keys ({extra}); allowed: {allowed}"
    if v == "enum":
        allowed = ", ".join(json.dumps(x) for x in s["enum"])
        return f"{noun} '{field}' = {_short(err.instance)}: allowed: {allowed}"
    if v == "type":
        return f"{noun} '{field}' = {_short(err.instance)}: must be of type {s.get('type')}"
    if v in _BOUNDS:
        rng = [f"{op} {s[key]}" for key, op in _BOUNDS.items() if key in s]
        return f"{noun} '{field}' = {_short(err.instance)}: must be {' and '.join(rng)}"
    return f"{noun} '{field}' = {_short(err.instance)}: {err.message[:200]}"
