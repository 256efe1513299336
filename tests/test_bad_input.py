"""Bad configs exit 2 with one line naming field, value and what is allowed;
ns-3 crashes are reported with exit status and stderr tail, never as a result."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from gaidt.config import ConfigError
from gaidt.ns3_runner import BINARY, AttachError, Ns3Error, run_scenario
from tests.helpers import REPO, small_config

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


def base() -> dict:
    return json.loads((REPO / "ns3-scenarios" / "examples" / "small.json").read_text())


def mutate(path: str, value):
    cfg = base()
    node = cfg
    *parts, last = path.split(".")
    for p in parts:
        node = node[p]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return cfg


CASES = [
    ("not-json", "{ this is not json", "not valid JSON"),
    ("missing", mutate("network.deadline_ms", KeyError), "network.deadline_ms"),
    ("wrong-type", mutate("topology.sensors", "fifty"), "topology.sensors"),
    ("negative-sensors", mutate("topology.sensors", -5), "topology.sensors"),
    ("activity-above-1", mutate("traffic.ul_activity", 1.5), "traffic.ul_activity"),
    ("more-gateways", mutate("topology.gateways", 60), "topology.gateways"),
    ("zero-duration", mutate("duration_s", 0), "duration_s"),
    ("bad-enum", mutate("radio", "wifi"), "radio"),
    ("nr-without-5g-lena", mutate("radio", "nr"), "5G-LENA"),
    ("bad-dl-ctrl-mode", dict(base(), sim={"dl_ctrl_interference": "sum"}), "sim.dl_ctrl_interference"),
    ("payload-min-above-max", mutate("traffic.payload_bytes", {"min": 500, "max": 100}), "payload_bytes.min"),
]


@pytest.mark.slow
@pytest.mark.unit
@pytest.mark.parametrize("name,content,field", CASES, ids=[c[0] for c in CASES])
def test_bad_config_exits_2_with_one_line(tmp_path, name, content, field):
    path = tmp_path / "cfg.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    p = subprocess.run(RUN + ["scenario", str(path), "--out", str(tmp_path / "out"), "--quiet"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert field in lines[0]
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "out" / "result.json").exists()


@pytest.mark.unit
def test_out_of_range_message_names_value_and_range(tmp_path):
    with pytest.raises(ConfigError) as e:
        from gaidt.config import validate
        validate(mutate("traffic.ul_activity", 1.5))
    assert "traffic.ul_activity" in str(e.value) and "1.5" in str(e.value) and "<= 1" in str(e.value)


@pytest.mark.ns3
def test_binary_itself_refuses_bad_config_with_exit_2(tmp_path):
    cfg = small_config()
    cfg["topology"]["gateways"] = 80
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    p = subprocess.run([str(BINARY), f"--config={path}", f"--out={tmp_path / 'r.json'}"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "topology.gateways" in p.stderr
    cfg = small_config()
    cfg["sim"]["dl_ctrl_interference"] = "sum"
    path.write_text(json.dumps(cfg))
    p = subprocess.run([str(BINARY), f"--config={path}", f"--out={tmp_path / 'r.json'}"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "sim.dl_ctrl_interference" in p.stderr and "per_cell" in p.stderr


@pytest.mark.slow
@pytest.mark.unit
def test_unknown_subcommand_and_flag_are_usage_errors():
    for argv in (["nosuch"], ["scenario", "--bogus"]):
        p = subprocess.run(RUN + argv, capture_output=True, text=True, timeout=60)
        assert p.returncode == 2
        assert "Traceback" not in p.stderr


@pytest.mark.ns3
def test_ns3_crash_is_reported_and_no_result_written(tmp_path):
    def crash(proc, cmd_endpoint):
        os.kill(proc.pid, signal.SIGABRT)

    with pytest.raises(Ns3Error) as e:
        run_scenario(small_config(), tmp_path / "crash", bridge=False, on_start=crash)
    assert "SIGABRT" in str(e.value)
    assert not (tmp_path / "crash" / "result.json").exists()


@pytest.mark.ns3
def test_sensors_that_never_attach_fail_loudly(tmp_path):
    # SRS periodicity 20 admits at most 20 UEs per cell; 25 per cell are planned.
    cfg = small_config(**{"sim.srs_periodicity": 20})
    with pytest.raises(AttachError) as e:
        run_scenario(cfg, tmp_path / "srs", bridge=False)
    assert e.value.returncode == 3
    assert "never attached" in str(e.value) and "srs_periodicity" in str(e.value)
    assert not (tmp_path / "srs" / "result.json").exists()
