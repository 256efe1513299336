"""The Twin Service Layer: services that read the twin (real-time and historical), may act on
the physical twin through the bridge's commands, and are measured (services/README.md).

  mmtc.py       massive connectivity: per-gateway service at 20/45/70% UL activity; access and
                association settings chosen from the twin, in the generator's vocabulary
  tic.py        tiny instant communication: a contextual bandit paces each gateway's requests
                during a run (set-commands), trained in generated scenario twins
  sync.py       right-time synchronization: change-triggered sync within the twinning budget
                vs fixed-rate, on a truth-enabled run
  ptr.py        planned truck routing: a fill-level model on delivered packets, an SVM picks
                the bins, routing.py drives the trucks
  routing.py    road graphs (street grid, GraphML) and the CVRP heuristic (nearest neighbour + 2-opt)
  twin_data.py  what services need from the twin, and TwinDataError when it is missing
  cli.py        run.py services
"""
