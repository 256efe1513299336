"""The JSON Schema of what the generator may change, derived from scenario.schema.json.

The model fills a flat object; each key maps to one field of the scenario
config. Only network-side knobs are generatable: the scenario itself (sensor
and gateway counts, area, placement, the service's traffic demand, seed,
duration, twin settings) is the input and stays as given, so a generated
config is judged on the same city and the same demand as its base.

  key               config field                   why it may change
  scheduler         network.scheduler              MAC scheduler of every gateway
  association       network.association            sensor-to-gateway attachment rule
  buffer_bytes      network.buffer_bytes           RLC transmit buffer: drops vs queueing delay
  access_spread_s   traffic.access_spread_s        access de-synchronization window (mmtc/tic only)
  enb_tx_power_dbm  radio_params.enb_tx_power_dbm  gateway transmit power (coverage vs interference)

Types, enums and ranges come from scenario.schema.json (descriptions are
shortened for the prompt). Ranges are narrowed where the base config bounds
them (access_spread_s <= the base's report_period_s) or where the full range
is not useful (buffer_bytes <= 1 MB; see NARROWED).
"""
from __future__ import annotations

import copy

from gaidt import config as configmod

FIELDS = {
    "scheduler": ("network", "scheduler"),
    "association": ("network", "association"),
    "buffer_bytes": ("network", "buffer_bytes"),
    "access_spread_s": ("traffic", "access_spread_s"),
    "enb_tx_power_dbm": ("radio_params", "enb_tx_power_dbm"),
}
# Short descriptions for the prompt (the scenario schema's are long); units as there.
DESCRIPTIONS = {
    "scheduler": "LTE MAC scheduler of every gateway (pf proportional fair, rr round robin, ...)",
    "association": "closest: nearest gateway; load_balanced: nearest gateway with spare capacity",
    "buffer_bytes": "RLC transmit buffer per sensor; overflow is dropped, bytes",
    "access_spread_s": "window after each report period start in which an active sensor sends, s",
    "enb_tx_power_dbm": "gateway transmit power, dBm",
}
NARROWED = {"buffer_bytes": {"maximum": 1_000_000}}
# Services whose traffic model reads the field (others ignore it, so it is not offered).
ONLY_FOR_SERVICES = {"access_spread_s": ("mmtc", "tic")}
_KEEP = ("type", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _scenario_subschema(path: tuple[str, ...]) -> dict:
    node = configmod.schema()
    for part in path:
        node = node["properties"][part]
    return node


def fields_for(base_cfg: dict, fields=None) -> list[str]:
    """Generatable keys that apply to this base config (in FIELDS order)."""
    names = list(FIELDS) if fields is None else list(fields)
    unknown = [f for f in names if f not in FIELDS]
    if unknown:
        raise ValueError(f"generatable fields {unknown} unknown; allowed: {', '.join(FIELDS)}")
    service = base_cfg["traffic"]["service"]
    return [f for f in FIELDS if f in names and service in ONLY_FOR_SERVICES.get(f, (service,))]


def generation_schema(base_cfg: dict, fields=None, describe: bool = True) -> dict:
    """JSON Schema (draft 2020-12 subset that vLLM's xgrammar enforces) of one candidate."""
    props = {}
    for name in fields_for(base_cfg, fields):
        src = _scenario_subschema(FIELDS[name])
        sub = {k: copy.deepcopy(src[k]) for k in _KEEP if k in src}
        for k, v in NARROWED.get(name, {}).items():
            sub[k] = min(sub.get(k, v), v) if k == "maximum" else v
        if name == "access_spread_s":
            sub["maximum"] = min(sub.get("maximum", 3600), float(base_cfg["traffic"]["report_period_s"]))
        if describe:
            sub["description"] = DESCRIPTIONS[name]
        props[name] = sub
    return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}


def current_values(cfg: dict, fields=None) -> dict:
    """The generatable fields' values in a resolved config."""
    out = {}
    for name in fields_for(cfg, fields):
        section, key = FIELDS[name]
        out[name] = cfg[section][key]
    return out
