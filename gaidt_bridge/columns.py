"""The column vocabulary of the IoT city's twin: what the physical twin (ns3-scenarios/helper/iot-city-twin.cc)
publishes per sensor and per gateway, in hello order, with units and meaning.

PROTOCOL.md ("Snapshot columns of the IoT city") documents the same list; tests/test_bridge.py
checks this module against a real run's hello message, so the two sides cannot drift.
Telemetry columns are measurements (DTDL Telemetry); the others are state (DTDL Property).

Examples
--------
>>> SENSOR_COLUMN_NAMES[:3]
('x_m', 'y_m', 'active')
>>> "sinr_db" in TELEMETRY
True
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GATEWAY_COLUMNS", "GATEWAY_COLUMN_NAMES", "SENSOR_COLUMNS", "SENSOR_COLUMN_NAMES", "TELEMETRY", "Column"]


@dataclass(frozen=True)
class Column:
    """One published column: name, unit (as in hello), description, telemetry or property."""

    name: str
    unit: str
    doc: str
    telemetry: bool = False


SENSOR_COLUMNS: tuple[Column, ...] = (
    Column("x_m", "m", "x position, m (static)"),
    Column("y_m", "m", "y position, m (static)"),
    Column("active", "bool", "1 while the sensor is in the network, 0 after it left"),
    Column("attached", "bool", "1 once the sensor's RRC connection is established"),
    Column("attached_gateway", "index", "index of the serving gateway, -1 if none"),
    Column("tx_packets", "packets", "UL packets sent, packets"),
    Column("tx_bytes", "bytes", "UL bytes sent, bytes"),
    Column("rx_packets", "packets", "UL packets delivered to the city server, packets"),
    Column("rx_bytes", "bytes", "UL bytes delivered, bytes"),
    Column("late_packets", "packets", "packets delivered after the deadline, packets"),
    Column("buffer_drops", "packets", "packets dropped by the RLC transmit buffer, packets"),
    Column("in_flight_packets", "packets", "packets sent but neither delivered nor dropped (queue proxy), packets",
           telemetry=True),
    Column("latency_last_ms", "ms", "one-way UL latency of the latest delivered packet, ms", telemetry=True),
    Column("latency_mean_ms", "ms", "mean one-way UL latency so far, ms"),
    Column("rsrp_dbm", "dBm", "DL RSRP of the serving cell, dBm", telemetry=True),
    Column("sinr_db", "dB", "DL SINR of the serving cell, dB", telemetry=True),
    Column("report_period_s", "s", "current reporting period, s (settable)"),
    Column("payload_max_bytes", "bytes", "current maximum payload, bytes (settable)"),
    Column("fill_level", "ratio", "bin fill level for waste collection, ratio"),
    Column("responses", "packets", "TIC responses received back at the sensor, packets"),
    Column("on_time_responses", "packets", "TIC responses within the deadline (round trip), packets"),
    Column("energy_j", "J", "energy the sensor's radio used so far (power model, ns3-scenarios/model/sensor-power.h), J"),
)

GATEWAY_COLUMNS: tuple[Column, ...] = (
    Column("x_m", "m", "x position, m (static)"),
    Column("y_m", "m", "y position, m (static)"),
    Column("cell_id", "id", "LTE cell id (static)"),
    Column("attached_sensors", "sensors", "sensors attached, sensors"),
    Column("rx_packets", "packets", "UL packets delivered from its sensors, packets"),
    Column("rx_bytes", "bytes", "UL bytes delivered from its sensors, bytes"),
    Column("tx_power_dbm", "dBm", "transmit power, dBm (settable)"),
)

SENSOR_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in SENSOR_COLUMNS)
GATEWAY_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in GATEWAY_COLUMNS)
TELEMETRY: frozenset[str] = frozenset(c.name for c in SENSOR_COLUMNS + GATEWAY_COLUMNS if c.telemetry)
