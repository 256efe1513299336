"""Wire protocol of the twin bridge (gaidt_bridge/PROTOCOL.md), decoding side.

A message is a ZeroMQ multipart message:
  frame 0: topic, b"gaidt.hello" | b"gaidt.snap" | b"gaidt.truth" | b"gaidt.end"
  frame 1: header, UTF-8 JSON
  frames 2..: snap, truth and end; per node set, in header order: one index
              frame (uint32 little-endian, the synced node indices) then one
              frame per column (float64 little-endian, one value per node).
              An end message carries every node's final state.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import RunError
from .node_ids import node_id

PROTOCOL_VERSION = 1
TOPICS = (b"gaidt.hello", b"gaidt.snap", b"gaidt.truth", b"gaidt.end")
# Liveness (PROTOCOL.md, "Liveness"): a beat every BEAT_PERIOD_S of wall time, outside the gaidt. prefix
# so that clients subscribed to gaidt. never see it; no seq, header {v, run_id, beat, round, wall_time_s}.
BEAT_TOPIC = b"gaidt-beat"
BEAT_PERIOD_S = 1.0
SNAP_LIKE = ("snap", "truth")  # same layout; truth: every node, for evaluation only


def sample_size(rate: float, total: int) -> int:
    """Rows a sampled set transfers per round: round(rate x total), half up.

    The product is the IEEE-754 double ``rate * total``; a fractional part
    >= 0.5 rounds up (C's ``llround``, used by the C++ publisher), so
    ``sample_size(0.5, 45) == 23``. Clamped to 0..total.
    """
    x = float(rate) * int(total)
    k = math.floor(x)
    k += (x - k) >= 0.5  # exact: x - floor(x) has no rounding error for doubles
    return max(0, min(int(total), int(k)))


class BadFrame(RunError, ValueError):
    """A malformed, truncated or inconsistent message; counted and dropped."""


@dataclass
class NodeTable:
    """One set of nodes in a message: kind, DTDL model, total nodes, the transferred node indices and their
    columns (rows x columns float64)."""
    kind: str
    model: str
    total: int
    index: np.ndarray  # uint32, synced node indices
    columns: list[str]
    units: list[str]
    values: np.ndarray  # float64, shape (rows, len(columns))

    def ids(self) -> list[str]:
        """The twin ids of the table's rows ("sensor-3", ...), in row order."""
        return [node_id(self.kind, i) for i in self.index.tolist()]

    def states(self) -> dict[str, dict[str, float]]:
        """Twin id -> {column: value} for every row (a truth table or a snapshot as plain dicts)."""
        return {n: dict(zip(self.columns, row)) for n, row in zip(self.ids(), self.values.tolist())}


@dataclass
class Message:
    """One decoded bridge message: topic (hello, snap, truth, end), its JSON header and its node tables."""
    topic: str  # hello | snap | truth | end
    header: dict
    tables: list[NodeTable] = field(default_factory=list)

    @property
    def seq(self) -> int:
        """The message's sequence number (0 for hello, +1 per message of the run)."""
        return int(self.header["seq"])

    @property
    def run_id(self) -> str:
        """The run id every message of a run carries."""
        return str(self.header["run_id"])


def decode(frames: list[bytes]) -> Message:
    """Decode one multipart message; raise BadFrame on anything malformed."""
    if len(frames) < 2:
        raise BadFrame(f"expected >= 2 frames, got {len(frames)}")
    topic = bytes(frames[0])
    if topic not in TOPICS:
        raise BadFrame(f"unknown topic {topic[:32]!r}")
    try:
        header = json.loads(bytes(frames[1]))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadFrame(f"header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise BadFrame("header is not a JSON object")
    for key in ("v", "run_id", "seq"):
        if key not in header:
            raise BadFrame(f"header lacks '{key}'")
    if header["v"] != PROTOCOL_VERSION:
        raise BadFrame(f"protocol version {header['v']!r}, expected {PROTOCOL_VERSION}")
    if not isinstance(header["seq"], int) or header["seq"] < 0:
        raise BadFrame(f"bad seq {header['seq']!r}")
    name = topic.decode()[len("gaidt."):]
    # An end message with "sets" carries the final state in the snap layout.
    if name not in SNAP_LIKE and not (name == "end" and "sets" in header):
        if len(frames) != 2:
            raise BadFrame(f"{name} message with {len(frames)} frames, expected 2")
        return Message(name, header)

    sets = header.get("sets")
    if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
        raise BadFrame(f"{name} header lacks a 'sets' list")
    for key in ("round", "sim_time_s"):
        if key not in header:
            raise BadFrame(f"{name} header lacks '{key}'")
    expected = 2 + sum(1 + len(s.get("columns", [])) for s in sets)
    if len(frames) != expected:
        raise BadFrame(f"{name} message with {len(frames)} frames, header announces {expected}")
    tables = []
    pos = 2
    for s in sets:
        try:
            kind, rows, cols = str(s["kind"]), int(s["rows"]), list(s["columns"])
            total = int(s["total"])
        except (KeyError, TypeError, ValueError) as e:
            raise BadFrame(f"bad set description: {e}") from None
        idx_frame = bytes(frames[pos])
        if len(idx_frame) != 4 * rows:
            raise BadFrame(f"{kind}: index frame has {len(idx_frame)} bytes, expected {4 * rows}")
        index = np.frombuffer(idx_frame, dtype="<u4")
        if rows and int(index.max()) >= total:
            raise BadFrame(f"{kind}: index {int(index.max())} out of range (total {total})")
        pos += 1
        values = np.empty((rows, len(cols)), dtype=np.float64)
        for c in range(len(cols)):
            col = bytes(frames[pos])
            if len(col) != 8 * rows:
                raise BadFrame(f"{kind}.{cols[c]}: column frame has {len(col)} bytes, expected {8 * rows}")
            values[:, c] = np.frombuffer(col, dtype="<f8")
            pos += 1
        tables.append(
            NodeTable(kind, str(s.get("model", "")), total, index, cols, list(s.get("units", [])), values)
        )
    return Message(name, header, tables)


def encode_snapshot(run_id: str, seq: int, round_: int, sim_time_s: float, tables: list[NodeTable],
                    events: list | None = None, wall_time_s: float | None = None,
                    topic: str = "snap", extra: dict | None = None) -> list[bytes]:
    """Encode a snap message (or, with topic="end" and extra={"status": ...}, an
    end message carrying the final state); used by the Python publisher and by tests."""
    sets, frames = [], []
    for t in tables:
        sets.append({"kind": t.kind, "model": t.model, "total": t.total, "rows": len(t.index),
                     "columns": t.columns, "units": t.units})
        frames.append(np.ascontiguousarray(t.index, dtype="<u4").tobytes())
        vals = np.asarray(t.values, dtype="<f8").reshape(len(t.index), len(t.columns))
        frames.extend(np.ascontiguousarray(vals[:, c]).tobytes() for c in range(len(t.columns)))
    header = {"v": PROTOCOL_VERSION, "run_id": run_id, "seq": seq, "round": round_,
              "sim_time_s": sim_time_s, "sets": sets, "events": events or []}
    if wall_time_s is not None:
        header["wall_time_s"] = wall_time_s
    header.update(extra or {})
    return [f"gaidt.{topic}".encode(), json.dumps(header).encode()] + frames


def encode_control(topic: str, header: dict) -> list[bytes]:
    """Encode a hello or end message."""
    return [f"gaidt.{topic}".encode(), json.dumps({"v": PROTOCOL_VERSION, **header}).encode()]
