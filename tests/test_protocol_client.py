"""A twin client written from gaidt_bridge/PROTOCOL.md alone: plain pyzmq + json + struct, no project
imports. It starts `experiments/run.py scenario` as any user would, attaches over tcp loopback with
--bridge-hold, pauses, gets, sets, resumes and sees every round from 1 to the end.

The same session produces the examples in PROTOCOL.md: each `<!-- example: NAME -->` block there must
equal what this real run sent (wall-clock fields aside). To regenerate them after a protocol change:
    GAIDT_WRITE_PROTOCOL_EXAMPLES=1 .venv/bin/python -m pytest -q tests/test_protocol_client.py
"""
from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import zmq

pytestmark = pytest.mark.ns3

REPO = Path(__file__).resolve().parent.parent
PROTOCOL_MD = REPO / "gaidt_bridge" / "PROTOCOL.md"
WAIT_S = 120  # every wait is bounded; generous because CI machines are shared
VOLATILE = {"wall_time_s"}  # wall-clock fields: not compared with the examples

# Malformed requests (raw frames) and the field each error reply must name.
MALFORMED = [
    ("garbage bytes", b"\xff\xfe garbage", "(request)", None),
    ("empty frame", b"", "(request)", None),
    ("a JSON array", b'[1, 2, 3]', "(request)", None),
    ("node of the wrong type", b'{"id": 16, "op": "get", "node": 12}', "node", 16),
    ("op of the wrong type", b'{"id": 17, "op": 7}', "op", 17),
    ("no op", b'{"id": "a"}', "op", "a"),
    ("unknown op", b'{"id": 18, "op": "reboot"}', "op", 18),
    ("out-of-range power", b'{"id": 19, "op": "set", "node": "gateway-0", "param": "tx_power_dbm", "value": 99}',
     "value", 19),
    ("unknown sensor", b'{"id": 20, "op": "get", "node": "sensor-50", "param": "report_period_s"}', "node", 20),
    ("unsettable parameter", b'{"id": 21, "op": "get", "node": "sensor-1", "param": "tx_packets"}', "param", 21),
    ("value of the wrong type", b'{"id": 22, "op": "set", "node": "sensor-1", "param": "active", "value": "1"}',
     "value", 22),
    ("no value", b'{"id": 23, "op": "set", "node": "sensor-1", "param": "report_period_s"}', "value", 23),
    ("param of the wrong type", b'{"id": 24, "op": "get", "node": "sensor-1", "param": ["x"]}', "param", 24),
    ("node without index", b'{"id": 25, "op": "get", "node": "sensor", "param": "active"}', "node", 25),
    ("until_round in the past", b'{"id": 26, "op": "resume", "until_round": 0}', "until_round", 26),
    ("object id", b'{"id": {"k": [1]}, "op": 3.5}', "op", {"k": [1]}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """SUB + DEALER, as PROTOCOL.md "Writing a client" describes."""

    def __init__(self, pub: str, cmd: str, explain=lambda: ""):
        self.explain = explain  # what to add to a timeout message (the run's state)
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"gaidt.")
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.connect(pub)
        self.cmd = self.ctx.socket(zmq.DEALER)
        self.cmd.setsockopt(zmq.LINGER, 0)
        self.cmd.connect(cmd)

    def recv(self):
        assert self.sub.poll(WAIT_S * 1000), f"no bridge message in time; {self.explain()}"
        frames = self.sub.recv_multipart()
        return frames[0].decode(), json.loads(frames[1]), frames[2:]

    def send(self, payload) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.cmd.send_multipart([b"", raw])

    def reply(self) -> dict:
        assert self.cmd.poll(WAIT_S * 1000), f"no reply in time; {self.explain()}"
        frames = self.cmd.recv_multipart()
        assert frames[0] == b""  # the delimiter we sent comes back
        return json.loads(frames[-1])

    def reply_if_any(self, wait_s: float) -> dict | None:
        """A reply that may not come: a request that reaches the physical twin after it closed its
        command socket (right after gaidt.end) is not answered (PROTOCOL.md, "End of a run")."""
        return json.loads(self.cmd.recv_multipart()[-1]) if self.cmd.poll(int(wait_s * 1000)) else None

    def request(self, payload) -> dict:
        self.send(payload)
        return self.reply()

    def close(self) -> None:
        self.sub.close()
        self.cmd.close()
        self.ctx.term()


def decode_sets(header: dict, frames: list) -> dict:
    """kind -> {node index: {column: value}}, checking every frame's length."""
    assert len(frames) == sum(1 + len(s["columns"]) for s in header["sets"])
    out, pos = {}, 0
    for s in header["sets"]:
        rows = s["rows"]
        assert len(frames[pos]) == 4 * rows
        index = struct.unpack(f"<{rows}I", frames[pos])
        pos += 1
        table = {i: {} for i in index}
        for name in s["columns"]:
            assert len(frames[pos]) == 8 * rows
            for i, v in zip(index, struct.unpack(f"<{rows}d", frames[pos])):
                table[i][name] = v
            pos += 1
        out[s["kind"]] = table
    return out


def explainer(proc, out: Path, stderr_rest: list):
    """The run's state for a failure message: run.py's status, its stderr, the tail of ns-3's log."""
    def explain() -> str:
        log = out / "ns3.log"
        tail = log.read_text(errors="replace")[-1500:] if log.exists() else "(no ns3.log)"
        return f"run.py exit status {proc.poll()}; run.py stderr {''.join(stderr_rest)[-800:]!r}; ns3.log: {tail!r}"
    return explain


def stop_run(proc) -> None:
    """End run.py the way a user does (Ctrl-C): it then kills its ns-3 process group too."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def start_scenario(tmp: Path, name: str, overrides: dict, run_id: str):
    cfg = json.loads((REPO / "ns3-scenarios" / "examples" / "small.json").read_text())
    for key, value in overrides.items():
        node = cfg
        *path, last = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    (tmp / f"{name}.json").write_text(json.dumps(cfg))
    pub, cmd = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "experiments" / "run.py"), "scenario", str(tmp / f"{name}.json"),
         "--out", str(tmp / name), "--quiet", "--bridge-pub", pub, "--bridge-cmd", cmd, "--bridge-hold",
         "--bridge-hold-timeout-s", str(WAIT_S), "--run-id", run_id],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stderr], [], [], WAIT_S)
    assert ready, "run.py announced nothing on stderr"
    announce = proc.stderr.readline().strip()
    rest: list[str] = []
    threading.Thread(target=lambda: rest.extend(proc.stderr), daemon=True).start()
    fields = dict(kv.split("=", 1) for kv in announce.split()[2:])
    assert announce.startswith("run.py: bridge ") and fields["pub"] == pub and fields["cmd"] == cmd, announce
    return proc, announce, fields, rest


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """One attached run of the small scenario (1 s of traffic); everything it saw."""
    tmp = tmp_path_factory.mktemp("client")
    proc, announce, fields, stderr_rest = start_scenario(tmp, "run", {"duration_s": 1.0}, "protocol-example")
    c = Client(fields["pub"], fields["cmd"], explainer(proc, tmp / "run", stderr_rest))
    t = {"announce": announce, "fields": fields, "replies": {}, "pairs": {}, "snaps": [], "out": tmp / "run"}
    try:
        topic, hello, _ = c.recv()
        assert topic == "gaidt.hello"
        t["hello"] = hello

        def ask(name, req):
            reply = c.request(req)
            t["pairs"][name] = (req, reply)
            return reply

        ask("ping", {"id": 1, "op": "ping"})
        ask("list", {"id": 2, "op": "list"})
        ask("get", {"id": 3, "op": "get", "node": "sensor-3", "param": "report_period_s"})
        ask("set", {"id": 4, "op": "set", "node": "sensor-3", "param": "report_period_s", "value": 0.5})
        for label, raw, _, _ in MALFORMED:
            t["replies"][label] = c.request(raw)
        ask("resume_until", {"id": 5, "op": "resume", "until_round": 3})
        last = hello["rounds"]
        while True:
            topic, h, frames = c.recv()
            if topic == "gaidt.hello":
                continue  # repeated while held
            if topic == "gaidt.end":
                t["end"] = (h, decode_sets(h, frames))
                t["last_replies"].append(c.reply_if_any(5.0))  # the socket closes within 1 s of the end
                break
            t["snaps"].append((h, decode_sets(h, frames)))
            if h["round"] == 3:  # paused here by until_round
                ask("pause", {"id": 6, "op": "pause"})
                ask("get_paused", {"id": 7, "op": "get", "node": "sensor-3", "param": "report_period_s"})
                ask("set_all", {"id": 8, "op": "set", "node": "gateway-*", "param": "tx_power_dbm", "value": 20})
                ask("resume_to_last", {"id": 9, "op": "resume", "until_round": last})
            if h["round"] == last:  # paused at the last round: one request may race the end
                ask("leave_last", {"id": 12, "op": "set", "node": "sensor-5", "param": "active", "value": 0})
                c.send({"id": 10, "op": "resume"})
                c.send({"id": 11, "op": "ping"})
                t["last_replies"] = [c.reply()]  # read while paused: always answered
        t["rc"] = proc.wait(timeout=WAIT_S)
        t["stdout"] = proc.stdout.read()
        t["stderr"] = stderr_rest
        t["example_snap"] = t["snaps"][-1][0]
        return t
    finally:
        c.close()
        stop_run(proc)


def test_client_attaches_pauses_gets_sets_resumes_and_sees_every_round(session):
    hello = session["hello"]
    assert hello["held"] is True and hello["run_id"] == "protocol-example"
    assert session["fields"]["held"] == "true" and session["fields"]["run_id"] == "protocol-example"
    n = hello["rounds"]
    assert n == 19  # k * 0.1 s < end_time_s = 2.0 s (1 s warm-up + 1 s traffic)
    rounds = [h["round"] for h, _ in session["snaps"]]
    assert rounds == list(range(1, n + 1))
    assert [h["seq"] for h, _ in session["snaps"]] == rounds  # hello is seq 0
    for h, sets in session["snaps"]:
        assert h["sim_time_s"] == pytest.approx(h["round"] * hello["period_s"])
        assert len(sets["sensor"]) == 40 and len(sets["gateway"]) == 2  # round(0.8 x 50), all gateways
    pairs = session["pairs"]
    assert all(reply["ok"] and reply["id"] == req["id"] for req, reply in pairs.values())
    assert pairs["get"][1]["value"] != 0.5 and pairs["set"][1]["applied"] == 1
    assert pairs["set"][1]["round"] == 0 and pairs["resume_until"][1]["round"] == 0
    # paused at round 3: every request there is applied at round 3
    assert {pairs[k][1]["round"] for k in ("pause", "get_paused", "set_all", "resume_to_last")} == {3}
    assert pairs["get_paused"][1]["value"] == 0.5 and pairs["set_all"][1]["applied"] == 2
    # the set at round 0 shows in every snapshot that transfers sensor-3; the one at round 3 from round 4
    assert all(s["sensor"][3]["report_period_s"] == 0.5 for _, s in session["snaps"] if 3 in s["sensor"])
    assert all(s["gateway"][g]["tx_power_dbm"] == 20 for h, s in session["snaps"] if h["round"] >= 4 for g in (0, 1))
    # the end: every node's final state, at end_time_s
    end, final = session["end"]
    assert end["status"] == "ok" and end["round"] == n and end["seq"] == n + 1
    assert end["sim_time_s"] == hello["end_time_s"]
    assert len(final["sensor"]) == 50 and final["sensor"][3]["report_period_s"] == 0.5
    # a leave set at the last round: delivered in gaidt.end, and in the final state
    assert [(e["type"], e["node"]) for e in end["events"]] == [("leave", "sensor-5")]
    assert final["sensor"][5]["active"] == 0.0 and pairs["leave_last"][1]["round"] == n
    assert session["rc"] == 0, session["stderr"]
    bridge = json.loads((session["out"] / "result.json").read_text())["bridge"]
    assert (bridge["pub_endpoint"], bridge["cmd_endpoint"]) == (session["fields"]["pub"], session["fields"]["cmd"])
    assert bridge["rounds"] == n and bridge["held"] is True


def test_every_request_at_the_end_gets_a_reply_with_its_id(session):
    resume, ping = session["last_replies"]
    assert resume["id"] == 10 and resume["ok"] and resume["round"] == session["hello"]["rounds"]
    # the ping races the end: applied at the last round, answered "simulation ended" after it, or, if it
    # reached the physical twin after its command socket closed, not answered (PROTOCOL.md, "End of a run")
    assert ping is None or ping["id"] == 11
    assert ping is None or ping["ok"] or (ping["code"] == "ended" and "simulation ended" in ping["error"])


@pytest.mark.parametrize("label", [m[0] for m in MALFORMED])
def test_malformed_requests_get_an_error_naming_field_value_allowed_with_the_id(session, label):
    _, raw, field, req_id = next(m for m in MALFORMED if m[0] == label)
    reply = session["replies"][label]
    assert reply["ok"] is False and reply["field"] == field, reply
    assert reply["allowed"] and "value" in reply
    assert f"field '{field}'" in reply["error"] and "allowed: " in reply["error"]
    if req_id is None:
        assert "id" not in reply
    else:
        assert reply["id"] == req_id
    assert reply["round"] == 0  # answered while held


def test_stop_ends_at_its_round_later_requests_are_never_applied_and_the_tie_rounds_half_up(tmp_path):
    """45 sensors at r = 0.5: round(22.5) = 23 rows (PROTOCOL.md, "Twinning rate")."""
    proc, _, fields, stderr_rest = start_scenario(
        tmp_path, "tie", {"duration_s": 1.0, "topology.sensors": 45, "twin.twinning_rate": 0.5}, "tie")
    c = Client(fields["pub"], fields["cmd"], explainer(proc, tmp_path / "tie", stderr_rest))
    try:
        topic, hello, _ = c.recv()
        assert topic == "gaidt.hello"
        assert c.request({"id": "r", "op": "resume", "until_round": 12})["ok"]  # after the 1 s warm-up
        rows = {}
        while len(rows) < 12:
            topic, h, frames = c.recv()
            if topic == "gaidt.snap":
                rows[h["round"]] = len(decode_sets(h, frames)["sensor"])
        assert rows == {k: 23 for k in range(1, 13)}
        c.send({"id": "s", "op": "stop"})
        c.send({"id": "p", "op": "ping"})
        stop = c.reply()  # read while paused: always answered
        assert stop["id"] == "s" and stop["ok"] and stop["stopped"] and stop["round"] == 12
        topic, end, frames = c.recv()
        assert topic == "gaidt.end" and end["status"] == "stopped" and end["round"] == 12
        # a request after a stop is never applied: "simulation ended" if it reached the physical twin
        # before it closed, else no reply (PROTOCOL.md, "End of a run")
        ping = c.reply_if_any(5.0)
        assert ping is None or (ping["id"] == "p" and ping["ok"] is False and ping["code"] == "ended"
                                and "simulation ended" in ping["error"]), ping
        assert len(decode_sets(end, frames)["sensor"]) == 45
        assert proc.wait(timeout=WAIT_S) == 0, stderr_rest
    finally:
        c.close()
        stop_run(proc)


# ---- PROTOCOL.md examples: generated by the session above, compared on every run

def _examples(t: dict) -> dict:
    """name -> (kind, value); kind: text | object | pair (request, reply) | raw (request frame, reply)."""
    ex = {"announce": ("text", t["announce"]), "hello": ("object", t["hello"]),
          "snap": ("object", t["example_snap"]), "end": ("object", t["end"][0])}
    for name in ("ping", "list", "get", "set", "resume_until", "get_paused", "set_all"):
        ex[name] = ("pair", t["pairs"][name])
    for label in ("node of the wrong type", "op of the wrong type", "garbage bytes", "out-of-range power",
                  "unsettable parameter"):
        raw = next(m[1] for m in MALFORMED if m[0] == label)
        ex["error: " + label] = ("raw", (raw.decode("utf-8", "replace"), t["replies"][label]))
    return ex


def _render(kind: str, value) -> str:
    if kind == "text":
        return value
    if kind in ("pair", "raw"):  # the request frame, then the reply: one per line
        req, reply = value
        return "\n".join([req if kind == "raw" else json.dumps(req), json.dumps(reply)])
    items = list(value.items())
    lines = [f" {json.dumps(k)}: {json.dumps(v)}{',' if i + 1 < len(items) else ''}" for i, (k, v) in enumerate(items)]
    return "\n".join(["{", *lines, "}"])


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _ports(text: str) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text.strip())  # free ports differ per run


def _comparable(kind: str, value):
    if kind == "text":
        return _ports(value)
    if kind == "object":
        return _strip(value)
    req, reply = value
    return (req if kind == "raw" else _strip(req), _strip(reply))


def _parse(kind: str, body: str):
    if kind == "text":
        return _ports(body)
    if kind == "object":
        return _strip(json.loads(body))
    req, reply = body.strip().split("\n")
    return (req if kind == "raw" else _strip(json.loads(req)), _strip(json.loads(reply)))


_BLOCK = re.compile(r"(<!-- example: (?P<name>[^>]+?) -->\n```(?:json|text)\n)(?P<body>.*?)(\n```)", re.S)


def test_protocol_md_examples_are_what_a_real_run_sent(session):
    examples = _examples(session)
    text = PROTOCOL_MD.read_text()
    if os.environ.get("GAIDT_WRITE_PROTOCOL_EXAMPLES"):
        def sub(m):
            name = m.group("name")
            return m.group(1) + _render(*examples[name]) + m.group(4) if name in examples else m.group(0)
        text = _BLOCK.sub(sub, text)
        PROTOCOL_MD.write_text(text)
    found = {m.group("name"): m.group("body") for m in _BLOCK.finditer(text)}
    assert set(found) == set(examples), f"PROTOCOL.md example blocks {sorted(found)} != {sorted(examples)}"
    for name, body in found.items():
        kind, value = examples[name]
        assert _parse(kind, body) == _comparable(kind, value), f"PROTOCOL.md example {name!r} differs from the run"
