"""Scenario configs: load, validate against the one schema, fill defaults.

The schema (ns3-scenarios/scenario.schema.json) is the single source of truth
for fields, ranges, units and defaults. Errors are ConfigError with a one-line
message naming the field, the value and what is allowed.
"""
from __future__ import annotations

import copy
import json
import math
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


# What a scenario config may carry at most (a config is a few kB; these bound what a typo, a
# generator or a hostile file can make the tools read, echo or pass to ns-3).
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 16
MAX_STRING_CHARS = 256
MAX_KEY_CHARS = 64


def _short(text: str, limit: int = 40) -> str:
    shown = json.dumps(text[:limit + 1])
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


def check_json_values(value: Any) -> None:
    """Refuse what JSON should not carry, naming the field: NaN and +-Infinity (Python's json reads them),
    nesting deeper than MAX_DEPTH, strings over MAX_STRING_CHARS and keys over MAX_KEY_CHARS characters."""
    stack = [(value, (), 0)]
    while stack:
        v, path, depth = stack.pop()
        where = ".".join(path) or "(top level)"
        if depth > MAX_DEPTH:
            raise ConfigError(f"config field '{where[:120]}': nested more than {MAX_DEPTH} levels deep; "
                              "allowed: the objects of ns3-scenarios/scenario.schema.json")
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"config field '{where}' = {v!r}: not a finite number; allowed: a JSON number "
                              "(NaN and Infinity are not JSON)")
        if isinstance(v, str) and len(v) > MAX_STRING_CHARS:
            raise ConfigError(f"config field '{where}' = {_short(v)}: {len(v)} characters; allowed: at most "
                              f"{MAX_STRING_CHARS}")
        if isinstance(v, dict):
            for k, sub in v.items():
                if len(k) > MAX_KEY_CHARS:
                    raise ConfigError(f"config key {_short(k)} under '{where}': {len(k)} characters; allowed: "
                                      f"the keys of ns3-scenarios/scenario.schema.json")
                stack.append((sub, (*path, k), depth + 1))
        elif isinstance(v, list):
            stack.extend((sub, (*path, str(i)), depth + 1) for i, sub in enumerate(v))


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
    check_json_values(cfg)
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
        if p.is_file() and p.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"config file '{p}' is {p.stat().st_size} bytes; allowed: at most {MAX_FILE_BYTES} "
                              "(a scenario config is a few kB)")
        with open(p, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"cannot read config file '{p}': {e.strerror or e}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"config file '{p}' is over {MAX_FILE_BYTES} bytes; allowed: at most {MAX_FILE_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file '{p}' is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                          "allowed: JSON saved as UTF-8") from None
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"config file '{p}' is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise ConfigError(f"config file '{p}': nested more than {MAX_DEPTH} levels deep; allowed: the objects of "
                          "ns3-scenarios/scenario.schema.json") from None
    return validate(cfg, have_nr)


def config_hash(cfg: dict) -> str:
    """Stable hash of a resolved config (provenance, campaign keys)."""
    return json_digest(cfg)


def example(name: str) -> dict:
    """A shipped example config (small, medium, large, ...), resolved."""
    return load(EXAMPLES / f"{name}.json")
