"""One helper per job (issue 14): a digest of JSON values, a jsonschema error formatter, twin node ids,
the column vocabulary and matplotlib's backend; each used everywhere, none written again."""
from __future__ import annotations

import hashlib
import json
import re

import jsonschema
import pytest

from gaidt import config as configmod
from gaidt.campaign import task_key
from gaidt.digest import json_digest
from gaidt.plotting import pyplot
from gaidt.schema_errors import explain
from gaidt_bridge.columns import SENSOR_COLUMN_NAMES, TELEMETRY
from gaidt_bridge.node_ids import gateway_id, node_index, parse_node_id, sensor_id
from generators.compile import compile_candidate
from generators.generation_schema import current_values
from tests.helpers import REPO, source_modules

pytestmark = pytest.mark.unit

PACKAGES = ("gaidt_bridge", "gaidt", "generators", "services", "experiments")


def _sources():
    for f in source_modules(PACKAGES).values():
        yield f, f.read_text()


def test_node_ids_round_trip_and_refuse_what_is_not_one():
    assert sensor_id(12) == "sensor-12" and gateway_id(3) == "gateway-3"
    assert parse_node_id("gateway-3") == ("gateway", 3) and node_index(sensor_id(7)) == 7
    for bad in ("sensor", "sensor-", "-3", "sensor--3", "sensor-x", "sensor-٣"):
        with pytest.raises(ValueError, match="expected '<kind>-<index>'"):
            parse_node_id(bad)


def test_digests_keep_the_values_campaigns_and_configs_were_keyed_by():
    """A rerun finds its finished runs by these keys: the helper must give the old formulas' values."""
    params = {"topology": "small", "seed": 3, "values": {"b": 1.5, "a": None}}
    old_key = "fig2:" + hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    assert task_key("fig2", params) == old_key
    cfg = configmod.example("small")
    old_hash = hashlib.sha256(json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
    assert configmod.config_hash(cfg) == old_hash == json_digest(cfg)
    assert json_digest(cfg) != json_digest(dict(cfg, seed=cfg["seed"] + 1))


def test_one_formatter_names_field_value_and_what_is_allowed():
    v = jsonschema.Draft202012Validator({"type": "object", "properties": {"n": {"type": "integer", "maximum": 4}},
                                         "required": ["n"]})
    assert explain(next(v.iter_errors({"n": 9}))) == "config field 'n' = 9: must be <= 4"
    assert explain(next(v.iter_errors({})), noun="generated field") == "generated field 'n' is missing (required)"
    with pytest.raises(configmod.ConfigError, match=r"config field 'topology.sensors' = -1: must be >= "):
        bad = configmod.example("small")
        bad["topology"]["sensors"] = -1
        configmod.validate(bad)
    base = configmod.example("small")
    out = compile_candidate(base, dict(current_values(base), scheduler="fastest"))
    assert out.reason.startswith("generated field 'scheduler' = \"fastest\": allowed: ")


def test_the_vocabulary_knows_telemetry_from_state():
    assert len(set(SENSOR_COLUMN_NAMES)) == len(SENSOR_COLUMN_NAMES)
    assert TELEMETRY == {"in_flight_packets", "latency_last_ms", "rsrp_dbm", "sinr_db"}


def test_figures_are_drawn_on_agg():
    assert pyplot().get_backend().lower() == "agg"


@pytest.mark.parametrize("pattern,home", [
    (r"hashlib\.sha256\(\s*json\.dumps", "gaidt/digest.py"),
    (r"join\(map\(str, \w+\.absolute_path", "gaidt/schema_errors.py"),
    (r"rsplit\(\"-\"", "gaidt_bridge/node_ids.py"),
    (r"f\"(sensor|gateway)-\{", "gaidt_bridge/node_ids.py"),
    (r"matplotlib\.use\(", "gaidt/plotting.py"),
    (r"\"latency_last_ms\", \"latency_mean_ms\"", "gaidt_bridge/columns.py"),
])
def test_no_second_copy(pattern, home):
    """Each job has one home; a second copy elsewhere in the packages fails here."""
    hits = [str(f.relative_to(REPO)) for f, text in _sources() if re.search(pattern, text)]
    assert all(h == home for h in hits), hits
