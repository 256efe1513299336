"""Python publisher: lets an ns-3 script written with the `ns3` Python
bindings publish to the same bridge (same wire protocol, PROTOCOL.md, as the
C++ library, with the same options: endpoints, hold, pause, final state).

ns-3's Python bindings cannot easily schedule Python callbacks, so a script
advances the simulation one twinning period at a time and calls round():

    pub = TwinPublisher(pub_endpoint, cmd_endpoint, run_id="my-run")
    sensors = pub.add_node_set("sensor", "dtmi:gaidt:IoTSensor;1", n=len(ues))
    sensors.column("tx_packets", "packets", lambda: tx_counts)   # one value per node
    sensors.parameter("report_period_s", get=..., set=...)
    pub.start(period_s=0.1, twinning_rate=0.8, seed=1, end_time_s=end, hold=False)
    for k in range(1, pub.rounds + 1):      # round k at k * period_s < end_time_s
        ns.Simulator.Stop(ns.Seconds(k * 0.1) - ns.Simulator.Now()); ns.Simulator.Run()
        pub.round(sim_time_s=k * 0.1)      # publish + poll commands (blocks only while paused)
        if pub.stop_requested: break
    (run the rest up to end_time_s)
    pub.finish("ok", sim_time_s=end)       # final state of every node + pending requests answered
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import zmq

from .protocol import BEAT_PERIOD_S, BEAT_TOPIC, PROTOCOL_VERSION, NodeTable, encode_control, encode_snapshot, sample_size

log = logging.getLogger(__name__)

OPS = "ping, list, get, set, pause, resume, stop"
EXAMPLE_REQUEST = 'a JSON object such as {"id": 1, "op": "ping"}'
HELLO_REPEAT_S = 0.5
# input bounds, as the C++ bridge (PROTOCOL.md, "End of a run" and "Errors")
MAX_REQUEST_BYTES = 64 * 1024
MAX_FRAME_BYTES = 64 * 1024 * 1024
CMD_RCVHWM = 100
MAX_ID_CHARS = 256


@dataclass
class PyNodeSet:
    """One kind of node: its published columns and its settable parameters."""

    kind: str
    model: str
    n: int
    sampled: bool = True
    columns: list = field(default_factory=list)  # (name, unit, fn -> sequence of n floats)
    params: dict = field(default_factory=dict)  # name -> (get(i), set(i, v), check(v) -> str)

    def column(self, name: str, unit: str, values: Callable[[], Sequence[float]]) -> "PyNodeSet":
        """Publish a column: `values()` returns one float per node."""
        self.columns.append((name, unit, values))
        return self

    def parameter(self, name: str, get: Callable[[int], float], set: Callable[[int, float], None],  # noqa: A002
                  check: Callable[[float], str] | None = None) -> "PyNodeSet":
        """A parameter twins may get and set; `check(v)` returns "" or "allowed: ..."."""
        self.params[name] = (get, set, check)
        return self


def _show(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def error_reply(reply: dict, code: str, field_: str, value, allowed: str, why: str = "") -> dict:
    """An error reply naming the field, the value and what is allowed (as the C++ bridge does)."""
    if len(json.dumps(value)) > 200:  # never echo a large value back
        value = _show(value)
    return reply | {"ok": False, "code": code, "field": field_, "value": value, "allowed": allowed,
                    "error": f"field '{field_}' = {_show(value)}{': ' + why if why else ''}; allowed: {allowed}"}


class TwinPublisher:
    """XPUB + ROUTER side of the bridge, for ns-3 scripts written in Python."""

    def __init__(self, pub_endpoint: str, cmd_endpoint: str | None, run_id: str):
        self.run_id = run_id
        self.pub_endpoint, self.cmd_endpoint = pub_endpoint, cmd_endpoint or ""
        self.ctx = zmq.Context.instance()
        self.pub = self.ctx.socket(zmq.XPUB)
        self.pub.setsockopt(zmq.LINGER, 1000)
        self.pub.bind(pub_endpoint)
        self.cmd = None
        if cmd_endpoint:
            self.cmd = self.ctx.socket(zmq.ROUTER)
            self.cmd.setsockopt(zmq.LINGER, 1000)  # the last replies still leave at close
            self.cmd.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
            self.cmd.setsockopt(zmq.RCVHWM, CMD_RCVHWM)
            self.cmd.setsockopt(zmq.ROUTER_MANDATORY, 1)  # a reply that cannot be queued is counted
            self.cmd.bind(cmd_endpoint)
        self.sets: list[PyNodeSet] = []
        self.seq = 0
        self.round_no = 0
        self.rounds = 0
        self.rate = 1.0
        self.rng = np.random.default_rng(1)
        self.events: list = []
        self.stop_requested = False
        self.paused = False
        self.pause_at_round = 0
        self.pause_timeout_s = 300.0
        self.ended = False
        self.sim_time_s = 0.0
        self.hello: dict = {}
        self.counters = {"commands": 0, "bad_commands": 0, "ended_replies": 0, "held_s": 0.0,
                         "hold_timed_out": False, "replies": 0, "replies_dropped": 0, "too_large_requests": 0,
                         "beats": 0}
        # Liveness (PROTOCOL.md): a thread beats every BEAT_PERIOD_S of wall time; the pub socket is
        # shared with it under _pub_lock. It needs the GIL: an ns-3 call that holds it (Simulator.Run
        # through cppyy) delays the beats, so keep each Run short (one twinning period, as above).
        self._pub_lock = threading.Lock()
        self._beat_stop = threading.Event()
        self._beat_thread = threading.Thread(target=self._beat_loop, name="gaidt-beat", daemon=True)
        self._beat_thread.start()

    def _beat_loop(self) -> None:
        while not self._beat_stop.wait(BEAT_PERIOD_S):
            header = {"v": PROTOCOL_VERSION, "run_id": self.run_id, "beat": self.counters["beats"] + 1,
                      "round": self.round_no, "wall_time_s": time.time()}
            with self._pub_lock:
                if self._beat_stop.is_set():
                    return
                try:
                    self.pub.send_multipart([BEAT_TOPIC, json.dumps(header).encode()], zmq.NOBLOCK)
                except zmq.ZMQError:
                    return
            self.counters["beats"] += 1

    def add_node_set(self, kind: str, model: str, n: int, sampled: bool = True) -> PyNodeSet:
        """Register a kind of node; ids are "<kind>-<index>"."""
        s = PyNodeSet(kind, model, n, sampled)
        self.sets.append(s)
        return s

    def add_event(self, type_: str, node: str, sim_time_s: float, detail=None) -> None:
        """Queue a topology event (join, leave, reattach) for the next snapshot."""
        self.events.append({"type": type_, "node": node, "sim_time_s": sim_time_s, "detail": detail})

    def _send(self, frames) -> None:
        with self._pub_lock:
            self.pub.send_multipart(frames)
        self.seq += 1

    def start(self, period_s: float, twinning_rate: float, seed: int, subscriber_wait_s: float = 5.0,
              static: dict | None = None, end_time_s: float | None = None, hold: bool = False,
              hold_timeout_s: float = 300.0) -> None:
        """Publish hello. With hold, serve commands at round 0 (repeating hello every 0.5 s) until a
        client sends resume or hold_timeout_s of wall time pass; otherwise wait at most
        subscriber_wait_s for a first subscriber."""
        if hold and self.cmd is None:
            raise ValueError("hold needs a command endpoint (nobody could send resume)")
        self.rate = twinning_rate
        self.rng = np.random.default_rng(seed)
        if end_time_s is not None:
            # round k at k * period_s < end_time_s, counted as the C++ bridge does (integer ns)
            self.rounds = max(0, (round(end_time_s * 1e9) - 1) // round(period_s * 1e9))
        deadline = time.monotonic() + subscriber_wait_s
        while not hold and time.monotonic() < deadline:  # until a subscription arrives (XPUB)
            with self._pub_lock:
                if self.pub.poll(50):
                    self.pub.recv()
                    break
        sets = [{"kind": s.kind, "model": s.model, "total": s.n, "sampled": s.sampled,
                 "columns": [{"name": c[0], "unit": c[1]} for c in s.columns], "parameters": list(s.params)}
                for s in self.sets]
        self.hello = {"run_id": self.run_id, "seq": self.seq, "period_s": period_s, "end_time_s": end_time_s,
                      "rounds": self.rounds if end_time_s is not None else None, "twinning_rate": twinning_rate,
                      "held": hold, "hold_timeout_s": hold_timeout_s if hold else None,
                      "pause_timeout_s": self.pause_timeout_s, "sets": sets, "static": static or {}}
        self._send(encode_control("hello", self.hello))
        if hold:
            t0 = time.monotonic()
            self.paused = True
            self.counters["hold_timed_out"] = self._wait_while_paused(hold_timeout_s, "hold")
            self.counters["held_s"] = time.monotonic() - t0

    def _wait_while_paused(self, timeout_s: float, what: str) -> bool:
        """Serve commands while paused, at most timeout_s of wall time; True if that timed out."""
        t0 = last_hello = time.monotonic()
        while self.paused:
            now = time.monotonic()
            if now - t0 > timeout_s:
                log.warning("gaidt-bridge: %s exceeded %g s without resume; resuming", what, timeout_s)
                self.paused = False
                return True
            if self.round_no == 0 and now - last_hello >= HELLO_REPEAT_S:
                with self._pub_lock:
                    self.pub.send_multipart(encode_control("hello", self.hello))  # same seq: a repeat
                last_hello = now
            if self.cmd is None:
                self.paused = False
                break
            self.cmd.poll(100)
            self.poll_commands()
        return False

    def _tables(self, sample: bool) -> list[NodeTable]:
        tables = []
        for s in self.sets:
            idx = np.arange(s.n, dtype=np.uint32)
            if sample and s.sampled and self.rate < 1.0:
                k = sample_size(self.rate, s.n)
                idx = np.sort(self.rng.choice(s.n, size=k, replace=False).astype(np.uint32))
            cols = np.column_stack([np.asarray(fn(), dtype=np.float64)[idx] for _, _, fn in s.columns]) \
                if s.columns else np.empty((len(idx), 0))
            tables.append(NodeTable(s.kind, s.model, s.n, idx, [c[0] for c in s.columns],
                                    [c[1] for c in s.columns], cols))
        return tables

    def round(self, sim_time_s: float) -> None:
        """Publish one snapshot, then handle pending commands (blocks only while paused)."""
        self.round_no += 1
        self.sim_time_s = sim_time_s
        self._send(encode_snapshot(self.run_id, self.seq, self.round_no, sim_time_s, self._tables(True),
                                   self.events, wall_time_s=time.time()))
        self.events = []
        if self.pause_at_round and self.round_no >= self.pause_at_round:
            self.pause_at_round = 0
            self.paused = True
        self.poll_commands()
        self._wait_while_paused(self.pause_timeout_s, "pause")

    def poll_commands(self) -> None:
        """Answer every queued request without blocking."""
        with self._pub_lock:
            while self.pub.poll(0):
                self.pub.recv()  # subscription messages
        if self.cmd is None:
            return
        while self.cmd.poll(0):
            frames = self.cmd.recv_multipart()
            self.counters["commands"] += 1
            if len(frames[-1]) > MAX_REQUEST_BYTES:  # never parsed, never echoed
                self.counters["too_large_requests"] += 1
                reply = error_reply({}, "too_large", "(request)", f"{len(frames[-1])} bytes",
                                    f"a request of at most {MAX_REQUEST_BYTES} bytes", "too large")
            else:
                reply = self.handle_frame(frames[-1])
            if not reply["ok"]:
                self.counters["bad_commands"] += 1
            reply.update(sim_time_s=self.sim_time_s, round=self.round_no)
            try:
                self.cmd.send_multipart(frames[:-1] + [json.dumps(reply).encode()], zmq.NOBLOCK)
                self.counters["replies"] += 1
            except zmq.ZMQError:  # the client left, or never reads and its queue is full
                self.counters["replies_dropped"] += 1

    def handle_frame(self, frame: bytes) -> dict:
        """The reply to one request frame (PROTOCOL.md, "Commands"), without sim_time_s and round."""
        try:
            req = json.loads(frame)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return error_reply({}, "malformed", "(request)", frame[:80].decode("utf-8", "replace"),
                               EXAMPLE_REQUEST, "not JSON")
        if not isinstance(req, dict):
            return error_reply({}, "malformed", "(request)", req, EXAMPLE_REQUEST, "not a JSON object")
        if "id" in req and len(json.dumps(req["id"])) > MAX_ID_CHARS:
            return error_reply({}, "invalid", "id", req["id"],
                               f"a string or number of at most {MAX_ID_CHARS} characters as JSON", "too long")
        reply = {"id": req["id"]} if "id" in req else {}
        if self.ended:
            self.counters["ended_replies"] += 1
            return error_reply(reply, "ended", "op", req.get("op"),
                               "no request: the simulation ended before it was applied", "simulation ended")
        return {"ok": True} | self._handle(req, reply) | reply

    def _handle(self, req: dict, reply: dict) -> dict:
        ok = {"ok": True}
        if "op" not in req:
            return error_reply(reply, "invalid", "op", None, OPS, "missing")
        op = req["op"]
        if not isinstance(op, str):
            return error_reply(reply, "invalid", "op", op, OPS, "not a string")
        if op == "ping":
            return ok
        if op == "pause":
            self.paused = True
            return ok
        if op == "resume":
            if "until_round" in req:
                u = req["until_round"]
                if not isinstance(u, int) or isinstance(u, bool) or u <= self.round_no:
                    return error_reply(reply, "invalid", "until_round", u,
                                       f"an integer > the current round ({self.round_no})")
                self.pause_at_round = u
            self.paused = False
            return ok
        if op == "stop":
            self.stop_requested = True
            self.paused = False
            self.ended = True
            return ok | {"stopped": True}
        if op == "list":
            return ok | {"sets": {s.kind: {"count": s.n, "parameters": list(s.params)} for s in self.sets}}
        if op not in ("get", "set"):
            return error_reply(reply, "invalid", "op", op, OPS, "unknown op")
        nodes_allowed = ", ".join(f"{s.kind}-0 .. {s.kind}-{max(s.n - 1, 0)}, {s.kind}-*" for s in self.sets)
        node = req.get("node")
        if not isinstance(node, str):
            return error_reply(reply, "invalid", "node", node, nodes_allowed,
                               "missing" if "node" not in req else "not a string")
        kind, dash, which = node.rpartition("-")
        s = next((x for x in self.sets if x.kind == kind), None) if dash else None
        if s is None or not (which == "*" or (which.isdigit() and which.isascii() and int(which) < s.n)):
            return error_reply(reply, "invalid", "node", node, nodes_allowed, "no such node")
        targets = range(s.n) if which == "*" else [int(which)]
        params_allowed = (", ".join(s.params) + f" (the settable parameters of {kind})") if s.params \
            else f"none ({kind} has no settable parameter)"
        param = req.get("param")
        if not isinstance(param, str) or param not in s.params:
            why = "missing" if "param" not in req else "not a string" if not isinstance(param, str) \
                else f"not a settable parameter of {kind}"
            return error_reply(reply, "invalid", "param", param, params_allowed, why)
        get, set_, check = s.params[param]
        if op == "get":
            vals = [float(get(i)) for i in targets]
            return ok | {"value": vals if which == "*" else vals[0]}

        def allowed_of(v: float) -> str:
            a = check(v) if check else ""
            return a.removeprefix("allowed: ") if a else "a number"

        value = req.get("value")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return error_reply(reply, "invalid", "value", value, "a number: " + allowed_of(math.nan),
                               "missing" if "value" not in req else "not a number")
        if check and check(float(value)):
            return error_reply(reply, "invalid", "value", value, allowed_of(float(value)),
                               f"out of range for {param}")
        for i in targets:
            set_(i, float(value))
        return ok | {"applied": len(targets)}

    def finish(self, status: str = "ok", sim_time_s: float | None = None) -> None:
        """Publish gaidt.end with every node's final state and the undelivered events; requests
        still pending (and any that arrive before close()) get "simulation ended"."""
        if sim_time_s is not None:
            self.sim_time_s = sim_time_s
        self.ended = True
        self.paused = False
        self.poll_commands()
        self._send(encode_snapshot(self.run_id, self.seq, self.round_no, self.sim_time_s, self._tables(False),
                                   self.events, wall_time_s=time.time(), topic="end", extra={"status": status}))
        self.events = []
        self.poll_commands()

    def close(self) -> None:
        """Close both sockets (replies already queued still leave, within 1 s)."""
        self.poll_commands()
        self._beat_stop.set()
        self._beat_thread.join(timeout=5)
        self.pub.close(1000)
        if self.cmd is not None:
            self.cmd.close(1000)
