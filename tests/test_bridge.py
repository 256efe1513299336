"""Bridge, twin graph and history store with real ns-3 and real ZeroMQ."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import zmq

from gaidt.ns3_runner import Ns3Error, run_scenario
from gaidt_bridge.columns import GATEWAY_COLUMNS, SENSOR_COLUMNS
from gaidt_bridge.history import HistoryStore
from gaidt_bridge.protocol import NodeTable, decode, encode_snapshot, sample_size
from gaidt_bridge.publisher import TwinPublisher
from gaidt_bridge.subscriber import CommandClient, Subscriber
from gaidt_bridge.twin_graph import TwinGraph
from tests.dtdl_v3_check import check_document, check_ndjson
from tests.helpers import REPO, small_config


@pytest.fixture(scope="module")
def bridged_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bridged")
    return run_scenario(small_config(**{"twin.twinning_rate": 0.8}), out, bridge=True)


@pytest.mark.ns3
def test_the_column_vocabulary_is_what_the_cpp_hello_publishes(bridged_run):
    """gaidt_bridge.columns (the Python side's one list of columns) equals the hello message of a real
    ns-3 run: names, order and units, per sensor and per gateway."""
    sets = {s["kind"]: s for s in bridged_run.subscriber["hello"]["sets"]}
    for kind, vocab in (("sensor", SENSOR_COLUMNS), ("gateway", GATEWAY_COLUMNS)):
        published = [(c["name"], c["unit"]) for c in sets[kind]["columns"]]
        assert published == [(c.name, c.unit) for c in vocab], (kind, published)


@pytest.mark.ns3
def test_twin_matches_final_counters_of_synced_nodes(bridged_run):
    g, r = bridged_run.graph, bridged_run.result
    by_id = {f"sensor-{s['id']}": s for s in r["sensors"]}
    fresh = [n for n in g.sensors() if g.nodes[n]["fresh"]]
    assert len(fresh) == 40  # round(0.8 * 50) in the last round
    for n in fresh:
        s = by_id[n]
        for name in ("tx_packets", "rx_packets", "tx_bytes", "rx_bytes", "late_packets", "buffer_drops"):
            assert g.value(n, name) == s[name], (n, name)
        assert g.value(n, "attached_gateway") == s["attached_gateway"]
        assert g.has_edge(n, f"gateway-{s['attached_gateway']}")
        assert g.edges[n, f"gateway-{s['attached_gateway']}"]["$relationshipName"] == "servedBy"
    assert r["twin"]["gaps"] == 0 and r["twin"]["bad_frames"] == 0


@pytest.mark.ns3
def test_twinning_rate_transfers_that_fraction_each_round(bridged_run):
    with HistoryStore(bridged_run.out_dir / "history.sqlite") as h:
        (run_id,) = h.db.execute("SELECT run_id FROM runs").fetchone()
        h.run_id = run_id
        counts = h.db.execute("SELECT round, COUNT(*) FROM node_state WHERE kind='sensor' GROUP BY round").fetchall()
        assert len(counts) == len(h.rounds()) > 20
        assert {c for _, c in counts} == {40}
        # the subset changes from round to round (seeded random, not fixed)
        sets = [set(n for (n,) in h.db.execute(
            "SELECT node FROM node_state WHERE kind='sensor' AND round=?", (k,))) for k in (1, 2, 3)]
        assert sets[0] != sets[1] or sets[1] != sets[2]
        assert h.integrity_ok()


@pytest.mark.ns3
def test_window_returns_the_last_m_rounds(bridged_run):
    with HistoryStore(bridged_run.out_dir / "history.sqlite") as h:
        h.run_id = h.db.execute("SELECT run_id FROM runs").fetchone()[0]
        rounds = h.rounds()
        w = h.window(3)
        assert sorted(w["round"].unique()) == rounds[-3:]
        # every round of the window holds the full twin: all 50 sensors and 2 gateways
        assert all(len(w[w["round"] == k]) == 52 for k in rounds[-3:])
        assert w[w["round"] == rounds[-1]]["fresh"].sum() == 42
        graphs = h.window(2, as_graphs=True)
        assert [gr.graph["round"] for gr in graphs] == rounds[-2:]
        assert len(graphs[-1].sensors()) == 50
        path = h.to_parquet(bridged_run.out_dir / "history.parquet")
        assert path.stat().st_size > 0


@pytest.mark.ns3
def test_dtdl_export_has_v3_context_and_required_keys(bridged_run):
    doc = json.loads((bridged_run.out_dir / "twin.dtdl.json").read_text())
    for model in doc["models"]:
        assert model["@context"] == "dtmi:dtdl:context;3"
        assert model["@type"] == "Interface" and model["@id"].startswith("dtmi:gaidt:")
        for c in model["contents"]:
            assert {"@type", "name"} <= set(c)
    assert len(doc["twins"]) == 53  # 50 sensors, 2 gateways, core
    for t in doc["twins"]:
        assert t["$dtId"] and t["$metadata"]["$model"].startswith("dtmi:gaidt:")
    names = {r["$relationshipName"] for r in doc["relationships"]}
    assert names == {"servedBy", "backhaul"}
    ndjson = (bridged_run.out_dir / "twin.dtdl.ndjson").read_text().splitlines()
    assert json.loads(ndjson[0]) == {"Section": "Header"}


@pytest.mark.ns3
def test_dtdl_export_passes_a_structural_dtdl_v3_and_adt_import_check(bridged_run):
    doc = json.loads((bridged_run.out_dir / "twin.dtdl.json").read_text())
    assert check_document(doc) == []
    assert check_ndjson((bridged_run.out_dir / "twin.dtdl.ndjson").read_text()) == []
    twin = next(t for t in doc["twins"] if t["$dtId"] == "sensor-0")
    assert set(twin["$metadata"]) == {"$model"}  # sync metadata lives in declared properties
    assert twin["last_sync_round"] >= 1 and twin["last_sync_sim_time_s"] > 0


def _graph_with(columns, n=3):
    g = TwinGraph()
    idx = np.arange(n, dtype=np.uint32)
    t = NodeTable("sensor", "dtmi:gaidt:IoTSensor;1", n, idx, columns, ["x"] * len(columns),
                  np.column_stack([idx * 1.0 + c for c in range(len(columns))]))
    gw = NodeTable("gateway", "dtmi:gaidt:Gateway;1", 1, np.zeros(1, dtype=np.uint32), ["cell_id"], ["id"],
                   np.ones((1, 1)))
    g.apply_snapshot(decode(encode_snapshot("r", 1, 4, 0.4, [t, gw])))
    return g


@pytest.mark.unit
def test_dtdl_checker_refuses_what_adt_refuses():
    """The checker is not a rubber stamp: each rule it encodes catches its violation."""
    good = _graph_with(["tx_packets", "attached_gateway", "rsrp_dbm"]).to_adt()
    assert check_document(good) == []

    def broken(edit):
        doc = json.loads(json.dumps(good))
        edit(doc)
        return check_document(doc)

    sensor = 1  # twins[0] is the core
    assert any("$metadata.lastSync" in e for e in broken(
        lambda d: d["twins"][sensor]["$metadata"].update(lastSync={"round": 4})))
    assert any("not declared" in e for e in broken(lambda d: d["twins"][sensor].update(lost_packets=1.0)))
    assert any("Telemetry" in e for e in broken(lambda d: d["twins"][sensor].update(rsrp_dbm=-80.0)))
    assert any("schema 'integer'" in e for e in broken(lambda d: d["twins"][sensor].update(last_sync_round=1.5)))
    assert any("@id" in e for e in broken(lambda d: d["models"][0].update({"@id": "dtmi:gaidt:_x;01"})))
    assert any("name" in e for e in broken(lambda d: d["models"][0]["contents"][0].update(name="x-m")))
    assert any("component 'battery' missing" in e for e in broken(lambda d: d["twins"][sensor].pop("battery")))
    assert any("not a Relationship" in e for e in broken(
        lambda d: d["relationships"][0].update({"$relationshipName": "feeds"})))


@pytest.mark.unit
def test_dtdl_export_declares_custom_columns_and_leaves_out_what_dtdl_cannot_hold():
    g = _graph_with(["tx_bytes", "lost_packets", "interval_s", "bad-name"])
    g.nodes["sensor-0"]["properties"]["interval_s"] = float("nan")
    doc = g.to_adt()
    assert check_document(doc) == []
    assert doc["not_exported"] == {"sensor": ["bad-name", "interval_s"]}
    assert doc["twins"][1]["lost_packets"] == 1.0


@pytest.mark.ns3
def test_set_command_changes_behaviour(tmp_path):
    cfg = small_config(**{"traffic.ul_activity": 1.0})
    base = run_scenario(cfg, tmp_path / "base", bridge=True).result

    def speed_up(proc, cmd_endpoint):
        client = CommandClient(cmd_endpoint, timeout_s=60)
        try:
            reply = client.set("sensor-*", "report_period_s", 0.2)
            assert reply["applied"] == 50
            assert client.get("sensor-3", "report_period_s") == 0.2
            with pytest.raises(Exception, match="allowed"):
                client.set("sensor-0", "report_period_s", -1)
        finally:
            client.close()

    fast = run_scenario(cfg, tmp_path / "fast", bridge=True, on_start=speed_up).result
    assert fast["totals"]["tx_packets"] > 3 * base["totals"]["tx_packets"]


@pytest.mark.ns3
def test_killing_the_simulation_ends_the_subscriber_with_a_clear_error(tmp_path):
    def kill_at_round_5(msg, sub):
        if msg.topic == "snap" and msg.header["round"] == 5:
            os.kill(killer["pid"], signal.SIGKILL)

    killer = {}
    t0 = time.monotonic()
    with pytest.raises(Ns3Error, match="SIGKILL"):
        run_scenario(small_config(**{"duration_s": 30}), tmp_path / "k", bridge=True,
                     on_start=lambda proc, cmd: killer.update(pid=proc.pid), on_message=kill_at_round_5)
    elapsed = time.monotonic() - t0
    assert elapsed < 60  # a bound that says "did not hang", not a speed claim
    assert not (tmp_path / "k" / "result.json").exists()
    with HistoryStore(tmp_path / "k" / "history.sqlite") as h:
        assert h.integrity_ok()


@pytest.mark.ns3
def test_two_parallel_runs_do_not_cross(tmp_path):
    outs = {}

    def go(seed):
        outs[seed] = run_scenario(small_config(seed=seed), tmp_path / f"p{seed}", bridge=True)

    threads = [threading.Thread(target=go, args=(s,)) for s in (11, 12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    a, b = outs[11], outs[12]
    for o in (a, b):
        assert o.subscriber["foreign"] == 0 and o.subscriber["gaps"] == 0
    assert a.graph.graph["run_id"] != b.graph.graph["run_id"]
    for o in (a, b):  # each twin equals its own run's counters
        by_id = {f"sensor-{s['id']}": s["tx_packets"] for s in o.result["sensors"]}
        fresh = [n for n in o.graph.sensors() if o.graph.nodes[n]["fresh"]]
        assert all(o.graph.value(n, "tx_packets") == by_id[n] for n in fresh)


def _table(n=5, rows=None):
    idx = np.arange(n, dtype=np.uint32) if rows is None else np.array(rows, dtype=np.uint32)
    return NodeTable("sensor", "dtmi:gaidt:IoTSensor;1", n, idx, ["tx_packets", "attached_gateway"],
                     ["packets", "index"], np.column_stack([idx * 10.0, np.zeros(len(idx))]))


@pytest.mark.unit
def test_garbage_truncated_and_out_of_order_frames_are_counted_and_dropped(tmp_path):
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.PUB)
    ep = f"ipc://{tmp_path}/garbage"
    pub.bind(ep)
    sub = Subscriber(ep, run_id="r")
    time.sleep(0.3)  # let the SUB connect before sending (slow-joiner)
    good = encode_snapshot("r", 1, 1, 0.1, [_table()])
    pub.send_multipart(good)
    pub.send_multipart([b"gaidt.snap", b"{not json"])
    pub.send_multipart(good[:-1])  # truncated: a column frame missing
    pub.send_multipart(good[:2] + [b"\x00\x01"] + good[3:])  # index frame of the wrong size
    pub.send_multipart([b"gaidt.snap"])
    pub.send_multipart(encode_snapshot("r", 1, 1, 0.1, [_table()]))  # duplicate seq: out of order
    pub.send_multipart(encode_snapshot("other", 9, 1, 0.1, [_table()]))  # foreign run
    pub.send_multipart(encode_snapshot("r", 4, 2, 0.2, [_table(rows=[0, 2])]))  # gap of 2
    got = 0
    deadline = time.monotonic() + 10
    while sub.stats.messages + sub.stats.bad_frames + sub.stats.out_of_order + sub.stats.foreign < 8 \
            and time.monotonic() < deadline:
        got += sub.poll(0.2) is not None
    st = sub.stats
    assert (st.snapshots, st.bad_frames, st.out_of_order, st.foreign, st.gaps) == (2, 4, 1, 1, 2)
    assert sub.graph.value("sensor-2", "tx_packets") == 20.0
    sub.close()
    pub.close(0)


KILL_WRITER = r"""
import sys, numpy as np
from gaidt_bridge.columns import GATEWAY_COLUMNS, SENSOR_COLUMNS
from gaidt_bridge.history import HistoryStore
from gaidt_bridge.protocol import NodeTable, encode_snapshot, decode
h = HistoryStore(sys.argv[1], run_id="kill")
h.begin_run("kill")
n = 2000
for k in range(1, 100000):
    t = NodeTable("sensor", "m", n, np.arange(n, dtype=np.uint32), ["a", "b", "c"], [], np.random.rand(n, 3))
    h.append(decode(encode_snapshot("kill", k, k, k * 0.1, [t])))
    if k == 3:
        print("ready", flush=True)
"""


@pytest.mark.slow
@pytest.mark.unit
def test_history_survives_sigkill_of_the_writer(tmp_path):
    db = tmp_path / "h.sqlite"
    p = subprocess.Popen([sys.executable, "-c", KILL_WRITER, str(db)], cwd=REPO,  # -c puts the checkout first
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    with HistoryStore(db, run_id="kill") as h:
        assert h.integrity_ok()
        snaps = h.db.execute("SELECT round, rows FROM snapshots WHERE run_id='kill'").fetchall()
        assert len(snaps) >= 3
        per_round = dict(h.db.execute("SELECT round, COUNT(*) FROM node_state GROUP BY round").fetchall())
        # every committed snapshot is complete; nothing half-written
        assert per_round == {k: rows for k, rows in snaps}


@pytest.mark.ns3
def test_python_ns3_script_publishes_to_the_same_bridge(tmp_path):
    ep = f"ipc://{tmp_path}/py"
    sub = Subscriber(f"{ep}-pub")
    p = subprocess.Popen([sys.executable, str(REPO / "ns3-scenarios" / "examples" / "python_scenario.py"),
                          "--pub", f"{ep}-pub", "--cmd", f"{ep}-cmd", "--duration-s", "1", "--sensors", "10"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while p.poll() is None and time.monotonic() < deadline:
        sub.poll(0.5)
    sub.drain()
    assert p.returncode == 0, p.stderr.read()[-2000:]
    assert sub.stats.end and sub.stats.end["status"] == "ok"
    # rounds at k * 0.1 s < 1.5 s (0.5 s start + 1 s), the final state at 1.5 s in gaidt.end
    assert sub.stats.snapshots == 14 and sub.stats.gaps == 0
    assert sub.stats.end["sim_time_s"] == pytest.approx(1.5) and sub.stats.end["round"] == 14
    assert [len(t.index) for t in sub.final.tables] == [10, 1]
    assert sub.graph.fresh_fraction("sensor") == pytest.approx(0.8)
    rx = sum(sub.graph.value(n, "rx_packets") for n in sub.graph.sensors())
    assert rx > 0
    sub.close()


@pytest.mark.ns3
def test_a_live_but_silent_simulation_is_reported_not_waited_for(tmp_path):
    def pause_it(proc, cmd_endpoint):
        CommandClient(cmd_endpoint, timeout_s=60).pause()  # the sim then sends nothing until resumed

    with pytest.raises(Ns3Error, match="no twin message"):
        run_scenario(small_config(**{"duration_s": 30}), tmp_path / "stall", bridge=True, on_start=pause_it,
                     stall_timeout_s=3)
    assert not (tmp_path / "stall" / "result.json").exists()


@pytest.mark.unit
def test_python_publisher_rounds_the_tie_half_up_like_the_cpp_bridge(tmp_path):
    """45 sensors at r = 0.5: 23 rows, as llround in the C++ bridge (tests/test_protocol_client.py)."""
    assert [sample_size(0.5, 45), sample_size(0.5, 5), sample_size(0.8, 50), sample_size(0.3, 5)] == [23, 3, 40, 2]
    assert round(0.5 * 45) == 22  # Python's own round would not agree
    pub = TwinPublisher(f"ipc://{tmp_path}/pub", None, run_id="tie")
    pub.add_node_set("sensor", "dtmi:gaidt:IoTSensor;1", 45).column("tx_packets", "packets", lambda: [1.0] * 45)
    sub = Subscriber(f"ipc://{tmp_path}/pub", run_id="tie")
    try:
        pub.start(period_s=0.1, twinning_rate=0.5, seed=3, subscriber_wait_s=10, end_time_s=0.3)
        assert pub.rounds == 2
        pub.round(sim_time_s=0.1)
        pub.finish("ok", sim_time_s=0.3)
        msgs = []
        for _ in range(3):
            msgs.append(sub.poll(10))
        assert [m.topic for m in msgs] == ["hello", "snap", "end"]
        assert len(msgs[1].tables[0].index) == 23 and len(msgs[2].tables[0].index) == 45
    finally:
        sub.close()
        pub.close()


MALFORMED_PY = [  # (request frame, field named by the error, id echoed)
    (b"\xff\xfe garbage", "(request)", None), (b"", "(request)", None), (b"[1]", "(request)", None),
    (b'{"id": 16, "op": "get", "node": 12}', "node", 16), (b'{"id": 17, "op": 7}', "op", 17),
    (b'{"id": 18, "op": "get", "node": "sensor-9", "param": "interval_s"}', "node", 18),
    (b'{"id": 19, "op": "get", "node": "sensor-1", "param": "tx_packets"}', "param", 19),
    (b'{"id": 20, "op": "set", "node": "sensor-1", "param": "interval_s", "value": 99}', "value", 20),
    (b'{"id": 21, "op": "set", "node": "sensor-1", "param": "interval_s", "value": true}', "value", 21),
    (b'{"id": 22, "op": "resume", "until_round": 0}', "until_round", 22),
]


@pytest.mark.unit
def test_python_publisher_answers_malformed_requests_like_the_cpp_bridge(tmp_path):
    pub = TwinPublisher(f"ipc://{tmp_path}/pub", f"ipc://{tmp_path}/cmd", run_id="py")
    vals = [1.0] * 3
    pub.add_node_set("sensor", "dtmi:gaidt:IoTSensor;1", 3).parameter(
        "interval_s", get=lambda i: vals[i], set=lambda i, v: vals.__setitem__(i, v),
        check=lambda v: "" if 0.001 <= v <= 60 else "allowed: 0.001 .. 60 s")
    try:
        for raw, field, req_id in MALFORMED_PY:
            reply = pub.handle_frame(raw)
            assert reply["ok"] is False and reply["field"] == field and reply.get("id") == req_id, (raw, reply)
            assert f"field '{field}'" in reply["error"] and reply["allowed"]
        ok = pub.handle_frame(b'{"id": "x", "op": "set", "node": "sensor-*", "param": "interval_s", "value": 2}')
        assert ok == {"ok": True, "id": "x", "applied": 3} and vals == [2.0] * 3
        pub.finish("ok", sim_time_s=0.0)
        ended = pub.handle_frame(b'{"id": 5, "op": "ping"}')
        assert ended["code"] == "ended" and ended["id"] == 5 and "simulation ended" in ended["error"]
    finally:
        pub.close()


@pytest.mark.unit
def test_python_publisher_holds_until_resume_and_steps_with_until_round(tmp_path):
    pub = TwinPublisher(f"ipc://{tmp_path}/pub", f"ipc://{tmp_path}/cmd", run_id="hold")
    pub.add_node_set("sensor", "dtmi:gaidt:IoTSensor;1", 4).column("tx_packets", "packets", lambda: [0.0] * 4)

    def simulate():
        pub.start(period_s=0.1, twinning_rate=1.0, seed=1, end_time_s=0.5, hold=True, hold_timeout_s=60)
        for k in range(1, pub.rounds + 1):
            pub.round(sim_time_s=k / 10)
        pub.finish("ok", sim_time_s=0.5)

    sim = threading.Thread(target=simulate, daemon=True)
    sim.start()
    sub = Subscriber(f"ipc://{tmp_path}/pub", run_id="hold")
    client = CommandClient(f"ipc://{tmp_path}/cmd", timeout_s=60)
    try:
        hello = sub.poll(60)
        assert hello.topic == "hello" and hello.header["held"] is True and hello.header["rounds"] == 4
        assert client.request("ping")["round"] == 0  # served while held
        assert client.resume(until_round=2)["round"] == 0
        rounds = []
        while len(rounds) < 2:
            m = sub.poll(10)
            if m is not None:
                rounds.append(m.header["round"])
        assert rounds == [1, 2] and client.request("ping")["round"] == 2  # paused after round 2
        client.resume()
        while sub.stats.end is None:
            assert sub.poll(10) is not None or sub.stats.end is not None
        assert sub.stats.snapshots == 4 and sub.stats.gaps == 0 and sub.stats.out_of_order == 0
        sim.join(timeout=30)
        assert not sim.is_alive() and pub.counters["hold_timed_out"] is False
    finally:
        client.close()
        sub.close()
        pub.close()


def _run_py(*args):
    return subprocess.run([sys.executable, str(REPO / "experiments" / "run.py"), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.unit
def test_config_resolve_prints_what_the_binary_takes(tmp_path):
    r = _run_py("config", "resolve", str(REPO / "ns3-scenarios" / "examples" / "small.json"))
    assert r.returncode == 0, r.stderr
    resolved = json.loads(r.stdout)
    assert resolved == small_config(duration_s=json.loads(
        (REPO / "ns3-scenarios" / "examples" / "small.json").read_text())["duration_s"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**resolved, "twin": {**resolved["twin"], "twinning_rate": 2}}))
    r = _run_py("config", "resolve", str(bad))
    assert r.returncode == 2 and r.stdout == "" and "twin.twinning_rate" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.unit
@pytest.mark.parametrize("flags, message", [
    (["--bridge-pub", "tcp://0.0.0.0:5555"], "--bridge-pub = 'tcp://0.0.0.0:5555': allowed: tcp://127.0.0.1:PORT"),
    (["--bridge-cmd", "tcp://127.0.0.1:70000"], "--bridge-cmd = 'tcp://127.0.0.1:70000': allowed"),
    (["--bridge-pub", "ipc://relative"], "allowed: tcp://127.0.0.1:PORT"),
    (["--bridge-pub", "ipc:///tmp/x", "--bridge-cmd", "ipc:///tmp/x"], "must differ from --bridge-pub"),
    (["--no-bridge", "--bridge-hold"], "--no-bridge: cannot be combined"),
    (["--run-id", "a b"], "--run-id = 'a b': allowed"),
    (["--bridge-hold", "--bridge-hold-timeout-s", "0"], "--bridge-hold-timeout-s = 0.0: allowed: > 0 and <= 86400"),
    (["--bridge-hold", "--bridge-hold-timeout-s", "inf"], "--bridge-hold-timeout-s: 'inf' is not a finite number"),
    (["--bridge-pub", "tcp://localhost:5555", "--bridge-cmd", "tcp://127.0.0.1:5555"], "must differ"),
])
def test_bad_bridge_options_exit_2_with_one_line(tmp_path, flags, message):
    r = _run_py("scenario", str(REPO / "ns3-scenarios" / "examples" / "small.json"), "--out", str(tmp_path),
                "--quiet", *flags)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@pytest.mark.ns3
def test_a_hold_nobody_resumes_starts_after_its_timeout(tmp_path):
    seen = {}
    out = run_scenario(small_config(duration_s=0.5), tmp_path / "h", bridge=True, hold=True, hold_timeout_s=1.0,
                       on_bridge=seen.update)
    b = out.result["bridge"]
    assert seen["held"] is True and seen["hold_timeout_s"] == 1.0
    assert b["held"] is True and b["hold_timed_out"] is True and b["held_s"] >= 1.0
    assert out.subscriber["hello"]["held"] is True
    assert out.result["twin"]["snapshots"] == b["rounds"] == out.subscriber["hello"]["rounds"]
    assert out.result["twin"]["gaps"] == 0 and out.result["twin"]["out_of_order"] == 0  # repeats are not counted
    assert "hold exceeded 1 s without resume" in (tmp_path / "h" / "ns3.log").read_text()


@pytest.mark.ns3
def test_gateway_columns_are_the_sums_over_their_attached_sensors(tmp_path):
    """The per-gateway twin columns (attached_sensors, rx_packets, rx_bytes; summed in one pass over the
    sensors per snapshot, ns3-scenarios/helper/iot-city-twin.cc) equal the sums of the same round's ground truth
    sensor rows, every round."""
    out = run_scenario(small_config(**{"duration_s": 1.0}), tmp_path, bridge=True, truth=True)
    assert out.truth
    for rnd, msg in sorted(out.truth.items()):
        tables = {t.kind: t for t in msg.tables}
        sensors, gateways = tables["sensor"], tables["gateway"]
        assert len(sensors.index) == sensors.total  # truth: every sensor
        s = dict(zip(sensors.columns, sensors.values.T))
        g = dict(zip(gateways.columns, gateways.values.T))
        for row, gw in enumerate(gateways.index.tolist()):
            mine = s["attached_gateway"] == gw
            assert g["attached_sensors"][row] == np.count_nonzero(mine), (rnd, gw)
            assert g["rx_packets"][row] == s["rx_packets"][mine].sum(), (rnd, gw)
            assert g["rx_bytes"][row] == s["rx_bytes"][mine].sum(), (rnd, gw)
        assert g["attached_sensors"].sum() > 0
