"""Shared fixtures. ns-3 runs are real (the built scenario binary)."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gaidt import config as configmod  # noqa: E402
from gaidt.ns3_runner import run_scenario  # noqa: E402


def set_field(cfg: dict, field: str, value) -> dict:
    """Set a dotted config field in place ("traffic.ul_activity"), creating sections; returns cfg."""
    *path, last = field.split(".")
    node = cfg
    for part in path:
        node = node.setdefault(part, {})
    node[last] = value
    return cfg


def small_config(**overrides) -> dict:
    """The small example (50 sensors / 2 gateways), short, with dotted overrides.

    small_config(**{"traffic.ul_activity": 0.7, "duration_s": 2})
    """
    cfg = copy.deepcopy(configmod.example("small"))
    cfg["duration_s"] = 2.0
    for key, value in overrides.items():
        set_field(cfg, key, value)
    return configmod.validate(cfg)


def run_each(base: dict, field: str, values, out: Path) -> dict:
    """Run the raw config `base` once per value of the dotted config field (validated, no bridge),
    each in out/<value>; {value: result.json}. For "same physics, one knob changed" comparisons."""
    return {value: run_scenario(configmod.validate(set_field(copy.deepcopy(base), field, value)),
                                out / str(value), bridge=False).result
            for value in values}


RESULT_SECTIONS = ("totals", "kpis", "power", "random_access", "sensors", "gateways", "throughput_series")


def assert_same_run(a: dict, b: dict) -> None:
    """Two result.json of one config, bit for bit: the same events and every result section (for
    speed knobs that must not change what is simulated)."""
    assert a["run"]["events"] == b["run"]["events"]
    for section in RESULT_SECTIONS:
        assert a[section] == b[section], section


@pytest.fixture
def small():
    return small_config


# ---- LLM fixtures (generators, issue 4): defined in tests/conftest_llm.py, registered here once.
from tests.conftest_llm import fake, vllm_client, vllm_server  # noqa: E402,F401
