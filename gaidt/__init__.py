"""GAIDT's core library: the one config schema (config), the one place that starts ns-3
(ns3_runner), campaigns (campaign), statistics (stats) and process lifetime (lifetime).

Layers point one way: gaidt_bridge <- gaidt <- generators <- services <- experiments (the
application: command line, figures, benchmarks, live views). Nothing here imports the layers above.
"""
