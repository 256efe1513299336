"""The real-time twin: a networkx graph with DTDL semantics.

Nodes (keyed by their twin id, e.g. "sensor-12", "gateway-3", "core") carry
plain data, in the shape of an Azure Digital Twins twin:

  "@id"          twin id (same as the node key)
  "$model"       DTMI, e.g. "dtmi:gaidt:IoTSensor;1"
  "properties"   dict: static properties (position, cell id) and dynamic
                 ones (counters, attachment, application parameters)
  "telemetry"    dict name -> {"value": float, "sim_time_s": float}: the
                 latest measurements (latency, RSRP, SINR, queue)
  "components"   dict name -> component twin, e.g. "battery"
  "$lastSync"    {"round": int, "sim_time_s": float} of the last transfer
                 (exported to ADT as the properties last_sync_round, last_sync_sim_time_s)
  "fresh"        True if transferred in the latest round (else stale)

Edges carry "$relationshipName": "servedBy" (sensor -> gateway) or
"backhaul" (gateway -> core), and "$relationshipId".
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import networkx as nx

from .columns import GATEWAY_COLUMNS, SENSOR_COLUMNS, TELEMETRY
from .node_ids import gateway_id
from .node_ids import node_id as format_node_id
from .protocol import Message, NodeTable

DTDL_CONTEXT = "dtmi:dtdl:context;3"
CORE_ID = "core"

# Sensor columns that belong to its battery component (ns3-scenarios/model/sensor-power.h).
BATTERY = {"energy_j"}

MODELS = {
    "sensor": "dtmi:gaidt:IoTSensor;1",
    "gateway": "dtmi:gaidt:Gateway;1",
    "core": "dtmi:gaidt:Core;1",
    "battery": "dtmi:gaidt:Battery;1",
}

# DTDL schema and description of every published property column (gaidt_bridge.columns: the vocabulary).
# A sensor's battery columns live in its battery component, not on the sensor.
_PROPS = {kind: {c.name: ("double", c.doc) for c in cols if not c.telemetry and not (kind == "sensor" and c.name in BATTERY)}
          for kind, cols in (("sensor", SENSOR_COLUMNS), ("gateway", GATEWAY_COLUMNS))}
# Sync metadata of a twin, exported as declared properties (ADT allows no other $metadata keys).
_SYNC_PROPS = {
    "last_sync_round": ("integer", "twinning round of the twin's last transfer from the physical twin"),
    "last_sync_sim_time_s": ("double", "simulated time of the twin's last transfer, s"),
}
# DTDL v3 element names: letters, digits, underscore; start with a letter, end alphanumeric; <= 512.
_DTDL_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_]{0,510}[A-Za-z0-9])?$")

_TELEMETRY_DOC = {c.name: c.doc for c in SENSOR_COLUMNS if c.telemetry}


class TwinGraph(nx.DiGraph):
    """A networkx DiGraph holding the real-time twin (see module docstring)."""

    def __init__(self, incoming_graph_data=None, **attr):
        super().__init__(incoming_graph_data, **attr)
        self.graph.setdefault("round", 0)
        self.graph.setdefault("sim_time_s", 0.0)
        self.graph.setdefault("run_id", None)
        if CORE_ID not in self:
            self.add_node(CORE_ID, **{"@id": CORE_ID, "$model": MODELS["core"], "properties": {},
                                      "telemetry": {}, "components": {}, "$lastSync": None, "fresh": True})

    def _ensure_node(self, node_id: str, kind: str, model: str) -> dict:
        if node_id not in self._node:
            components = {}
            if kind == "sensor":
                components["battery"] = {"$model": MODELS["battery"], "energy_modeled": False}
            self.add_node(node_id, **{"@id": node_id, "$model": model or MODELS.get(kind, ""), "kind": kind,
                                      "properties": {}, "telemetry": {}, "components": components,
                                      "$lastSync": None, "fresh": False})
            if kind == "gateway":
                self.add_edge(node_id, CORE_ID, **{"$relationshipName": "backhaul",
                                                   "$relationshipId": f"{node_id}-backhaul-{CORE_ID}"})
        return self._node[node_id]

    def apply_snapshot(self, msg: Message) -> int:
        """Apply a decoded snap message; returns the node-attribute updates applied."""
        rnd, t = int(msg.header["round"]), float(msg.header["sim_time_s"])
        self.graph.update(round=rnd, sim_time_s=t, run_id=msg.run_id)
        for _, data in self.nodes(data=True):
            data["fresh"] = False
        self._node[CORE_ID]["fresh"] = True
        updates = 0
        for table in msg.tables:
            updates += self._apply_table(table, rnd, t)
        self.apply_events(msg.header.get("events", []))
        return updates

    def apply_events(self, events: list) -> None:
        """Apply leave/join events (from a snap, or the undelivered ones in gaidt.end)."""
        for ev in events:
            node = self._node.get(ev.get("node"))
            if node is not None and ev.get("type") in ("leave", "join"):
                node["properties"]["active"] = 0.0 if ev["type"] == "leave" else 1.0

    def _apply_table(self, table: NodeTable, rnd: int, t: float) -> int:
        cols = table.columns
        tele_idx = [i for i, c in enumerate(cols) if c in TELEMETRY]
        batt_idx = [i for i, c in enumerate(cols) if c in BATTERY] if table.kind == "sensor" else []
        prop_names = [c for i, c in enumerate(cols) if c not in TELEMETRY and i not in batt_idx]
        prop_idx = [i for i, c in enumerate(cols) if c not in TELEMETRY and i not in batt_idx]
        gw_col = cols.index("attached_gateway") if "attached_gateway" in cols else None
        sync = {"round": rnd, "sim_time_s": t}
        rows = table.values.tolist()
        for node_index, row in zip(table.index.tolist(), rows):
            node_id = format_node_id(table.kind, node_index)
            data = self._ensure_node(node_id, table.kind, table.model)
            data["properties"].update(zip(prop_names, [row[i] for i in prop_idx]))
            tele = data["telemetry"]
            for i in tele_idx:
                tele[cols[i]] = {"value": row[i], "sim_time_s": t}
            if batt_idx:
                battery = data["components"]["battery"]
                battery["energy_modeled"] = True
                battery.update((cols[i], row[i]) for i in batt_idx)
            data["$lastSync"] = sync
            data["fresh"] = True
            if gw_col is not None:
                self._set_served_by(node_id, int(row[gw_col]))
        return len(rows) * len(cols)

    def _set_served_by(self, node_id: str, gateway: int) -> None:
        target = gateway_id(gateway) if gateway >= 0 else None
        for _, old in list(self.out_edges(node_id)):
            if old != target:
                self.remove_edge(node_id, old)
        if target is not None and not self.has_edge(node_id, target):
            self._ensure_node(target, "gateway", MODELS["gateway"])
            self.add_edge(node_id, target, **{"$relationshipName": "servedBy",
                                              "$relationshipId": f"{node_id}-servedBy-{target}"})

    # ---- queries used by services and generators
    def sensors(self) -> list[str]:
        """The ids of the sensor nodes."""
        return [n for n, d in self.nodes(data=True) if d.get("kind") == "sensor"]

    def gateways(self) -> list[str]:
        """The ids of the gateway nodes."""
        return [n for n, d in self.nodes(data=True) if d.get("kind") == "gateway"]

    def value(self, node_id: str, name: str, default=None):
        """A property or telemetry value of a node (telemetry values unwrapped)."""
        d = self._node[node_id]
        if name in d["properties"]:
            return d["properties"][name]
        if name in d["telemetry"]:
            return d["telemetry"][name]["value"]
        if name in d.get("components", {}).get("battery", {}) and name in BATTERY:
            return d["components"]["battery"][name]
        return default

    def fresh_fraction(self, kind: str = "sensor") -> float:
        """The fraction of nodes of kind transferred in the latest round (0 when there are none)."""
        nodes = [d for _, d in self.nodes(data=True) if d.get("kind") == kind]
        return sum(d["fresh"] for d in nodes) / len(nodes) if nodes else 0.0

    # ---- DTDL export
    def to_adt(self) -> dict:
        """DTDL v3 interfaces plus twins and relationships, in Azure Digital Twins' JSON form.

        Every key of a twin is a Property or Component declared by its model, and
        `$metadata` holds only `$model` (ADT's twin format). The last transfer of a
        twin is exported as the declared properties `last_sync_round` and
        `last_sync_sim_time_s`. Columns a custom scenario publishes beyond the
        standard models are declared as extra double Properties; a column whose
        name is not a DTDL name, or a non-finite value, is left out (listed under
        "not_exported").
        """
        twins, rels = [], []
        extra: dict[str, set] = {}
        skipped: dict[str, set] = {}
        for n, d in self.nodes(data=True):
            kind = d.get("kind")
            twin = {"$dtId": d["@id"], "$metadata": {"$model": d["$model"]}}
            for k, v in d["properties"].items():
                if not _DTDL_NAME.match(k) or k in _SYNC_PROPS or (isinstance(v, float) and not math.isfinite(v)):
                    skipped.setdefault(kind or "core", set()).add(k)
                    continue
                if kind in _PROPS and k not in _PROPS[kind]:
                    extra.setdefault(kind, set()).add(k)
                twin[k] = v
            for cname, comp in d.get("components", {}).items():
                twin[cname] = {"$metadata": {}, **{k: v for k, v in comp.items() if k != "$model"}}
            if d.get("$lastSync") and kind in _PROPS:
                twin["last_sync_round"] = int(d["$lastSync"]["round"])
                if "sim_time_s" in d["$lastSync"]:
                    twin["last_sync_sim_time_s"] = float(d["$lastSync"]["sim_time_s"])
            twins.append(twin)
        for u, v, e in self.edges(data=True):
            rels.append({"$dtId": u, "$relationshipId": e["$relationshipId"], "$targetId": v,
                         "$relationshipName": e["$relationshipName"]})
        doc = {"models": dtdl_interfaces({k: sorted(v) for k, v in extra.items()}), "twins": twins,
               "relationships": rels, "round": self.graph["round"], "sim_time_s": self.graph["sim_time_s"]}
        if skipped:
            doc["not_exported"] = {k: sorted(v) for k, v in skipped.items()}
        return doc

    def export_dtdl(self, path: str | Path) -> Path:
        """Write twin.dtdl.json (see to_adt) and, beside it, the ADT bulk-import NDJSON."""
        path = Path(path)
        doc = self.to_adt()
        lines = [{"Section": "Header"}, {"fileVersion": "1.0.0", "author": "gaidt", "organization": "gaidt"},
                 {"Section": "Models"}, *doc["models"], {"Section": "Twins"}, *doc["twins"],
                 {"Section": "Relationships"}, *doc["relationships"]]
        for target, text in ((path, json.dumps(doc, indent=1)),
                             (path.with_suffix(".ndjson"), "\n".join(json.dumps(x) for x in lines) + "\n")):
            tmp = target.with_name(f".{target.name}.tmp")
            try:  # whole or absent: a full disk never leaves a half-written export
                tmp.write_text(text)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return path


def dtdl_interfaces(extra_properties: dict[str, list[str]] | None = None) -> list[dict]:
    """The DTDL v3 interface documents of every twin model.

    extra_properties: kind -> names of further double Properties to declare
    (columns a custom scenario publishes beyond the standard models).
    """
    extra_properties = extra_properties or {}
    def prop(name, schema, desc, writable=False):
        p = {"@type": "Property", "name": name, "schema": schema, "description": desc[:512]}
        if writable:
            p["writable"] = True
        return p

    settable = {"report_period_s", "payload_max_bytes", "tx_power_dbm", "active"}

    def props(kind):
        declared = {**_PROPS[kind], **{k: ("double", "column published by the physical twin (custom scenario)")
                                       for k in extra_properties.get(kind, []) if k not in _PROPS[kind]}}
        return [prop(k, s, d, k in settable) for k, (s, d) in {**declared, **_SYNC_PROPS}.items()]

    sensor = {"@context": DTDL_CONTEXT, "@id": MODELS["sensor"], "@type": "Interface", "displayName": "IoT sensor",
              "contents": props("sensor")
              + [{"@type": "Telemetry", "name": k, "schema": "double", "description": d}
                 for k, d in _TELEMETRY_DOC.items()]
              + [{"@type": "Component", "name": "battery", "schema": MODELS["battery"]},
                 {"@type": "Relationship", "name": "servedBy", "target": MODELS["gateway"], "maxMultiplicity": 1}]}
    gateway = {"@context": DTDL_CONTEXT, "@id": MODELS["gateway"], "@type": "Interface", "displayName": "Gateway (eNB)",
               "contents": props("gateway")
               + [{"@type": "Relationship", "name": "backhaul", "target": MODELS["core"], "maxMultiplicity": 1}]}
    core = {"@context": DTDL_CONTEXT, "@id": MODELS["core"], "@type": "Interface", "displayName": "EPC core",
            "contents": []}
    battery = {"@context": DTDL_CONTEXT, "@id": MODELS["battery"], "@type": "Interface", "displayName": "Battery",
               "contents": [prop("energy_modeled", "boolean",
                                 "true once the physical twin published the sensor's energy "
                                 "(ns3-scenarios/model/sensor-power.h)"),
                            prop("energy_j", "double", "radio energy used since the end of the attach phase, J")]}
    return [sensor, gateway, core, battery]
