"""Scenario configs: load, validate against the one schema, fill defaults.

The schema (ns3-scenarios/scenario.schema.json) is the single source of truth
for fields, ranges, units and defaults. Errors are ConfigError with a one-line
message naming the field, the value and what is allowed.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema

from .digest import json_digest
from .errors import UsageError
from .schema_errors import explain

REPO = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO / "ns3-scenarios" / "scenario.schema.json"
EXAMPLES = REPO / "ns3-scenarios" / "examples"


class ConfigError(UsageError, ValueError):
    """A config a user can fix: the message names field, value and what is allowed."""


_schema_cache: dict | None = None


def schema() -> dict:
    """The scenario config schema (ns3-scenarios/scenario.schema.json), read once."""
    global _schema_cache
    if _schema_cache is None:
        _schema_cache = json.loads(SCHEMA_PATH.read_text())
    return _schema_cache


def _fill_defaults(node_schema: dict, value: dict, radio: str | None) -> None:
    for name, sub in node_schema.get("properties", {}).items():
        if name not in value:
            if "x-default-by-radio" in sub and radio in sub["x-default-by-radio"]:
                value[name] = sub["x-default-by-radio"][radio]
            elif "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
        if isinstance(value.get(name), dict) and sub.get("type") == "object":
            _fill_defaults(sub, value[name], radio)


def _cross_checks(cfg: dict, have_nr: bool) -> None:
    topo, traffic = cfg["topology"], cfg["traffic"]
    if topo["gateways"] > topo["sensors"]:
        raise ConfigError(
            f"config field 'topology.gateways' = {topo['gateways']}: must be <= topology.sensors ({topo['sensors']})"
        )
    pb = traffic["payload_bytes"]
    if pb["min"] > pb["max"]:
        raise ConfigError(
            f"config field 'traffic.payload_bytes.min' = {pb['min']}: must be <= traffic.payload_bytes.max ({pb['max']})"
        )
    power = cfg["power"]
    if power["on_duration_ms"] >= power["drx_cycle_ms"]:
        raise ConfigError(
            f"config field 'power.on_duration_ms' = {power['on_duration_ms']}: "
            f"must be < power.drx_cycle_ms ({power['drx_cycle_ms']})"
        )
    ra = power["random_access"]
    ra_procedure_ms = 9 + ra["msg4_delay_ms"]  # RAR 3 ms after the preamble, Msg3 6 ms later, then Msg4
    if ra["model"] == "contention" and power["connection_setup_ms"] < ra_procedure_ms:
        raise ConfigError(
            f"config field 'power.connection_setup_ms' = {power['connection_setup_ms']}: must be >= the "
            f"random-access procedure without contention ({ra_procedure_ms} ms: 9 + "
            "power.random_access.msg4_delay_ms), or set power.random_access.model \"fixed\""
        )
    if power["mode"] != "always_on" and cfg["sim"]["rlf_detection"]:
        raise ConfigError(
            f"config field 'sim.rlf_detection' = true: power.mode \"{power['mode']}\" needs false "
            "(a sleeping sensor hears no control channel; ns-3 would declare radio link failure)"
        )
    rbs = cfg["radio_params"]["resource_blocks"]
    if cfg["radio"] == "lte-m" and rbs != 6:
        raise ConfigError(
            f"config field 'radio_params.resource_blocks' = {rbs}: radio \"lte-m\" uses 6 (1.4 MHz)"
        )
    if cfg["radio"] == "lte" and rbs < 25:
        raise ConfigError(f"config field 'radio_params.resource_blocks' = {rbs}: radio \"lte\" needs >= 25")
    topo = cfg["topology"]
    for key, count in (("sensor_positions_m", "sensors"), ("gateway_positions_m", "gateways")):
        if key in topo and len(topo[key]) != topo[count]:
            raise ConfigError(
                f"config field 'topology.{key}' has {len(topo[key])} positions: must have one per "
                f"topology.{count} ({topo[count]})"
            )
    radio_params = cfg["radio_params"]
    if radio_params["catm1"] and cfg["radio"] != "lte-m":
        raise ConfigError(
            f"config field 'radio_params.catm1' = true: the Cat-M1 limits belong to radio \"lte-m\" "
            f"(radio is \"{cfg['radio']}\"); allowed: false"
        )
    if radio_params["pucch_rbs"] and not (radio_params["catm1"] and cfg["network"]["scheduler"] == "pf"):
        raise ConfigError(
            f"config field 'radio_params.pucch_rbs' = {radio_params['pucch_rbs']}: PUCCH RBs are modelled with "
            "radio_params.catm1 true and network.scheduler \"pf\" only; allowed otherwise: 0"
        )
    if cfg["radio"] == "nr" and not have_nr:
        raise ConfigError(
            "config field 'radio' = \"nr\": this ns-3 has no 5G-LENA nr module (the PyPI ns3 wheel ships "
            "none); allowed here: \"lte-m\", \"lte\""
        )


def validate(cfg: Any, have_nr: bool = False) -> dict:
    """Validate a config dict and return the resolved copy (all defaults filled)."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"config must be a JSON object, got {type(cfg).__name__}")
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        raise ConfigError(explain(errors[0]))
    resolved = copy.deepcopy(cfg)
    _fill_defaults(schema(), resolved, resolved.get("radio"))
    errors = list(validator.iter_errors(resolved))
    if errors:
        raise ConfigError(explain(errors[0]))
    _cross_checks(resolved, have_nr)
    return resolved


def load(path: str | Path, have_nr: bool = False) -> dict:
    """Read a config file, validate it and return the resolved config."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config file '{p}': {e.strerror}") from None
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"config file '{p}' is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    return validate(cfg, have_nr)


def config_hash(cfg: dict) -> str:
    """Stable hash of a resolved config (provenance, campaign keys)."""
    return json_digest(cfg)


def example(name: str) -> dict:
    """A shipped example config (small, medium, large, ...), resolved."""
    return load(EXAMPLES / f"{name}.json")
