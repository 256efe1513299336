"""Compile a generated candidate into a runnable scenario config.

The candidate (already schema-valid from the LLM client, checked again here)
is merged field by field into a copy of the base resolved config, which is then
validated by gaidt.config.validate (the one config schema), followed by
the cross-field rules the flat generation schema cannot express. A rejected
candidate gets a one-line reason naming the field and what is allowed.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import jsonschema

from gaidt import config as configmod
from gaidt.schema_errors import explain

from .generation_schema import FIELDS, generation_schema


@dataclass
class Compiled:
    """A compiled candidate: the runnable config, or None with the reason it was rejected."""
    config: dict | None
    reason: str | None = None  # why it was rejected (config is None then)

    @property
    def ok(self) -> bool:
        """True if the candidate compiled to a config."""
        return self.config is not None


def cross_checks(cfg: dict) -> str | None:
    """Rules between fields that neither schema states; None if all hold."""
    tr, net = cfg["traffic"], cfg["network"]
    if tr["service"] in ("mmtc", "tic") and tr["access_spread_s"] > tr["report_period_s"]:
        return (f"traffic.access_spread_s = {tr['access_spread_s']}: must be <= traffic.report_period_s "
                f"({tr['report_period_s']}), or reports of one period overlap the next")
    if net["buffer_bytes"] < tr["payload_bytes"]["max"]:
        return (f"network.buffer_bytes = {net['buffer_bytes']}: must be >= traffic.payload_bytes.max "
                f"({tr['payload_bytes']['max']}), or the largest packets are always dropped")
    return None


def compile_candidate(base_cfg: dict, candidate, name_suffix: str | None = None, fields=None) -> Compiled:
    """Merge a candidate dict into base_cfg; returns Compiled(config) or Compiled(None, reason)."""
    schema = generation_schema(base_cfg, fields, describe=False)
    if not isinstance(candidate, dict):
        return Compiled(None, f"candidate must be a JSON object, got {type(candidate).__name__}")
    err = next(iter(jsonschema.Draft202012Validator(schema).iter_errors(candidate)), None)
    if err is not None:
        return Compiled(None, explain(err, noun="generated field", top="(candidate)"))
    cfg = copy.deepcopy(base_cfg)
    for key, sub in schema["properties"].items():  # only schema fields are ever taken
        section, field = FIELDS[key]
        value = candidate[key]
        if sub.get("type") == "number":
            value = float(value)  # 1 and 1.0 are one config (same hash, one run)
        cfg.setdefault(section, {})[field] = value
    if name_suffix:
        cfg["name"] = f"{base_cfg.get('name', 'scenario')}-{name_suffix}"
    try:
        cfg = configmod.validate(cfg)
    except configmod.ConfigError as e:
        return Compiled(None, str(e))
    reason = cross_checks(cfg)
    return Compiled(None, reason) if reason else Compiled(cfg)
