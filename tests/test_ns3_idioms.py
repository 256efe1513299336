"""ns-3 idioms in the C++ side (issue 14): the bridge is an ns-3 Object with attributes, ns-3's
--RngRun replicates a config, and --ns3:: attribute flags are refused instead of silently lost."""
from __future__ import annotations

import json
import subprocess

import pytest

from gaidt.config import validate
from gaidt.ns3_runner import BINARY
from tests.helpers import small_config

pytestmark = pytest.mark.ns3


def test_the_bridge_is_an_ns3_object_with_attributes():
    ids = subprocess.run([str(BINARY), "--PrintTypeIds"], capture_output=True, text=True, timeout=60)
    assert "gaidt::TwinBridge" in ids.stdout, ids.stdout[-500:] + ids.stderr[-500:]
    attrs = subprocess.run([str(BINARY), "--PrintAttributes=gaidt::TwinBridge"], capture_output=True, text=True,
                           timeout=60)
    names = [a for a in ("Period", "TwinningRate", "SampleSeed", "PublishTruth", "Hold", "HoldTimeout",
                         "PauseTimeout", "PubEndpoint", "CmdEndpoint", "RunId") if f"::{a}=" in attrs.stdout]
    assert len(names) >= 4, attrs.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("rngrun")
    cfg = validate(small_config(duration_s=1.0, **{"traffic.service": "mmtc", "traffic.access_spread_s": 0.3}))
    (out / "config.json").write_text(json.dumps(cfg))
    results = {}
    for name, run in (("a", 1), ("b", 2), ("c", 2)):
        p = subprocess.run([str(BINARY), f"--config={out / 'config.json'}", f"--out={out / name}.json",
                            f"--RngRun={run}"], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        r = json.loads((out / f"{name}.json").read_text())
        results[name] = [(s["tx_bytes"], s["rx_bytes"], s["latency_mean_ms"]) for s in r["sensors"]]
    return results


def test_rng_run_replicates_a_config(runs):
    assert runs["b"] == runs["c"]  # the same run number: bit-identical per-sensor results
    assert runs["a"] != runs["b"]  # another run number: another replication


def test_ns3_attribute_flags_are_refused_with_one_line(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(validate(small_config(duration_s=1.0))))
    p = subprocess.run([str(BINARY), f"--config={tmp_path / 'c.json'}", f"--out={tmp_path / 'r.json'}",
                        "--ns3::LteUePhy::TxPower=10"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--ns3::LteUePhy::TxPower" in p.stderr and "config" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "r.json").exists()
