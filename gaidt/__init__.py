"""GAIDT's core library: the one config schema (config), the one place that starts ns-3
(ns3_runner), campaigns (campaign), statistics (stats), process lifetime (lifetime), and one
helper per job: errors (the hierarchy of gaidt_bridge.errors), digest, schema_errors, plotting.

Layers point one way: gaidt_bridge <- gaidt <- generators <- services <- experiments (the
application: command line, figures, benchmarks, live views). Nothing here imports the layers above.
"""
