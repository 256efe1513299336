"""Historical twin store {G(t-m), ..., G(t-1)}: SQLite in WAL mode.

Every received snapshot is appended in one transaction (snapshot row, one
row per transferred node, its topology events), so a writer killed with
SIGKILL loses at most the snapshot in flight and the file stays consistent.

Tables (keys: run, round, simulated time, node):
  runs(run_id PK, static_json, status, gaps, bad_frames, created_wall_s)
  snapshots(run_id, seq, round, sim_time_s, wall_time_s, rows, PK(run_id, round))
  node_state(run_id, round, sim_time_s, node, kind, <one REAL column per attribute>,
             PK(run_id, round, node))  -- only nodes transferred in that round
  events(run_id, round, sim_time_s, type, node, detail_json)

The twin at round k is, per node, its latest row with round <= k (stale
nodes keep their last transferred state), which is what window() rebuilds.
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import pandas as pd

from .errors import RunError, UsageError
from .node_ids import node_index
from .protocol import Message, NodeTable
from .twin_graph import TwinGraph

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_COLS = ("run_id", "round", "sim_time_s", "node", "kind")


class AmbiguousRunError(UsageError, LookupError):
    """A read without a run_id on a store that holds several runs; the message lists them (exit 2)."""


class StoreError(RunError, sqlite3.OperationalError):
    """The history store cannot be written (a full disk, a damaged file): exit 1, one line naming the file.
    Every round committed before stays readable (each round is one transaction)."""


class HistoryStore:
    """The historical twin: every transferred row of every round in one SQLite file (WAL), per run_id; table()
    and window() read it back.

    run_id None on a store that holds exactly one run opens that run; with several runs, reads without a
    run_id raise AmbiguousRunError naming them (pass run_id=, or see runs()).

    >>> with HistoryStore("results/s1/history.sqlite") as h:   # doctest: +SKIP
    ...     h.run_id, h.rounds()[-1], h.window(3)
    """
    def __init__(self, path: str | Path, run_id: str | None = None):
        self.path = Path(path)
        self.run_id = run_id
        try:
            self._open()
        except sqlite3.Error as e:
            raise self._error(e) from None

    def _error(self, e: sqlite3.Error) -> StoreError:
        return StoreError(f"history store {self.path}: {e} (the rounds stored before are kept)")

    def _open(self) -> None:
        self.db = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL+NORMAL: safe against process crashes
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS runs(run_id TEXT PRIMARY KEY, static_json TEXT, status TEXT,
                gaps INTEGER DEFAULT 0, bad_frames INTEGER DEFAULT 0, created_wall_s REAL);
            CREATE TABLE IF NOT EXISTS snapshots(run_id TEXT, seq INTEGER, round INTEGER, sim_time_s REAL,
                wall_time_s REAL, rows INTEGER, PRIMARY KEY(run_id, round));
            CREATE TABLE IF NOT EXISTS node_state(run_id TEXT, round INTEGER, sim_time_s REAL, node TEXT,
                kind TEXT, PRIMARY KEY(run_id, round, node));
            CREATE TABLE IF NOT EXISTS events(run_id TEXT, round INTEGER, sim_time_s REAL, type TEXT,
                node TEXT, detail_json TEXT);
            """
        )
        self._columns = {r[1] for r in self.db.execute("PRAGMA table_info(node_state)")}
        self._insert_sql: dict[tuple, str] = {}
        if self.run_id is None:
            runs = self.runs()
            if len(runs) == 1:
                self.run_id = runs[0]

    def runs(self) -> list[str]:
        """The run ids stored, oldest first."""
        return [r[0] for r in self.db.execute("SELECT run_id FROM runs ORDER BY created_wall_s, run_id")]

    def _run(self, run_id: str | None) -> str | None:
        """run_id, else the current run, else the store's only run; AmbiguousRunError with several."""
        if run_id is not None or self.run_id is not None:
            return run_id or self.run_id
        runs = self.runs()
        if len(runs) > 1:
            shown = ", ".join(runs[:20]) + (f", ... ({len(runs)} runs)" if len(runs) > 20 else "")
            raise AmbiguousRunError(f"{self.path}: holds {len(runs)} runs ({shown}); "
                                    "pass run_id= to choose one")
        return runs[0] if runs else None

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- writing
    def begin_run(self, run_id: str, static: dict | None = None) -> None:
        """Start recording run_id (its static data as JSON); a run already stored is kept."""
        self.run_id = run_id
        try:
            self.db.execute(
                "INSERT OR IGNORE INTO runs(run_id, static_json, status, created_wall_s) VALUES(?,?,?,?)",
                (run_id, json.dumps(static or {}), "running", time.time()),
            )
        except sqlite3.Error as e:
            raise self._error(e) from None

    def end_run(self, status: str, gaps: int = 0, bad_frames: int = 0) -> None:
        """Mark the current run finished with status, and its sequence gaps and bad frames."""
        try:
            self.db.execute("UPDATE runs SET status=?, gaps=?, bad_frames=? WHERE run_id=?",
                            (status, gaps, bad_frames, self.run_id))
        except sqlite3.Error as e:
            raise self._error(e) from None

    def _ensure_columns(self, names) -> None:
        for name in names:
            if name not in self._columns:
                if not _IDENT.match(name):
                    raise ValueError(f"attribute name {name!r} is not a plain identifier")
                self.db.execute(f'ALTER TABLE node_state ADD COLUMN "{name}" REAL')
                self._columns.add(name)

    def append(self, msg: Message) -> int:
        """Append one decoded snapshot atomically; returns node rows written."""
        run_id = msg.run_id
        if self.run_id != run_id:  # a run whose hello was missed (or a store opened on another run)
            self.begin_run(run_id)
        rnd, t = int(msg.header["round"]), float(msg.header["sim_time_s"])
        rows_written = 0
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table in msg.tables:
                self._ensure_columns(table.columns)
                key = tuple(table.columns)
                sql = self._insert_sql.get(key)
                if sql is None:
                    cols = ",".join(f'"{c}"' for c in (*_KEY_COLS, *table.columns))
                    sql = f"INSERT OR REPLACE INTO node_state({cols}) VALUES({','.join('?' * (5 + len(key)))})"
                    self._insert_sql[key] = sql
                kind = table.kind
                rows = table.values.tolist()
                db.executemany(sql, [(run_id, rnd, t, f"{kind}-{i}", kind, *row)
                                     for i, row in zip(table.index.tolist(), rows)])
                rows_written += len(rows)
            db.executemany(
                "INSERT INTO events VALUES(?,?,?,?,?,?)",
                [(run_id, rnd, ev.get("sim_time_s", t), ev.get("type"), ev.get("node"),
                  json.dumps(ev.get("detail"))) for ev in msg.header.get("events", [])],
            )
            db.execute("INSERT OR REPLACE INTO snapshots VALUES(?,?,?,?,?,?)",
                       (run_id, msg.seq, rnd, t, msg.header.get("wall_time_s"), rows_written))
            db.execute("COMMIT")
        except sqlite3.Error as e:
            if db.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                db.execute("ROLLBACK")
            raise self._error(e) from None
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return rows_written

    # ---- reading
    def rounds(self, run_id: str | None = None) -> list[int]:
        """The rounds stored for run_id (default: the current run, else the store's only run), ascending."""
        run_id = self._run(run_id)
        return [r[0] for r in self.db.execute(
            "SELECT round FROM snapshots WHERE run_id=? ORDER BY round", (run_id,))]

    def table(self, run_id: str | None = None, upto_round: int | None = None) -> pd.DataFrame:
        """Every stored node row of a run (only transferred rows), up to a round if given, as pandas."""
        run_id = self._run(run_id)
        upto = upto_round if upto_round is not None else 2**62
        return pd.read_sql_query("SELECT * FROM node_state WHERE run_id=? AND round<=? ORDER BY round, node",
                                 self.db, params=(run_id, upto))

    def window(self, m: int, as_graphs: bool = False, run_id: str | None = None, upto_round: int | None = None):
        """The last m twins {G(t-m+1) .. G(t)}: per round, each node's latest state.

        upto_round: take t as this round instead of the latest stored one (replay).

        Returns a pandas table with columns round, node, kind, fresh,
        synced_round and the attributes (as_graphs=False), or a list of
        TwinGraph (as_graphs=True), oldest first.
        """
        run_id = self._run(run_id)
        rounds = self.rounds(run_id)
        if upto_round is not None:
            rounds = [r for r in rounds if r <= upto_round]
        rounds = rounds[-m:] if m > 0 else []
        if not rounds:
            return [] if as_graphs else pd.DataFrame()
        df = self.table(run_id, upto_round=rounds[-1])  # the rows after t are never read
        frames = []
        for k in rounds:
            upto = df[df["round"] <= k]
            latest = upto.sort_values("round").groupby("node", sort=False).tail(1).copy()
            latest["synced_round"] = latest["round"]
            latest["fresh"] = latest["round"] == k
            latest["round"] = k
            frames.append(latest)
        out = pd.concat(frames, ignore_index=True).sort_values(["round", "node"], ignore_index=True)
        if not as_graphs:
            return out
        return [_graph_from_rows(out[out["round"] == k], run_id) for k in rounds]

    def to_parquet(self, path: str | Path, run_id: str | None = None) -> Path:
        """Write table(run_id) to a Parquet file at path; returns the path."""
        path = Path(path)
        self.table(run_id).to_parquet(path, index=False)
        return path

    def integrity_ok(self) -> bool:
        """True if SQLite's integrity check passes (e.g. after a writer was killed)."""
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _graph_from_rows(rows: pd.DataFrame, run_id: str):
    import numpy as np

    g = TwinGraph()
    attrs = [c for c in rows.columns if c not in (*_KEY_COLS, "synced_round", "fresh")]
    k = int(rows["round"].iloc[0]) if len(rows) else 0
    for kind, part in rows.groupby("kind"):
        part = part.dropna(axis=1, how="all")
        cols = [c for c in attrs if c in part.columns]
        index = np.array([node_index(n) for n in part["node"]], dtype=np.uint32)
        table = NodeTable(kind, "", int(index.max()) + 1 if len(index) else 0, index, cols, [],
                          part[cols].to_numpy(dtype=np.float64))
        g._apply_table(table, k, float(part["sim_time_s"].max()))
        for node, synced, fresh in zip(part["node"], part["synced_round"], part["fresh"]):
            g.nodes[node]["$lastSync"] = {"round": int(synced)}
            g.nodes[node]["fresh"] = bool(fresh)
    g.graph.update(round=k, run_id=run_id)
    return g
