"""Fuzzed inputs (issue 28), seeded (hypothesis derandomize=True): mutated configs through
`run.py config resolve` and the scenario binary, mutated command frames through a live bridge, mutated
run folders through `explore`. Each must give its exit code (or reply) with one line under a length
cap, never a traceback or a crash. About a minute in all."""
from __future__ import annotations

import copy
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments import run as run_cli
from experiments.explore import ExploreError, RunData
from gaidt.ns3_runner import BINARY, config_text, run_scenario
from tests.helpers import REPO, small_config

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]
MAX_LINE = 2000  # the CLI's cap on an error line (experiments/run.py MAX_ERROR_CHARS)
MAX_REPLY = 2000  # a bridge error reply names field, value (cut) and what is allowed: short
FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# ---------------------------------------------------------------- configs
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.text(max_size=20),
                      st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["", "x" * 300, "ü", "\x00"]))
json_value = st.recursive(json_leaf, lambda c: st.one_of(st.lists(c, max_size=3),
                                                          st.dictionaries(st.text(max_size=8), c, max_size=3)),
                          max_leaves=6)


def _paths(cfg, prefix=()):
    """Every (path) to a value of a nested config, containers included."""
    out = [prefix] if prefix else []
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            out += _paths(v, (*prefix, k))
    return out


def _set(cfg, path, value):
    node = cfg
    for k in path[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()


@st.composite
def mutated_config_text(draw, base: dict) -> bytes:
    """A config with 1-3 fields replaced, deleted or added, then maybe its text damaged."""
    cfg = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(cfg)
        path = draw(st.sampled_from(paths)) if paths else ("name",)
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        try:
            if action == "replace":
                _set(cfg, path, draw(json_value))
            elif action == "delete":
                _set(cfg, path, _DELETE)
            else:
                _set(cfg, (*path[:-1], draw(st.text(min_size=1, max_size=12))), draw(json_value))
        except (KeyError, TypeError):
            pass  # the path went away with an earlier mutation
    text = json.dumps(cfg).encode()
    damage = draw(st.sampled_from(["none", "none", "truncate", "bytes", "encoding"]))
    if damage == "truncate":
        text = text[:draw(st.integers(0, len(text)))]
    elif damage == "bytes":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.binary(min_size=1, max_size=8)) + text[at:]
    elif damage == "encoding":
        text = text.decode().encode(draw(st.sampled_from(["utf-16", "utf-32", "latin-1"])), errors="replace")
    return text


def _one_line(err: str, cap: int = MAX_LINE) -> None:
    assert "Traceback" not in err, err[-2000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) <= cap, err[:3000]


BASE_CONFIG = json.loads((REPO / "ns3-scenarios" / "examples" / "small.json").read_text())


@pytest.mark.slow
@pytest.mark.unit
@settings(FUZZ, max_examples=300)
@given(data=mutated_config_text(BASE_CONFIG))
def test_mutated_configs_through_config_resolve(tmp_path, capsys, data):
    """The CLI's own main(): exit 0 with the resolved config on stdout, or 2 with one line on stderr."""
    path = tmp_path / "cfg.json"
    path.write_bytes(data)
    capsys.readouterr()
    code = run_cli.main(["config", "resolve", str(path)])
    out, err = capsys.readouterr()
    if code == 0:
        resolved = json.loads(out)  # strict JSON: no NaN leaked into the resolved config
        assert json.dumps(resolved, allow_nan=False) and err == ""
    else:
        assert code == 2 and out == ""
        _one_line(err)


RESOLVED = small_config(duration_s=0.5)


@pytest.mark.ns3
@settings(FUZZ, max_examples=40)
@given(data=mutated_config_text(RESOLVED))
def test_mutated_resolved_configs_through_the_scenario_binary(tmp_path, data):
    """The binary reads what `config resolve` prints; given anything else it exits 2 with one
    `gaidt-iot-city:` line, or (a mutation it does not check, the schema's job) runs: never a crash."""
    path = tmp_path / "cfg.json"
    path.write_bytes(data)
    p = subprocess.run([str(BINARY), f"--config={path}", f"--out={tmp_path / 'r.json'}"],
                       capture_output=True, timeout=300)
    err = p.stderr.decode(errors="replace")
    assert p.returncode in (0, 2, 3), (p.returncode, err[-2000:], data[:400])
    if p.returncode == 2:
        lines = [ln for ln in err.strip().splitlines() if ln.startswith("gaidt-iot-city:")]
        assert len(lines) == 1 and len(lines[0]) <= MAX_LINE, err[-2000:]


# ---------------------------------------------------------------- command frames
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def held_bridge(tmp_path_factory):
    """A held scenario run (real ns-3) with its command socket on tcp; yields (DEALER, out dir, proc)."""
    tmp = tmp_path_factory.mktemp("fuzz-bridge")
    (tmp / "cfg.json").write_text(json.dumps(small_config(duration_s=1.0)))
    cmd = f"tcp://127.0.0.1:{_free_port()}"
    proc = subprocess.Popen(RUN + ["scenario", str(tmp / "cfg.json"), "--out", str(tmp / "run"), "--quiet",
                                   "--bridge-cmd", cmd, "--bridge-hold", "--bridge-hold-timeout-s", "600"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(cmd)
    yield sock, tmp / "run", proc
    sock.close()
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


ops = st.sampled_from(["ping", "list", "get", "set", "pause", "resume", "stop ", "", "PING", "sét"])
fields = st.fixed_dictionaries({}, optional={
    "id": json_value, "op": st.one_of(ops, json_value),
    "node": st.one_of(st.sampled_from(["sensor-3", "sensor-*", "gateway-0", "gateway-*", "sensor-99999999999",
                                       "sensor--1", "-", "sensor-", "sensor-٣"]), json_value),
    "param": st.one_of(st.sampled_from(["report_period_s", "payload_max_bytes", "active", "tx_power_dbm",
                                        "tx_packets"]), json_value),
    "value": json_value, "until_round": json_value})
frames = st.one_of(
    fields.map(lambda d: json.dumps(d).encode()),  # NaN/Infinity tokens included: not JSON, must be refused
    st.binary(max_size=200),
    st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 3).map(lambda k: json.dumps({"op": "ping", "pad": "p" * (70_000 * k)}).encode()),
)


@pytest.mark.ns3
@settings(FUZZ, max_examples=250)
@given(frame=frames)
def test_mutated_command_frames_get_exactly_one_short_reply(held_bridge, frame):
    sock, _, proc = held_bridge
    req = None
    try:
        req = json.loads(frame)
    except (ValueError, RecursionError):
        pass
    if isinstance(req, dict) and req.get("op") in ("stop", "pause", "resume"):
        frame = json.dumps(dict(req, op="ping")).encode()  # keep the run held for the next example
    sock.send_multipart([b"", frame])
    assert sock.poll(30_000), f"no reply to {frame[:100]!r}"
    parts = sock.recv_multipart()
    assert parts[0] == b"" and len(parts) == 2
    reply = json.loads(parts[1])
    assert isinstance(reply, dict) and isinstance(reply["ok"], bool) and reply["round"] == 0
    assert len(parts[1]) <= max(MAX_REPLY, 200 + len(json.dumps(req.get("id"))) if isinstance(req, dict) else 0)
    if not reply["ok"]:
        assert reply["code"] in ("malformed", "invalid", "too_large") and "\n" not in reply["error"]
    assert not sock.poll(0), "a second reply"
    assert proc.poll() is None


@pytest.mark.ns3
def test_after_the_fuzzed_frames_the_run_ends_normally_and_every_request_is_counted(held_bridge):
    sock, out, proc = held_bridge
    sock.send_multipart([b"", b'{"id": "last", "op": "resume"}'])
    assert sock.poll(30_000) and json.loads(sock.recv_multipart()[-1])["ok"]
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    b = json.loads((out / "result.json").read_text())["bridge"]
    assert b["commands"] == b["replies"] + b["replies_dropped"] and b["replies_dropped"] == 0
    assert b["commands"] > 100 and b["too_large_requests"] > 0


# ---------------------------------------------------------------- run folders
@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fuzz-run") / "run"
    run_scenario(small_config(duration_s=1.0), out)
    return out


FILES = ("result.json", "twin.dtdl.json", "history.sqlite", "config.json")
NODE_COLUMNS = ("round", "node", "kind", "tx_packets", "x_m", "run_id")


@st.composite
def folder_damage(draw):
    """1-3 damages: a file truncated, bytes inserted, removed, made a folder, a JSON value replaced, a
    history row changed."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(FILES))
        kind = draw(st.sampled_from(["truncate", "bytes", "remove", "folder", "json", "json", "sql", "sql"]))
        if kind == "truncate":
            out.append((name, kind, draw(st.floats(0, 1))))
        elif kind == "bytes":
            out.append((name, kind, (draw(st.floats(0, 1)), draw(st.binary(min_size=1, max_size=16)))))
        elif kind == "json":
            out.append((name, kind, (draw(st.sampled_from(["sensors", "gateways", "kpis", "totals", "run",
                                                           "duration_s", "twins", "models", "twin"])),
                                     draw(st.one_of(json_value, st.lists(json_value, min_size=1, max_size=3))))))
        elif kind == "sql":
            out.append(("history.sqlite", kind, (draw(st.sampled_from(["node_state", "snapshots", "runs"])),
                                                 draw(st.sampled_from(NODE_COLUMNS + ("sim_time_s",))),
                                                 draw(st.one_of(st.none(), st.text(max_size=5),
                                                                st.integers(-10, 10**12), st.floats())))))
        else:
            out.append((name, kind, None))
    return out


def _damage(d: Path, damages) -> None:
    for name, kind, arg in damages:
        p = d / name
        if not p.is_file():
            continue
        if kind == "truncate":
            p.write_bytes(p.read_bytes()[:int(arg * p.stat().st_size)])
        elif kind == "bytes":
            data = p.read_bytes()
            at = int(arg[0] * len(data))
            p.write_bytes(data[:at] + arg[1] + data[at:])
        elif kind == "remove":
            p.unlink()
        elif kind == "folder":
            p.unlink()
            p.mkdir()
        elif kind == "json":
            try:
                doc = json.loads(p.read_text())
            except ValueError:
                continue
            if isinstance(doc, dict):
                doc[arg[0]] = arg[1]
                p.write_text(json.dumps(doc))
        elif kind == "sql":
            table, column, value = arg
            try:
                with sqlite3.connect(p) as c:
                    c.execute(f'UPDATE OR IGNORE {table} SET "{column}" = ? WHERE rowid IN '
                              f"(SELECT rowid FROM {table} ORDER BY rowid LIMIT 3)", (value,))
            except sqlite3.Error:
                pass  # no such column in that table, or a file already damaged


@pytest.mark.ns3
@settings(FUZZ, max_examples=120)
@given(damages=folder_damage())
def test_mutated_run_folders_through_explore(good_run, tmp_path_factory, damages):
    d = tmp_path_factory.mktemp("damaged") / "run"
    shutil.copytree(good_run, d)
    _damage(d, damages)
    try:
        data = RunData(d)
    except ExploreError as e:
        msg = str(e)
        assert "\n" not in msg and len(msg) <= 400 and str(d) in msg, msg
        return
    data.summary()
    json.dumps(data.summary())
    for k in data.rounds:
        data.state(k).to_json()
    for node in ("sensor-0", "gateway-0"):
        try:
            data.node(node, data.rounds[-1] if data.rounds else None)
        except ExploreError as e:
            assert "\n" not in str(e)


@pytest.mark.ns3
def test_explore_on_a_damaged_folder_is_one_line_exit_2(good_run, tmp_path):
    d = tmp_path / "run"
    shutil.copytree(good_run, d)
    (d / "result.json").write_text('{"sensors": "many"}')
    p = subprocess.run(RUN + ["explore", str(d)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "result.json" in p.stderr and "'sensors'" in p.stderr
    _one_line(p.stderr, 400)


@pytest.mark.unit
def test_the_fuzzed_config_base_is_what_config_resolve_prints():
    """The binary fuzz mutates the resolved text the CLI hands the binary (a check of the test's premise)."""
    assert json.loads(config_text(RESOLVED)) == RESOLVED
