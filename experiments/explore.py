"""Twin Explorer: a local web page to see a run's twin (issue 17).

  run.py explore DIR [--port P]                 a finished run (result.json, history.sqlite, twin.dtdl.json)
  run.py explore --live --bridge-pub EP --bridge-cmd EP [--port P]
                                                a running simulation (gaidt_bridge/PROTOCOL.md)

The page (experiments/explorer/, plain HTML/JS/SVG, no build step) shows the city map (gateways,
sensors coloured by a chosen attribute, links to their gateway), a round scrubber over the stored
or received rounds (sensors not synced in that round are marked stale), a property inspector, the
run's KPIs and per-gateway load and, live, a command panel (pause / resume / set / stop).

HTTP API (JSON; every /api route needs the token when one is set):
  GET  /api/run                 run summary: mode, rounds, KPIs, per-gateway load, final per-sensor
                                attributes (result.json), colour attributes, DTDL units
  GET  /api/round/<k>[?columns=a,b]  the twin at round k (see RoundState.to_json), all attributes
                                or only those named
  GET  /api/node/<id>?round=k   one node: its state at round k, result.json entry, DTDL twin
  GET  /api/node/<id>/history?attr=NAME   the node's synced values of one attribute over rounds
  GET  /api/live                live only: server-sent events `round` (a round's twin), `end`
  POST /api/command             live only: {"op": "pause"|"resume"|"stop"|"set"|"get"|"ping", ...}
                                forwarded to the bridge's command socket; the reply as JSON

Binds 127.0.0.1 unless --host names another address, which needs --token (every /api request
must then carry it as `?token=` or `Authorization: Bearer`).
"""

import asyncio
import hmac
import json
import math
import re
import socket
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaidt.errors import UsageError
from gaidt_bridge.node_ids import node_index, parse_node_id
from gaidt_bridge.subscriber import BridgeError, CommandClient, Subscriber
from gaidt_bridge.twin_graph import dtdl_interfaces

STATIC_DIR = Path(__file__).resolve().parent / "explorer"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
LIVE_ROUNDS_KEPT = 600  # live mode keeps this many received rounds for the scrubber (~100 MB at 1000 sensors)
_KEY_COLS = ("run_id", "round", "sim_time_s", "node", "kind")
RUN_FILES = ("result.json", "history.sqlite", "twin.dtdl.json")  # what a run folder holds (run.py scenario/record)

__all__ = ["ExploreError", "LiveRun", "RoundState", "RunData", "cli", "create_app", "serve"]


def _split_node_id(node_id: str) -> tuple[str, int]:
    """(kind, index) of a twin id from a request; ("", -1) when it is not one."""
    try:
        return parse_node_id(node_id)
    except ValueError:
        return "", -1


class ExploreError(UsageError):
    """A usage or input error: one line naming the field, the value and what is allowed (exit 2)."""


@dataclass
class KindState:
    """One node kind's twin at a round: every known node, its last synced row."""

    ids: np.ndarray  # int, node indices, ascending
    synced_round: np.ndarray  # int, round of each node's last transfer (-1: never synced yet)
    columns: list[str]
    values: np.ndarray  # float64 (nodes, columns); NaN where never synced


@dataclass
class RoundState:
    """The twin at one round (what GET /api/round/<k> returns)."""

    round: int
    sim_time_s: float
    sets: dict  # kind -> KindState

    def to_json(self, columns: list[str] | None = None) -> dict:
        """JSON form: {"round", "sim_time_s", "sets": {kind: {"ids", "synced_round", "fresh",
        "columns": {name: [value or null per node]}}}}; `fresh` is 1 for a node transferred in this
        round, 0 for a stale one (its values are from round synced_round). columns: only these
        attributes (each kind keeps those it has); None: all."""
        if columns is not None:
            known = {c for ks in self.sets.values() for c in ks.columns}
            unknown = [c for c in columns if c not in known]
            if unknown:
                raise ExploreError(f"columns = {','.join(unknown)}: no such attribute; "
                                   f"allowed: {', '.join(sorted(known))}")
        sets = {}
        for kind, ks in self.sets.items():
            cols = {}
            for j, name in enumerate(ks.columns):
                if columns is not None and name not in columns:
                    continue
                col = ks.values[:, j]
                cols[name] = [None if math.isnan(v) else v for v in col.tolist()]
            sets[kind] = {"ids": ks.ids.tolist(), "synced_round": ks.synced_round.tolist(),
                          "fresh": (ks.synced_round == self.round).astype(int).tolist(), "columns": cols}
        return {"round": self.round, "sim_time_s": self.sim_time_s, "sets": sets}

    def node(self, node_id: str) -> dict | None:
        """One node's row (state, synced_round, fresh), or None if it is not known at this round."""
        kind, idx = _split_node_id(node_id)
        ks = self.sets.get(kind)
        if ks is None or idx < 0:
            return None
        pos = np.searchsorted(ks.ids, idx)
        if pos >= len(ks.ids) or ks.ids[pos] != idx:
            return None
        row = ks.values[pos]
        return {"synced_round": int(ks.synced_round[pos]), "fresh": bool(ks.synced_round[pos] == self.round),
                "state": {c: (None if math.isnan(v) else v) for c, v in zip(ks.columns, row.tolist())}}


# ---------------------------------------------------------------- finished runs
def _load_json(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ExploreError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}); expected {what}") from None
    except UnicodeDecodeError as e:
        raise ExploreError(f"{path}: not UTF-8 text (byte {e.start}); expected {what}") from None
    except RecursionError:
        raise ExploreError(f"{path}: nested too deep to read; expected {what}") from None
    except OSError as e:
        raise ExploreError(f"{path}: cannot read ({e.strerror or e}); expected {what}") from None


# what RunData reads of result.json and twin.dtdl.json: key -> the JSON types it must have when present
_RESULT_SHAPE = {"sensors": (list,), "gateways": (list,), "kpis": (dict,), "totals": (dict,), "run": (dict,),
                 "twin": (dict, type(None)), "duration_s": (int, float, type(None))}
_RESULT_ENTRY_SHAPE = {"id": (int,), "attached_gateway": (int, float), "rx_packets": (int, float),
                       "tx_packets": (int, float), "rx_bytes": (int, float)}
_DTDL_SHAPE = {"twins": (list,), "models": (list,)}


_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", int: "an integer", float: "a number",
               bool: "a boolean", type(None): "null"}


def _json_type(value) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _check_shape(doc, path: Path, shape: dict, entries: tuple = (), entry_shape: dict | None = None) -> None:
    """ExploreError naming the file and the first key whose value has the wrong JSON type."""
    if not isinstance(doc, dict):
        raise ExploreError(f"{path}: {_json_type(doc)}; expected a JSON object")
    for key, types in shape.items():
        if key in doc and (not isinstance(doc[key], types) or isinstance(doc[key], bool)):
            raise ExploreError(f"{path}: '{key}' is {_json_type(doc[key])}; expected "
                               f"{' or '.join(_JSON_NAMES[t] for t in types)}")
    for key in entries:
        for i, entry in enumerate(doc.get(key) or []):
            if not isinstance(entry, dict):
                raise ExploreError(f"{path}: '{key}[{i}]' is {_json_type(entry)}; expected an object")
            for k, types in (entry_shape or {}).items():
                if k in entry and (not isinstance(entry[k], types) or isinstance(entry[k], bool)):
                    raise ExploreError(f"{path}: '{key}[{i}].{k}' = {json.dumps(entry[k])[:40]}; expected "
                                       f"{' or '.join(_JSON_NAMES[t] for t in types)}")


def _numeric(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def sensor_status(s: dict) -> str:
    """A sensor's status: result.json's `status` when present, else derived from its fields:
    unreachable (never attached), served (result.json `served`), starved (attached, not served);
    "attached" when nothing says whether it was served, "unknown" when nothing says whether it attached
    (a recording of your own scenario)."""
    if isinstance(s.get("status"), str):
        return s["status"]
    if "attached" not in s and "attached_gateway" not in s:
        return "unknown"
    if not s.get("attached", s.get("attached_gateway", -1) >= 0) or s.get("attached_gateway", -1) < 0:
        return "unreachable"
    if "served" not in s:
        return "attached"
    return "served" if s.get("served") else "starved"


def final_sensor_table(result: dict) -> dict:
    """Per-sensor final attributes of result.json, columnar: ids, status, and every numeric field
    (plus goodput_bps = 8 rx_bytes / duration_s, delivery_ratio, and the numeric leaves of an
    `energy` object); latencies of a sensor with no delivered packet are null."""
    sensors = sorted(result.get("sensors", []), key=lambda s: s.get("id", 0))
    duration = float(result.get("duration_s") or 0) or None
    rows = []
    for s in sensors:
        row = {k: v for k, v in s.items() if _numeric(v)}
        for k, v in s.items():
            if isinstance(v, dict) and "energy" in k:  # e.g. {"energy": {"consumed_j": ..}}
                row.update({f"{k}.{kk}": vv for kk, vv in v.items() if _numeric(vv)})
        if duration and _numeric(s.get("rx_bytes")):
            row["goodput_bps"] = 8.0 * s["rx_bytes"] / duration
        if _numeric(s.get("tx_packets")) and s["tx_packets"] > 0 and _numeric(s.get("rx_packets")):
            row["delivery_ratio"] = s["rx_packets"] / s["tx_packets"]
        if s.get("rx_packets") == 0:  # a latency over no delivered packet is undefined, not 0 ms
            for k in [k for k in row if k.startswith("latency")]:
                row[k] = None
        rows.append(row)
    names = sorted({k for r in rows for k in r} - {"id"})
    return {"ids": [int(s.get("id", i)) for i, s in enumerate(sensors)],
            "status": [sensor_status(s) for s in sensors],
            "status_source": "result" if any(isinstance(s.get("status"), str) for s in sensors) else "derived",
            "columns": {n: [r.get(n) for r in rows] for n in names}}


class RunData:
    """A finished run's folder, indexed for fast per-round replay.

    At load, every stored node row of history.sqlite is read once; the twin at round k is then,
    per node, its latest row with round <= k (HistoryStore.window's rule), found by one lookup
    in a (rounds x nodes) table of row positions.
    """

    def __init__(self, run_dir: str | Path):
        self._reading = Path(run_dir)
        try:
            self._load(run_dir)
        except ExploreError:
            raise
        except Exception as e:  # noqa: BLE001 -- a damaged folder is one line naming the file, never a traceback
            raise ExploreError(f"{self._reading}: damaged ({type(e).__name__}: {' '.join(str(e).split())[:160]}); "
                               "expected a finished run's folder (run.py scenario --out DIR)") from None

    def _load(self, run_dir: str | Path) -> None:
        d = Path(run_dir)
        if not d.is_dir():
            raise ExploreError(f"DIR = {str(d)!r}: no such folder; expected a run folder (run.py scenario --out DIR)")
        self.dir = d
        rp = d / "result.json"
        present = [n for n in RUN_FILES if (d / n).exists()]
        if not present:
            raise ExploreError(f"DIR = {str(d)!r}: none of {', '.join(RUN_FILES)}; expected a run's folder "
                               "(run.py scenario --out DIR, or run.py record ... --out DIR for your own scenario)")
        # a folder lacking parts is shown with what it has; `missing` names the rest (summary, page, CLI)
        self.missing = [n for n in RUN_FILES if n not in present]
        self._reading = rp
        self.result = _load_json(rp, "a gaidt-result/1 document") if rp.exists() else {}
        if not isinstance(self.result, dict) or (rp.exists() and "sensors" not in self.result):
            raise ExploreError(f"{rp}: lacks 'sensors'; expected a gaidt-result/1 document")
        if rp.exists():
            _check_shape(self.result, rp, _RESULT_SHAPE, ("sensors", "gateways"), _RESULT_ENTRY_SHAPE)
        dp = self._reading = d / "twin.dtdl.json"
        self.dtdl = _load_json(dp, "the ADT export of run.py scenario") if dp.exists() else None
        if self.dtdl is not None:
            _check_shape(self.dtdl, dp, _DTDL_SHAPE, ("twins", "models"))
        self._twins = {t.get("$dtId"): t for t in (self.dtdl or {}).get("twins", [])}
        self.run_id = None
        self.rounds: list[int] = []
        self.sim_times: list[float] = []
        self._kinds: dict = {}
        self._summary = None
        hp = self._reading = d / "history.sqlite"
        if hp.exists():
            self._load_history(hp)
        self._reading = rp
        self.summary()

    def _load_history(self, path: Path) -> None:
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                run = db.execute("SELECT run_id FROM runs ORDER BY created_wall_s DESC LIMIT 1").fetchone()
                if run is None:
                    return
                self.run_id = run[0]
                snaps = db.execute("SELECT round, sim_time_s FROM snapshots WHERE run_id=? ORDER BY round",
                                   (self.run_id,)).fetchall()
                self.rounds = [int(r) for r, _ in snaps]
                self.sim_times = [float(t) for _, t in snaps]
                cols = [r[1] for r in db.execute("PRAGMA table_info(node_state)")]
                attrs = [c for c in cols if c not in _KEY_COLS]
                sel = ",".join(f'"{c}"' for c in ("round", "node", "kind", *attrs))
                cur = db.execute(f"SELECT {sel} FROM node_state WHERE run_id=? ORDER BY round, node", (self.run_id,))
                rows = cur.fetchall()
            finally:
                db.close()
        except sqlite3.DatabaseError as e:
            raise ExploreError(f"{path}: not a readable history store ({e})") from None
        if not rows:
            return
        rnd = np.array([r[0] for r in rows], dtype=np.int64)
        kinds = np.array([r[2] for r in rows])
        node_idx = np.array([node_index(r[1]) for r in rows], dtype=np.int64)
        vals = np.array([[np.nan if v is None else v for v in r[3:]] for r in rows], dtype=np.float64)
        round_pos = {k: i for i, k in enumerate(self.rounds)}
        ri = np.array([round_pos.get(int(k), -1) for k in rnd], dtype=np.int64)
        for kind in sorted(set(kinds.tolist())):
            m = (kinds == kind) & (ri >= 0)
            kv = vals[m]
            keep = [j for j in range(len(attrs)) if not np.all(np.isnan(kv[:, j]))]  # columns of this kind
            ids = np.unique(node_idx[m])
            col_of = np.searchsorted(ids, node_idx[m])
            # rows are in round order, so a running max of row positions is each node's latest row <= k
            last = np.full((len(self.rounds), len(ids)), -1, dtype=np.int64)
            last[ri[m], col_of] = np.arange(int(m.sum()))
            last = np.maximum.accumulate(last, axis=0)
            self._kinds[kind] = {"ids": ids, "columns": [attrs[j] for j in keep], "values": kv[:, keep],
                                 "round": rnd[m], "node": node_idx[m], "last": last}

    # ---- queries
    def round_index(self, k: int) -> int:
        """Position of round k among the stored rounds; ExploreError if it is not one."""
        pos = int(np.searchsorted(self.rounds, k)) if self.rounds else 0
        if pos >= len(self.rounds) or self.rounds[pos] != k:
            span = f"{self.rounds[0]}..{self.rounds[-1]}" if self.rounds else "none (no history.sqlite)"
            raise ExploreError(f"round = {k}: not a stored round; stored rounds: {span}")
        return pos

    def state(self, k: int) -> RoundState:
        """The twin at round k: every node's latest synced row with round <= k."""
        i = self.round_index(k)
        sets = {}
        for kind, kd in self._kinds.items():
            pos = kd["last"][i]
            known = pos >= 0
            values = np.full((len(pos), len(kd["columns"])), np.nan)
            values[known] = kd["values"][pos[known]]
            synced = np.where(known, kd["round"][np.where(known, pos, 0)], -1)
            sets[kind] = KindState(kd["ids"], synced, kd["columns"], values)
        return RoundState(k, self.sim_times[i], sets)

    def history(self, node_id: str, attr: str) -> dict:
        """The node's synced values of one attribute, per round it was transferred in."""
        kind, idx = _split_node_id(node_id)
        kd = self._kinds.get(kind)
        if kd is None or idx < 0:
            raise ExploreError(f"node = {node_id!r}: unknown; expected sensor-<i> or gateway-<j> of this run")
        if attr not in kd["columns"]:
            raise ExploreError(f"attr = {attr!r}: not an attribute of {kind}s; allowed: {', '.join(kd['columns'])}")
        m = kd["node"] == idx
        j = kd["columns"].index(attr)
        vals = kd["values"][m, j]
        return {"node": node_id, "attr": attr, "rounds": kd["round"][m].tolist(),
                "values": [None if math.isnan(v) else v for v in vals.tolist()]}

    def node(self, node_id: str, k: int | None) -> dict:
        """One node: its state at round k (state, synced_round, fresh), its result.json entry
        (with status) and its DTDL twin from twin.dtdl.json (None where absent)."""
        kind, idx = _split_node_id(node_id)
        if kind not in ("sensor", "gateway") or idx < 0:
            raise ExploreError(f"node = {node_id!r}: expected sensor-<i> or gateway-<j>")
        i = idx
        out = {"node": node_id, "kind": kind, "round": k}
        if k is not None and self.rounds:
            st = self.state(k).node(node_id)
            if st:
                out.update(st)
        entries = self.result.get("sensors" if kind == "sensor" else "gateways", [])
        out["result"] = next((e for e in entries if e.get("id") == i), None)
        if out["result"] is not None and kind == "sensor":
            out["result"] = {**out["result"], "status": sensor_status(out["result"])}
        out["dtdl"] = self._twins.get(node_id)
        if out["result"] is None and out["dtdl"] is None and "state" not in out:
            raise ExploreError(f"node = {node_id!r}: not in this run")
        return out

    def summary(self) -> dict:
        """What the page needs first: rounds, KPIs, per-gateway load, final per-sensor attributes,
        the attributes stored per kind, and DTDL descriptions (with units) per attribute."""
        if self._summary is None:  # a finished run does not change: build it once
            self._summary = self._build_summary()
        return self._summary

    def _build_summary(self) -> dict:
        r = self.result
        gws = sorted(r.get("gateways", []), key=lambda g: g.get("id", 0))
        return {
            "mode": "finished", "dir": str(self.dir), "name": r.get("name"), "seed": r.get("seed"),
            "run_id": self.run_id, "rounds": self.rounds, "sim_times_s": self.sim_times,
            "kpis": r.get("kpis", {}), "totals": r.get("totals", {}),
            "sensors_total": r.get("sensors_total", len(self._kinds["sensor"]["ids"]) if "sensor" in self._kinds
                                   else None),
            "sensors_attached": r.get("sensors_attached"),
            "duration_s": r.get("duration_s"), "wall_s": r.get("run", {}).get("wall_s"),
            "twin": r.get("twin"),
            "gateways": [{k: v for k, v in g.items() if _numeric(v) or k == "id"} for g in gws],
            "sensors_final": final_sensor_table(r),
            "round_columns": {k: kd["columns"] for k, kd in self._kinds.items()},
            "units": dtdl_units(self.dtdl),
            "parameters": r.get("parameters", {}), "format": r.get("format"), "missing": self.missing,
        }


def dtdl_units(dtdl: dict | None) -> dict:
    """column name -> DTDL description (which carries its unit), from the export's interfaces."""
    if dtdl is None:
        models = dtdl_interfaces()
    else:
        models = dtdl.get("models", [])
    out = {}
    for m in models:
        for c in m.get("contents", []):
            if c.get("@type") in ("Property", "Telemetry") and c.get("description"):
                out.setdefault(c["name"], c["description"])
    return out


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


# ---------------------------------------------------------------- the web app
def create_app(source, token: str | None = None, allowed_hosts: tuple[str, ...] | None = None):
    """The FastAPI app over a RunData or a LiveRun. token: required on /api routes when set;
    allowed_hosts: Host header names accepted (DNS-rebinding guard), None for any."""
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

    app = FastAPI(title="GAIDT Twin Explorer", docs_url=None, redoc_url=None, openapi_url=None)
    live = isinstance(source, LiveRun)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
        if allowed_hosts is not None and host not in allowed_hosts:
            return JSONResponse({"error": f"Host = {host!r}: not served here"}, status_code=403)
        if token and request.url.path.startswith("/api/"):
            given = request.query_params.get("token") or \
                request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"error": "token: missing or wrong (pass ?token=T)"}, status_code=401)
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD", "OPTIONS") and origin is not None and \
                origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            # a state-changing route answers the page it served, not another site's script
            return JSONResponse({"ok": False, "error": f"Origin = {origin[:80]!r}: not this page's origin"},
                                status_code=403)
        try:
            return await call_next(request)
        except Exception as e:  # noqa: BLE001 -- damaged data: one line to the page, no traceback in the log
            return JSONResponse({"error": f"{request.url.path}: {type(e).__name__}: {str(e)[:200]}"},
                                status_code=500)

    def err(e: ExploreError, status: int = 404):
        return JSONResponse({"error": str(e)}, status_code=status)

    @app.get("/")
    def index():
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}")
    def static(name: str):
        p = STATIC_DIR / name
        if "/" in name or name.startswith(".") or not p.is_file():
            return JSONResponse({"error": f"static file {name!r}: not found"}, status_code=404)
        return FileResponse(p, headers={"Cache-Control": "no-store"})

    @app.get("/api/run")
    def run():
        return Response(json.dumps(source.summary(), separators=(",", ":")), media_type="application/json")

    @app.get("/api/round/{k}")
    def round_state(k: int, columns: str | None = None):
        try:
            data = source.state(k).to_json([c for c in columns.split(",") if c] if columns else None)
        except ExploreError as e:
            return err(e)
        return Response(json.dumps(data, separators=(",", ":")), media_type="application/json")

    @app.get("/api/node/{node_id}")
    def node(node_id: str, round: int | None = None):  # the query parameter's name
        try:
            return source.node(node_id, round)
        except ExploreError as e:
            return err(e)

    @app.get("/api/node/{node_id}/history")
    def history(node_id: str, attr: str):
        try:
            return source.history(node_id, attr)
        except ExploreError as e:
            return err(e)

    if live:
        @app.get("/api/live")
        async def events(request: Request):
            loop = asyncio.get_running_loop()
            q: asyncio.Queue = asyncio.Queue(maxsize=256)
            source.listen(loop, q)

            async def stream():
                try:
                    sync = {"rounds": source.rounds, "end": source.end, "parameters": source.summary()["parameters"]}
                    yield f"event: sync\ndata: {json.dumps(sync)}\n\n"
                    while True:
                        try:
                            yield await asyncio.wait_for(q.get(), timeout=10.0)
                        except asyncio.TimeoutError:
                            if await request.is_disconnected():
                                return
                            yield ": keep-alive\n\n"
                finally:
                    source.unlisten(loop, q)

            return StreamingResponse(stream(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        @app.post("/api/command")
        async def command(request: Request):
            # JSON only: a cross-site form post cannot send this content type without a CORS preflight
            if not request.headers.get("content-type", "").startswith("application/json"):
                return JSONResponse({"ok": False, "error": "Content-Type: expected application/json"},
                                    status_code=415)
            try:
                req = await request.json()
            except json.JSONDecodeError:
                return JSONResponse({"ok": False, "error": "body: not JSON"}, status_code=400)
            if not isinstance(req, dict):
                return JSONResponse({"ok": False, "error": "body: expected a JSON object"}, status_code=400)
            return await asyncio.to_thread(source.command, req)

    return app


def serve(source, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
          on_ready=None) -> None:
    """Serve the explorer until interrupted. on_ready(url) is called once the socket listens."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ExploreError(f"--host {host} --port {port}: cannot bind ({e.strerror})") from None
    sock.listen(128)
    bound_port = sock.getsockname()[1]
    loopback = host in LOOPBACK
    allowed = (*LOOPBACK,) if loopback else None
    app = create_app(source, token=token, allowed_hosts=allowed)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound_port}/" + (f"?token={token}" if token else "")
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, access_log=False)
    server = uvicorn.Server(config)
    if on_ready:
        on_ready(url)
    server.run(sockets=[sock])


def cli(args) -> int:
    """`run.py explore`: parse, load, serve. Returns the exit code (2: usage/input error)."""
    host = args.host
    if host not in LOOPBACK and not args.token:
        raise ExploreError(f"--host = {host!r}: binding beyond loopback needs --token T "
                           "(a secret of at least 16 characters)")
    if args.token is not None and len(args.token) < 16:
        raise ExploreError("--token: at least 16 characters")
    if not 0 <= args.port <= 65535:
        raise ExploreError(f"--port = {args.port}: must be 0..65535 (0: a free port)")
    source = None
    try:
        if args.live:
            if args.dir is not None:
                raise ExploreError(f"DIR = {args.dir!r}: not used with --live (the run is read from the bridge)")
            if not args.bridge_pub or not args.bridge_cmd:
                raise ExploreError("--live: needs --bridge-pub ENDPOINT and --bridge-cmd ENDPOINT")
            source = LiveRun(args.bridge_pub, args.bridge_cmd)
        else:
            if args.dir is None:
                raise ExploreError("DIR: give a finished run's folder, or --live with the bridge endpoints")
            if args.bridge_pub or args.bridge_cmd:
                raise ExploreError("--bridge-pub/--bridge-cmd: only with --live")
            source = RunData(args.dir)
        try:  # after the arguments are checked: importing them takes a while
            import fastapi  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError as e:
            raise ExploreError(f"needs fastapi and uvicorn ({e.name} missing); install the vLLM extra: "
                               "`make llm-setup` (requirements-llm.txt brings both)") from None
        if isinstance(source, LiveRun):
            source.start()

        def ready(url: str) -> None:
            what = f"live run at {args.bridge_pub}" if args.live else f"run {args.dir}"
            if getattr(source, "missing", None):
                print(f"explore: {args.dir} lacks {', '.join(source.missing)}; showing the rest "
                      "(run.py record writes all three for your own scenario)", file=sys.stderr, flush=True)
            print(f"Twin Explorer ({what}): {url}  (Ctrl-C to stop)", flush=True)

        serve(source, host=host, port=args.port, token=args.token, on_ready=ready)
    finally:
        if isinstance(source, LiveRun):
            source.close()
    return 0
