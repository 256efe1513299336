"""A finished run's data for the Explorer: result.json, history.sqlite and twin.dtdl.json read and shape-
checked, the twin at any round, a node's history, the run summary."""

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaidt.errors import UsageError
from gaidt_bridge.node_ids import node_index, parse_node_id
from gaidt_bridge.twin_graph import dtdl_interfaces

_KEY_COLS = ("run_id", "round", "sim_time_s", "node", "kind")


RUN_FILES = ("result.json", "history.sqlite", "twin.dtdl.json")  # what a run folder holds (run.py scenario/record)


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
