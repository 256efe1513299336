"""GAIDT's application: the command line (run.py), figures, benchmarks and live views.

The core library moved to the `gaidt` package; `experiments.config`, `experiments.ns3_runner`,
`experiments.campaign`, `experiments.stats` and `experiments.lifetime` remain importable as the
very same module objects, for scripts written against the old names.
"""
import sys as _sys

from gaidt import campaign, config, lifetime, ns3_runner, stats

for _m in (campaign, config, lifetime, ns3_runner, stats):
    _sys.modules[f"experiments.{_m.__name__.rsplit('.', 1)[1]}"] = _m
