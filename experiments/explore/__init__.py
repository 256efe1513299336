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

from .cli import cli
from .live import COMMAND_REPLY_S, LIVE_ROUNDS_KEPT, LiveRun, command_value
from .run_data import RUN_FILES, ExploreError, KindState, RoundState, RunData, dtdl_units, final_sensor_table, sensor_status
from .web_app import LOOPBACK, STATIC_DIR, create_app, serve

__all__ = [
    "COMMAND_REPLY_S", "ExploreError", "KindState", "LIVE_ROUNDS_KEPT", "LOOPBACK", "LiveRun", "RUN_FILES",
    "RoundState", "RunData", "STATIC_DIR", "cli", "command_value", "create_app", "dtdl_units",
    "final_sensor_table", "sensor_status", "serve",
]
