"""Python publisher: lets an ns-3 script written with the `ns3` Python
bindings publish to the same bridge (same wire protocol as the C++ library).

ns-3's Python bindings cannot easily schedule Python callbacks, so a script
advances the simulation one twinning period at a time and calls round():

    pub = TwinPublisher(pub_endpoint, cmd_endpoint, run_id="my-run")
    sensors = pub.add_node_set("sensor", "dtmi:gaidt:IoTSensor;1", n=len(ues))
    sensors.column("tx_packets", "packets", lambda: tx_counts)   # one value per node
    sensors.parameter("report_period_s", get=..., set=...)
    pub.start(period_s=0.1, twinning_rate=0.8, seed=1)
    while t < stop:
        ns.Simulator.Stop(ns.Seconds(0.1)); ns.Simulator.Run(); t += 0.1
        pub.round(sim_time_s=t)          # publish + poll commands, never blocks
    pub.finish("ok")
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import zmq

from .protocol import NodeTable, encode_control, encode_snapshot


@dataclass
class PyNodeSet:
    kind: str
    model: str
    n: int
    sampled: bool = True
    columns: list = field(default_factory=list)  # (name, unit, fn -> sequence of n floats)
    params: dict = field(default_factory=dict)  # name -> (get(i), set(i, v), check(v) -> str)

    def column(self, name: str, unit: str, values: Callable[[], Sequence[float]]) -> "PyNodeSet":
        self.columns.append((name, unit, values))
        return self

    def parameter(self, name: str, get: Callable[[int], float], set: Callable[[int, float], None],  # noqa: A002
                  check: Callable[[float], str] | None = None) -> "PyNodeSet":
        self.params[name] = (get, set, check)
        return self


class TwinPublisher:
    def __init__(self, pub_endpoint: str, cmd_endpoint: str | None, run_id: str):
        self.run_id = run_id
        self.ctx = zmq.Context.instance()
        self.pub = self.ctx.socket(zmq.XPUB)
        self.pub.setsockopt(zmq.LINGER, 1000)
        self.pub.bind(pub_endpoint)
        self.cmd = None
        if cmd_endpoint:
            self.cmd = self.ctx.socket(zmq.ROUTER)
            self.cmd.setsockopt(zmq.LINGER, 0)
            self.cmd.bind(cmd_endpoint)
        self.sets: list[PyNodeSet] = []
        self.seq = 0
        self.round_no = 0
        self.rate = 1.0
        self.rng = np.random.default_rng(1)
        self.events: list = []
        self.stop_requested = False
        self.paused = False

    def add_node_set(self, kind: str, model: str, n: int, sampled: bool = True) -> PyNodeSet:
        s = PyNodeSet(kind, model, n, sampled)
        self.sets.append(s)
        return s

    def add_event(self, type_: str, node: str, sim_time_s: float, detail=None) -> None:
        self.events.append({"type": type_, "node": node, "sim_time_s": sim_time_s, "detail": detail})

    def _send(self, frames) -> None:
        self.pub.send_multipart(frames)
        self.seq += 1

    def start(self, period_s: float, twinning_rate: float, seed: int, subscriber_wait_s: float = 5.0,
              static: dict | None = None) -> None:
        self.rate = twinning_rate
        self.rng = np.random.default_rng(seed)
        if self.pub.poll(int(subscriber_wait_s * 1000)):  # a subscription arrived (XPUB)
            self.pub.recv()
        sets = [{"kind": s.kind, "model": s.model, "total": s.n, "sampled": s.sampled,
                 "columns": [{"name": c[0], "unit": c[1]} for c in s.columns], "parameters": list(s.params)}
                for s in self.sets]
        self._send(encode_control("hello", {"run_id": self.run_id, "seq": self.seq, "period_s": period_s,
                                            "twinning_rate": twinning_rate, "sets": sets, "static": static or {}}))

    def round(self, sim_time_s: float) -> None:
        """Publish one snapshot, then handle pending commands without blocking."""
        self.round_no += 1
        tables = []
        for s in self.sets:
            idx = np.arange(s.n, dtype=np.uint32)
            if s.sampled and self.rate < 1.0:
                k = int(round(self.rate * s.n))
                idx = np.sort(self.rng.choice(s.n, size=k, replace=False).astype(np.uint32))
            cols = np.column_stack([np.asarray(fn(), dtype=np.float64)[idx] for _, _, fn in s.columns]) \
                if s.columns else np.empty((len(idx), 0))
            tables.append(NodeTable(s.kind, s.model, s.n, idx, [c[0] for c in s.columns],
                                    [c[1] for c in s.columns], cols))
        self._send(encode_snapshot(self.run_id, self.seq, self.round_no, sim_time_s, tables, self.events,
                                   wall_time_s=time.time()))
        self.events = []
        self.poll_commands()
        t0 = time.monotonic()
        while self.paused and time.monotonic() - t0 < 300:
            if self.cmd is None or not self.cmd.poll(100):
                continue
            self.poll_commands()
        self.paused = False

    def poll_commands(self) -> None:
        while self.pub.poll(0):
            self.pub.recv()  # subscription messages
        if self.cmd is None:
            return
        while self.cmd.poll(0):
            frames = self.cmd.recv_multipart()
            try:
                reply = self._handle(json.loads(frames[-1]))
            except (json.JSONDecodeError, TypeError, ValueError) as e:
                reply = {"ok": False, "error": f"malformed command: {e}"}
            reply.update(round=self.round_no)
            self.cmd.send_multipart(frames[:-1] + [json.dumps(reply).encode()])

    def _handle(self, req: dict) -> dict:
        reply = {"ok": True, "id": req.get("id")}
        op = req.get("op")
        if op in ("ping",):
            return reply
        if op in ("pause", "resume"):
            self.paused = op == "pause"
            return reply
        if op == "stop":
            self.stop_requested = True
            return reply | {"stopped": True}
        if op not in ("get", "set"):
            return {"ok": False, "id": req.get("id"), "error": f"unknown op '{op}'"}
        kind, _, which = str(req.get("node", "")).rpartition("-")
        s = next((x for x in self.sets if x.kind == kind), None)
        if s is None or req.get("param") not in s.params:
            return {"ok": False, "id": req.get("id"), "error": f"unknown node or parameter: {req}"}
        get, set_, check = s.params[req["param"]]
        targets = range(s.n) if which == "*" else [int(which)]
        if op == "get":
            vals = [get(i) for i in targets]
            return reply | {"value": vals if which == "*" else vals[0]}
        value = float(req["value"])
        if check and (err := check(value)):
            return {"ok": False, "id": req.get("id"), "error": err}
        for i in targets:
            set_(i, value)
        return reply | {"applied": len(targets)}

    def finish(self, status: str = "ok", sim_time_s: float = 0.0) -> None:
        self._send(encode_control("end", {"run_id": self.run_id, "seq": self.seq, "round": self.round_no,
                                          "sim_time_s": sim_time_s, "status": status}))

    def close(self) -> None:
        self.pub.close(1000)
        if self.cmd is not None:
            self.cmd.close(0)
