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

Power-saving keys (issue 16), offered only when a caller names them (`fields=`), so the default
vocabulary (DEFAULT_FIELDS: the five above, used by the closed loop and Figs. 2 and 3) is unchanged:

  power_mode        power.mode                     always_on, drx, edrx or psm (energy vs wake-up delay)
  drx_cycle_ms      power.drx_cycle_ms             connected-mode DRX cycle
  rrc_release_s     power.rrc_release_s            inactivity before the release to idle (edrx, psm)
  edrx_cycle_s      power.edrx_cycle_s             idle-mode eDRX paging cycle
  t3324_s           power.t3324_s                  PSM active timer (idle time before deep sleep)

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
    "power_mode": ("power", "mode"),
    "drx_cycle_ms": ("power", "drx_cycle_ms"),
    "rrc_release_s": ("power", "rrc_release_s"),
    "edrx_cycle_s": ("power", "edrx_cycle_s"),
    "t3324_s": ("power", "t3324_s"),
}
# The vocabulary when a caller names no fields (closed loop, Figs. 2 and 3: unchanged by issue 16).
DEFAULT_FIELDS = ("scheduler", "association", "buffer_bytes", "access_spread_s", "enb_tx_power_dbm")
POWER_FIELDS = ("power_mode", "drx_cycle_ms", "rrc_release_s", "edrx_cycle_s", "t3324_s")
# Short descriptions for the prompt (the scenario schema's are long); units as there.
DESCRIPTIONS = {
    "scheduler": "LTE MAC scheduler of every gateway (pf proportional fair, rr round robin, ...)",
    "association": "closest: nearest gateway; load_balanced: nearest gateway with spare capacity",
    "buffer_bytes": "RLC transmit buffer per sensor; overflow is dropped, bytes",
    "access_spread_s": "window after each report period start in which an active sensor sends, s",
    "enb_tx_power_dbm": "gateway transmit power, dBm",
    "power_mode": "sensor power saving: always_on, drx (connected DRX), edrx (idle eDRX), psm (deep sleep)",
    "drx_cycle_ms": "connected-mode DRX cycle, ms",
    "rrc_release_s": "inactivity before a sensor is released to idle (edrx, psm), s",
    "edrx_cycle_s": "idle-mode eDRX paging cycle, s",
    "t3324_s": "PSM active timer: idle time before deep sleep, s",
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
    """Generatable keys that apply to this base config (in FIELDS order); fields=None: DEFAULT_FIELDS."""
    names = list(DEFAULT_FIELDS) if fields is None else list(fields)
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
