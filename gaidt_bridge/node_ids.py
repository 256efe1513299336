"""Twin node ids: ``"<kind>-<index>"`` (``"sensor-12"``, ``"gateway-3"``), the one place that
formats and parses them. The index is the node's row index in the bridge's tables.

Examples
--------
>>> sensor_id(12)
'sensor-12'
>>> parse_node_id("gateway-3")
('gateway', 3)
>>> node_index("sensor-7")
7
"""
from __future__ import annotations

import re

__all__ = ["GATEWAY", "SENSOR", "gateway_id", "node_id", "node_index", "parse_node_id", "sensor_id"]

SENSOR = "sensor"
GATEWAY = "gateway"
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def node_id(kind: str, index: int) -> str:
    """The twin id of node ``index`` of ``kind``."""
    return f"{kind}-{int(index)}"


def sensor_id(index: int) -> str:
    """The twin id of sensor ``index``: ``"sensor-<index>"``."""
    return node_id(SENSOR, index)


def gateway_id(index: int) -> str:
    """The twin id of gateway ``index``: ``"gateway-<index>"``."""
    return node_id(GATEWAY, index)


def parse_node_id(node: str) -> tuple[str, int]:
    """``(kind, index)`` of a twin id; ValueError for a string that is not ``"<kind>-<int>"``."""
    kind, sep, index = str(node).rpartition("-")
    if not sep or not _KIND.fullmatch(kind) or not (index.isdigit() and index.isascii()):
        raise ValueError(f"node id {node!r}: expected '<kind>-<index>', e.g. 'sensor-3'")
    return kind, int(index)


def node_index(node: str) -> int:
    """The index of a twin id (``node_index("sensor-7") == 7``)."""
    return parse_node_id(node)[1]
