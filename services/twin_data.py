"""What a service reads from the twin, and the error when it is not there.

Every service takes the real-time twin (gaidt_bridge.twin_graph.TwinGraph)
and/or the historical twins (gaidt_bridge.history.HistoryStore, or its
table()/window() pandas tables). They check what they need with the helpers
below, which raise TwinDataError naming the service, what is missing and where
it was looked for, so a user can act on it (e.g. run with the bridge, or with
truth=True) instead of reading a KeyError.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from gaidt.errors import RunError
from gaidt_bridge.history import HistoryStore
from gaidt_bridge.node_ids import node_index  # noqa: F401 -- services.twin_data.node_index is public


class TwinDataError(RunError, ValueError):
    """The twin given to a service lacks data the service needs; the message names it."""


def require_columns(df: pd.DataFrame | None, columns, service: str, where: str = "the historical twin") -> None:
    """Raise TwinDataError unless df has every column in `columns` and at least one row."""
    if df is None or len(df) == 0:
        raise TwinDataError(f"{service}: {where} is empty (no snapshot was stored); run the scenario with the bridge")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(sorted(c for c in df.columns if c not in ("run_id", "round", "sim_time_s", "node", "kind")))
        raise TwinDataError(f"{service}: {where} has no column(s) {', '.join(missing)} (it has: {have or 'none'})")


def require_graph(graph, service: str, sensor_attrs=(), gateway_attrs=(), need_gateways: bool = True) -> None:
    """Raise TwinDataError unless the TwinGraph has sensors (and gateways) carrying the attributes."""
    if graph is None:
        raise TwinDataError(f"{service}: no real-time twin (graph is None); run the scenario with the bridge")
    sensors = graph.sensors()
    if not sensors:
        raise TwinDataError(f"{service}: the real-time twin has no sensor nodes (no snapshot was applied)")
    if need_gateways and not graph.gateways():
        raise TwinDataError(f"{service}: the real-time twin has no gateway nodes")
    for kind, nodes, attrs in (("sensor", sensors, sensor_attrs), ("gateway", graph.gateways(), gateway_attrs)):
        for a in attrs:
            lacking = [n for n in nodes if graph.value(n, a) is None]
            if lacking:
                raise TwinDataError(f"{service}: {len(lacking)} of {len(nodes)} {kind} twins lack '{a}' "
                                    f"(first: {', '.join(sorted(lacking)[:3])})")


def history_table(store_or_path, service: str) -> pd.DataFrame:
    """Every stored node row of the (only or latest) run in a history store or sqlite file."""
    if isinstance(store_or_path, (str, Path)):
        path = Path(store_or_path)
        if not path.exists():
            raise TwinDataError(f"{service}: no historical twin at {path} (run the scenario with the bridge)")
        with HistoryStore(path) as store:
            return history_table(store, service)
    store = store_or_path
    run_id = store.run_id
    if run_id is None:
        row = store.db.execute("SELECT run_id FROM runs ORDER BY created_wall_s DESC LIMIT 1").fetchone()
        if row is None:
            raise TwinDataError(f"{service}: the history store {store.path} holds no run")
        run_id = row[0]
    df = store.table(run_id)
    return df.dropna(axis=1, how="all")


def sensor_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The sensor rows of a history table (empty if it has no kind column)."""
    return df[df["kind"] == "sensor"] if "kind" in df.columns else df.iloc[0:0]


