"""A running simulation for the Explorer: the bridge's rounds as they arrive (the last LIVE_ROUNDS_KEPT kept),
pushed to listeners, and commands (values parsed, replies bounded in time) forwarded to the bridge."""

import json
import math
import re
import threading
import time

import numpy as np

from gaidt_bridge.subscriber import BridgeError, CommandClient, Subscriber

from .run_data import ExploreError, KindState, RoundState, _split_node_id, dtdl_units

LIVE_ROUNDS_KEPT = 600  # live mode keeps this many received rounds for the scrubber (~100 MB at 1000 sensors)


# ---------------------------------------------------------------- live runs
class LiveRun:
    """Follows a running simulation over the bridge: a SUB on the PUB endpoint, a DEALER on the
    command endpoint. Received rounds are kept in memory (the last LIVE_ROUNDS_KEPT) and pushed to
    every server-sent-event listener as they arrive."""

    def __init__(self, pub_endpoint: str, cmd_endpoint: str, command_timeout_s: float = 30.0):
        for name, ep in (("--bridge-pub", pub_endpoint), ("--bridge-cmd", cmd_endpoint)):
            if not isinstance(ep, str) or not ep.startswith(("ipc://", "tcp://", "inproc://")):
                raise ExploreError(f"{name} = {ep!r}: expected a ZeroMQ endpoint (ipc://PATH or tcp://HOST:PORT)")
        self.pub_endpoint, self.cmd_endpoint = pub_endpoint, cmd_endpoint
        self.command_timeout_s = command_timeout_s
        self.states: dict[int, RoundState] = {}
        self.order: list[int] = []
        self.run_id = None
        self.hello = None
        self.end = None
        self.totals: dict[str, int] = {}
        self._cur: dict[str, dict] = {}  # kind -> {"synced": {idx: round}, "rows": {idx: np.ndarray}, "columns"}
        self._listed: dict[str, list] = {}  # kind -> parameters, from `list` when hello was missed
        self._listeners: set = set()
        self._lock = threading.Lock()
        self._cmd_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._client = None
        self._sub = None

    # ---- the receiving thread
    def start(self) -> None:
        """Connect to both endpoints and start receiving (a daemon thread)."""
        self._sub = Subscriber(self.pub_endpoint)
        self._client = CommandClient(self.cmd_endpoint, timeout_s=self.command_timeout_s)
        self._thread = threading.Thread(target=self._run, name="explore-live", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening to the bridge and close its sockets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sub is not None:
            self._sub.close()
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        t0, asked = time.monotonic(), False
        while not self._stop.is_set():
            msg = self._sub.poll(0.2)
            if not asked and self.hello is None and time.monotonic() - t0 > 1.0:
                asked = True  # a late joiner missed hello: ask the bridge which parameters it takes
                self._list_parameters()
            if msg is None:
                continue
            self.run_id = self._sub.run_id
            if msg.topic == "hello":
                self.hello = msg.header
                self._publish("hello", {"run_id": msg.run_id, "header": msg.header})
            elif msg.topic == "snap":
                st = self._apply(msg)
                self._publish("round", st.to_json() | {"run_id": msg.run_id})
            elif msg.topic == "end":
                self.end = msg.header
                self._publish("end", msg.header)

    def _list_parameters(self) -> None:
        """The settable parameters per kind from the bridge's `list` command (hello's, for a late joiner)."""
        with self._cmd_lock:
            try:
                reply = self._client.request("list", timeout_s=5.0)
            except BridgeError:
                return
        if reply.get("ok") and isinstance(reply.get("sets"), dict):
            self._listed = {k: list(v.get("parameters", [])) for k, v in reply["sets"].items()}
            self._publish("parameters", {"parameters": self._listed})

    def parameters(self) -> dict:
        """kind -> settable parameter names: hello's, else the bridge's `list` reply, else {}."""
        if self.hello is not None:
            return {st.get("kind"): list(st.get("parameters", [])) for st in self.hello.get("sets", [])}
        return dict(self._listed)

    def _apply(self, msg) -> RoundState:
        with self._lock:
            return self._apply_locked(msg)

    def _apply_locked(self, msg) -> RoundState:
        k, t = int(msg.header["round"]), float(msg.header["sim_time_s"])
        for h in msg.header.get("sets", []):
            self.totals[h["kind"]] = max(int(h.get("total", 0)), self.totals.get(h["kind"], 0))
        sets = {}
        for table in msg.tables:
            cur = self._cur.setdefault(table.kind, {"columns": list(table.columns), "synced": {}, "rows": {}})
            if cur["columns"] != list(table.columns):  # a publisher that changed its columns: start over
                cur.update(columns=list(table.columns), synced={}, rows={})
            for i, row in zip(table.index.tolist(), table.values):
                cur["synced"][i] = k
                cur["rows"][i] = row
        for kind, cur in self._cur.items():
            ids = np.array(sorted(cur["rows"]), dtype=np.int64)
            values = np.array([cur["rows"][i] for i in ids.tolist()], dtype=np.float64).reshape(
                len(ids), len(cur["columns"]))
            synced = np.array([cur["synced"][i] for i in ids.tolist()], dtype=np.int64)
            sets[kind] = KindState(ids, synced, cur["columns"], values)
        st = RoundState(k, t, sets)
        if k not in self.states:
            self.order.append(k)
        self.states[k] = st
        while len(self.order) > LIVE_ROUNDS_KEPT:
            self.states.pop(self.order.pop(0), None)
        return st

    def _publish(self, event: str, data: dict) -> None:
        text = f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
        with self._lock:
            listeners = list(self._listeners)
        for loop, q in listeners:
            loop.call_soon_threadsafe(_offer, q, text)

    def listen(self, loop, q) -> None:
        """Register a page's queue (on its event loop) for new rounds."""
        with self._lock:
            self._listeners.add((loop, q))

    def unlisten(self, loop, q) -> None:
        """Unregister a page's queue."""
        with self._lock:
            self._listeners.discard((loop, q))

    # ---- queries (the same shapes as RunData)
    @property
    def rounds(self) -> list[int]:
        """The rounds received and kept, ascending."""
        with self._lock:
            return sorted(self.states)

    def state(self, k: int) -> RoundState:
        """The twin at a received round, as the bridge's snapshots left it."""
        with self._lock:
            st = self.states.get(k)
        if st is None:
            rs = self.rounds
            span = f"{rs[0]}..{rs[-1]}" if rs else "none yet"
            raise ExploreError(f"round = {k}: not received (or no longer kept); received rounds: {span}")
        return st

    def history(self, node_id: str, attr: str) -> dict:
        """The node's values of one attribute in the kept rounds it was transferred in."""
        kind, idx = _split_node_id(node_id)
        with self._lock:
            cur = self._cur.get(kind)
            columns = list(cur["columns"]) if cur else []
            states = [self.states[k] for k in sorted(self.states)]
        if cur is None or idx < 0:
            raise ExploreError(f"node = {node_id!r}: unknown; expected sensor-<i> or gateway-<j> of this run")
        if attr not in columns:
            raise ExploreError(f"attr = {attr!r}: not an attribute of {kind}s; allowed: {', '.join(columns)}")
        rounds, values = [], []
        for st in states:
            n = st.node(node_id)
            if n and n["fresh"]:
                rounds.append(st.round)
                values.append(n["state"].get(attr))
        return {"node": node_id, "attr": attr, "rounds": rounds, "values": values}

    def node(self, node_id: str, k: int | None) -> dict:
        """One node's state at a received round (no result.json or DTDL export while live)."""
        kind, idx = _split_node_id(node_id)
        if kind not in ("sensor", "gateway") or idx < 0:
            raise ExploreError(f"node = {node_id!r}: expected sensor-<i> or gateway-<j>")
        out = {"node": node_id, "kind": kind, "round": k, "result": None, "dtdl": None}
        if k is not None:
            n = self.state(k).node(node_id)
            if n:
                out.update(n)
        return out

    def summary(self) -> dict:
        """The live run so far, in RunData.summary's shape (no KPIs or final attributes yet)."""
        with self._lock:
            rs = sorted(self.states)
            times = [self.states[k].sim_time_s for k in rs]
            columns = {k: list(c["columns"]) for k, c in self._cur.items()}
        return {"mode": "live", "run_id": self.run_id, "name": (self.hello or {}).get("static", {}).get("scenario"),
                "rounds": rs, "sim_times_s": times, "rounds_kept": LIVE_ROUNDS_KEPT, "totals_nodes": self.totals,
                "end": self.end,
                "pub_endpoint": self.pub_endpoint, "cmd_endpoint": self.cmd_endpoint,
                "round_columns": columns, "units": dtdl_units(None),
                "kpis": {}, "gateways": [], "sensors_final": None,
                "parameters": self.parameters()}

    def _check_target(self, fields: dict) -> str:
        """"" if node and param name a settable parameter of the run (as its hello lists them), else why not."""
        node, param = fields.get("node"), fields.get("param")
        kind, _, which = node.rpartition("-") if isinstance(node, str) and len(node) <= 64 else ("", "", "")
        if not kind or not (which == "*" or (which.isascii() and which.isdigit())):
            return f"node = {_shown(node)}: expected sensor-<i>, gateway-<j> or <kind>-*"
        params = {s.get("kind"): s.get("parameters", []) for s in (self.hello or {}).get("sets", [])
                  if isinstance(s, dict)}
        if params and kind not in params:
            return f"node = {_shown(node)}: no such kind; allowed: {', '.join(sorted(map(str, params)))}"
        if not isinstance(param, str) or (params and param not in params[kind]):
            allowed = ", ".join(map(str, params.get(kind, []))) or "a settable parameter's name"
            return f"param = {_shown(param)}: not a settable parameter of {kind}; allowed: {allowed}"
        return ""

    def command(self, req: dict) -> dict:
        """Forward one command to the bridge and return its reply (or an error reply)."""
        allowed = ("ping", "list", "get", "set", "pause", "resume", "stop")
        op = req.get("op")
        if op not in allowed:
            return {"ok": False, "error": f"op = {op!r}: allowed: {', '.join(allowed)}"}
        if self.end is not None:  # nobody is listening on the command socket any more
            return {"ok": False, "op": op, "error": f"the run has ended (status {self.end.get('status')!r} at round "
                                                 f"{self.end.get('round')}); no simulation to command"}
        fields = {k: req[k] for k in ("node", "param", "value") if k in req}
        if op in ("get", "set"):
            problem = self._check_target(fields)
            if problem:
                return {"ok": False, "op": op, "error": problem}
        if op == "set":
            value = command_value(fields.get("value"))
            if value is None:
                return {"ok": False, "op": op, "error": f"value = {_shown(fields.get('value'))}: expected a finite "
                                                        "number (e.g. 0.5; not NaN, Infinity or true)"}
            fields["value"] = value
        t0 = time.time()
        # one DEALER socket, used by one thread at a time; nobody waits behind a silent bridge for long
        if not self._cmd_lock.acquire(timeout=COMMAND_REPLY_S):
            return {"ok": False, "op": op, "error": f"another command is waiting for the bridge; try again "
                                                    f"(no reply within {COMMAND_REPLY_S:g} s)"}
        try:
            reply = self._client.request(op, timeout_s=COMMAND_REPLY_S, **fields)
        except BridgeError:
            reply = {"ok": False, "pending": True,
                     "error": f"no reply from the bridge within {COMMAND_REPLY_S:g} s: it answers at its next "
                              "round, so the command may still apply; the snapshots will show it"}
        finally:
            self._cmd_lock.release()
        reply["sent_wall_s"], reply["reply_wall_s"] = t0, time.time()
        reply["op"] = op
        return reply


COMMAND_REPLY_S = 1.0  # the command route answers within this, bridge reply or not


_NUMBER = re.compile(r"^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _shown(value) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def command_value(value) -> float | None:
    """A set command's value as a finite float: a JSON number, or a string holding a plain decimal number (the
    page's input field); None for anything else (NaN, Infinity, 1e400, true, "abc", lists ...)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if len(value) > 64 or not _NUMBER.match(value):
            return None
        value = float(value)
    if not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _offer(q, text: str) -> None:
    if q.full():  # a listener that does not read: drop its oldest event, never block the feed
        q.get_nowait()
    q.put_nowait(text)
