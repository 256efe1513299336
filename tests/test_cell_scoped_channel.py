"""The cell-scoped spectrum channel changes no result (ns3-scenarios/model/fast/cell-scoped-spectrum-channel.h).

gaidt::CellScopedSpectrumChannel visits, for a gateway's downlink control frame, only the
sensors that gateway serves (and those with no serving cell yet) instead of every sensor;
everyone else would have dropped the frame in the transmit-filter chain. On the uplink it
sends a sensor's zero-power control-only frame (ns-3's ideal PUCCH) to its own gateway only
(ul-ctrl-scope.h): the others would only add and subtract zero. The claim is
exactness: with sim.spectrum_channel cell_scoped or multi_model (ns-3's channel), the same
config gives the same KPIs and per-sensor results, bit for bit (fewer events), for sleeping and
always-on sensors, and the scoped path is really taken.
"""
from __future__ import annotations

import copy

import pytest

from gaidt import config as configmod
from tests.helpers import run_each

pytestmark = pytest.mark.ns3


@pytest.mark.parametrize("power_mode,dl_ctrl", [("psm", "aggregate"), ("always_on", "aggregate"),
                                                ("drx", "aggregate_keep_pss")])
def test_cell_scoped_channel_is_bit_identical_to_ns3s(tmp_path, power_mode, dl_ctrl):
    base = copy.deepcopy(configmod.example("medium"))  # 8 gateways
    base["duration_s"] = 0.5
    base["power"] = {"mode": power_mode}
    base["sim"]["dl_ctrl_interference"] = dl_ctrl
    results = run_each(base, "sim.spectrum_channel", ("multi_model", "cell_scoped"), tmp_path)
    ns3, scoped = results["multi_model"], results["cell_scoped"]
    assert ns3["run"]["dl_channel"] == {"type": "multi_model", "scoped_transmissions": 0}
    # 8 gateways x 1 control frame per 1 ms subframe, once the sensors have synchronized
    assert scoped["run"]["dl_channel"]["scoped_transmissions"] > 8 * 500
    assert ns3["sensors_attached"] == base["topology"]["sensors"]
    assert sum(s["rx_bytes"] for s in ns3["sensors"]) > 0
    # uplink: control-only frames (zero power) went to their own gateway only, which skips the
    # other gateways' add-zero/subtract-zero interference events and nothing else
    assert ns3["run"]["ul_channel"] == {"type": "multi_model", "scoped_transmissions": 0}
    assert scoped["run"]["ul_channel"]["scoped_transmissions"] > 1000
    assert scoped["run"]["events"] < ns3["run"]["events"]
    assert scoped["totals"] == ns3["totals"]
    assert scoped["kpis"] == ns3["kpis"]
    assert scoped["sensors"] == ns3["sensors"]
    assert scoped["gateways"] == ns3["gateways"]
