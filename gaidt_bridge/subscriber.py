"""Subscriber: keeps a TwinGraph and a HistoryStore up to date from the bridge.

Every receive has a timeout; gaps in sequence numbers are counted; malformed,
truncated, foreign or out-of-order messages are counted and dropped.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import zmq

from .errors import RunError
from .history import HistoryStore
from .protocol import BEAT_TOPIC, BadFrame, Message, decode
from .twin_graph import TwinGraph


class BridgeError(RunError, RuntimeError):
    """The physical twin went away or stopped answering."""


@dataclass
class SubscriberStats:
    """What a Subscriber saw: messages, snapshots, sequence gaps, bad frames, the hello header and the first
    errors."""
    messages: int = 0
    snapshots: int = 0
    truth_snapshots: int = 0
    gaps: int = 0  # messages missed between two received ones (sequence gaps)
    missed_before_start: int = 0  # seq of the first message seen (late start)
    bad_frames: int = 0
    out_of_order: int = 0
    foreign: int = 0  # messages of another run_id
    updates: int = 0  # node-attribute updates applied into the graph
    beats: int = 0  # liveness beats (topic gaidt-beat) received
    first_seq: int | None = None
    last_seq: int | None = None
    hello: dict | None = None
    end: dict | None = None
    errors: list = field(default_factory=list)

    def as_dict(self) -> dict:
        """The counters as a plain dict (at most 20 errors), for result.json."""
        return {k: v for k, v in self.__dict__.items() if k != "errors"} | {"errors": self.errors[:20]}


class Subscriber:
    """SUB side of the bridge. Connects (the physical twin binds)."""

    def __init__(self, endpoint: str, graph: TwinGraph | None = None, store: HistoryStore | None = None,
                 run_id: str | None = None, context: zmq.Context | None = None):
        self.endpoint = endpoint
        self.graph = graph if graph is not None else TwinGraph()
        self.store = store
        self.run_id = run_id
        self.stats = SubscriberStats()
        self.keep_truth = False
        self.truth: dict[int, Message] = {}  # round -> gaidt.truth message (evaluation runs only)
        self.final: Message | None = None  # gaidt.end: every node's final state (not applied to the graph)
        self._ctx = context or zmq.Context.instance()
        self.sock = self._ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, 10000)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"gaidt.")
        self.sock.setsockopt(zmq.SUBSCRIBE, BEAT_TOPIC)
        self.last_heard: float | None = None  # time.monotonic() of the last frame of any topic, beats included
        self.sock.connect(endpoint)
        self._poller = zmq.Poller()
        self._poller.register(self.sock, zmq.POLLIN)

    def close(self) -> None:
        """Close the subscription socket (pending messages are dropped)."""
        self.sock.close(0)

    def pending(self) -> bool:
        """True if a frame (of any topic) is waiting to be read: the publisher is not silent, we are behind."""
        return bool(self._poller.poll(0))

    def poll(self, timeout_s: float) -> Message | None:
        """Wait at most timeout_s for one message; apply it; return it (None on timeout or drop)."""
        if not self._poller.poll(int(timeout_s * 1000)):
            return None
        frames = self.sock.recv_multipart(copy=True)
        self.last_heard = time.monotonic()
        if frames and frames[0] == BEAT_TOPIC:
            self.stats.beats += 1  # liveness only: no seq, never applied (PROTOCOL.md, "Liveness")
            return None
        return self.handle(frames)

    def handle(self, frames: list[bytes]) -> Message | None:
        """Decode and apply one multipart message (twin graph, history store, counters); returns the Message, or
        None for a dropped one (bad frame, repeat, other run)."""
        st = self.stats
        try:
            msg = decode(frames)
        except BadFrame as e:
            st.bad_frames += 1
            st.errors.append(str(e))
            return None
        if self.run_id is not None and msg.run_id != self.run_id:
            st.foreign += 1
            return None
        if msg.topic == "hello" and st.hello is not None and msg.seq == st.hello.get("seq"):
            return None  # a held run repeats its hello until resumed (PROTOCOL.md, "Hold")
        if st.last_seq is not None and msg.seq <= st.last_seq:
            st.out_of_order += 1
            return None
        if st.last_seq is None:
            st.first_seq = msg.seq
            st.missed_before_start = msg.seq
            if self.run_id is None:
                self.run_id = msg.run_id
        else:
            st.gaps += msg.seq - st.last_seq - 1
        st.last_seq = msg.seq
        st.messages += 1
        if msg.topic == "hello":
            st.hello = msg.header
            if self.store is not None:
                self.store.begin_run(msg.run_id, msg.header.get("static"))
        elif msg.topic == "snap":
            st.snapshots += 1
            st.updates += self.graph.apply_snapshot(msg)
            if self.store is not None:
                self.store.append(msg)
        elif msg.topic == "truth":
            st.truth_snapshots += 1
            if self.keep_truth:
                self.truth[int(msg.header["round"])] = msg
        elif msg.topic == "end":
            st.end = msg.header
            self.final = msg
            self.graph.apply_events(msg.header.get("events", []))
            if self.store is not None:
                self.store.end_run(msg.header.get("status", "?"), st.gaps, st.bad_frames)
        return msg

    def drain(self, timeout_s: float = 0.2) -> None:
        """Apply whatever is already queued (after the end of a run)."""
        while self.poll(timeout_s) is not None or self._poller.poll(0):
            pass


class CommandClient:
    """DEALER side of the command channel (the paper's Telemetry API).

    Commands are applied at the next twinning round; each call waits at most
    timeout_s for the reply and raises BridgeError otherwise.
    """

    def __init__(self, endpoint: str, timeout_s: float = 30.0, context: zmq.Context | None = None):
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._ctx = context or zmq.Context.instance()
        self.sock = self._ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def close(self) -> None:
        """Close the command socket."""
        self.sock.close(0)

    def request(self, op: str, timeout_s: float | None = None, **fields) -> dict:
        """Send one request (op and its fields, PROTOCOL.md) and wait for its reply; raises BridgeError when none
        comes within timeout_s."""
        req_id = uuid.uuid4().hex[:12]
        self.sock.send_multipart([b"", json.dumps({"id": req_id, "op": op, **fields}).encode()])
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.timeout_s)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                raise BridgeError(f"no reply to '{op}' from {self.endpoint} within "
                                  f"{timeout_s if timeout_s is not None else self.timeout_s:.0f} s")
            frames = self.sock.recv_multipart()
            try:
                reply = json.loads(frames[-1])
            except json.JSONDecodeError:
                continue
            if reply.get("id") == req_id:
                return reply

    def send_nowait(self, op: str, **fields) -> None:
        """Send a command without waiting: it is applied at the simulation's next twinning
        round, and its reply is collected later by drain()."""
        self.sock.send_multipart([b"", json.dumps({"op": op, **fields}).encode()])

    def drain(self) -> list[dict]:
        """The replies that have arrived, without waiting."""
        replies = []
        while self.sock.poll(0):
            try:
                replies.append(json.loads(self.sock.recv_multipart()[-1]))
            except json.JSONDecodeError:
                continue
        return replies

    def get(self, node: str, param: str, **kw):
        """The current value of node's parameter (e.g. get('sensor-3', 'report_period_s'))."""
        return self._checked(self.request("get", node=node, param=param, **kw))["value"]

    def set(self, node: str, param: str, value: float, **kw) -> dict:
        """Set node's parameter to value (node may be 'kind-*'); returns the reply, raises BridgeError if
        refused."""
        return self._checked(self.request("set", node=node, param=param, value=value, **kw))

    def pause(self, **kw) -> dict:
        """Pause the simulation after the current round; returns the reply."""
        return self._checked(self.request("pause", **kw))

    def resume(self, until_round: int | None = None, **kw) -> dict:
        """Resume (or release a held start); with until_round, pause again after that round's snapshot."""
        fields = {} if until_round is None else {"until_round": int(until_round)}
        return self._checked(self.request("resume", **fields, **kw))

    def stop(self, **kw) -> dict:
        """Stop the simulation (it ends with an end message); returns the reply."""
        return self._checked(self.request("stop", **kw))

    @staticmethod
    def _checked(reply: dict) -> dict:
        if not reply.get("ok"):
            raise BridgeError(reply.get("error", "command refused"))
        return reply
