"""Shared fixtures. ns-3 runs are real (the built scenario binary)."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gaidt import config as configmod  # noqa: E402


def small_config(**overrides) -> dict:
    """The small example (50 sensors / 2 gateways), short, with dotted overrides.

    small_config(**{"traffic.ul_activity": 0.7, "duration_s": 2})
    """
    cfg = copy.deepcopy(configmod.example("small"))
    cfg["duration_s"] = 2.0
    for key, value in overrides.items():
        node = cfg
        *path, last = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return configmod.validate(cfg)


@pytest.fixture
def small():
    return small_config


# ---- LLM fixtures (generators, issue 4): defined in tests/conftest_llm.py, registered here once.
from tests.conftest_llm import fake, vllm_client, vllm_server  # noqa: E402,F401
