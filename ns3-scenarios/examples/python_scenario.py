#!/usr/bin/env python3
"""A custom ns-3 scenario written with the `ns3` Python bindings that
publishes its state to the GAIDT twin bridge.

    sensors (UEs) ~~ LTE ~~ 1 gateway (eNB) == EPC == city server (UdpServer per sensor)

Run it against a subscriber (or `experiments/run.py`'s twin tools):
    .venv/bin/python ns3-scenarios/examples/python_scenario.py \
        --pub ipc:///tmp/gaidt-demo/pub --cmd ipc:///tmp/gaidt-demo/cmd --sensors 10 --duration-s 2
The twin command channel accepts `set sensor-<i> interval_s <v>` between rounds.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gaidt_bridge.publisher import TwinPublisher  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bridge-pub", "--pub", dest="pub", required=True,
                    help="ZeroMQ endpoint for twin snapshots (bound here; tcp://127.0.0.1:PORT or ipc://PATH)")
    ap.add_argument("--bridge-cmd", "--cmd", dest="cmd", default="", help="ZeroMQ endpoint for twin commands (bound here)")
    ap.add_argument("--bridge-hold", action="store_true",
                    help="start paused until a client sends resume (at most --bridge-hold-timeout-s)")
    ap.add_argument("--bridge-hold-timeout-s", type=float, default=300.0,
                    help="wall seconds a hold waits for resume, then starts anyway (default 300)")
    ap.add_argument("--run-id", default="python-scenario")
    ap.add_argument("--sensors", type=int, default=10)
    ap.add_argument("--duration-s", type=float, default=2.0)
    ap.add_argument("--period-s", type=float, default=0.1)
    ap.add_argument("--twinning-rate", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.bridge_hold and not args.cmd:
        ap.error("--bridge-hold needs --bridge-cmd (a client resumes the run)")

    from ns import ns  # noqa: PLC0415 -- slow import (cppyy), after argument parsing

    ns.RngSeedManager.SetSeed(args.seed)
    ns.Config.SetDefault("ns3::LteEnbRrc::SrsPeriodicity", ns.UintegerValue(320))
    lte = ns.CreateObject[ns.LteHelper]()
    epc = ns.CreateObject[ns.PointToPointEpcHelper]()
    lte.SetEpcHelper(epc)

    remote = ns.NodeContainer()
    remote.Create(1)
    internet = ns.InternetStackHelper()
    internet.Install(remote)
    p2p = ns.PointToPointHelper()
    p2p.SetDeviceAttribute("DataRate", ns.DataRateValue(ns.DataRate("10Gb/s")))
    devs = p2p.Install(epc.GetPgwNode(), remote.Get(0))
    ipv4 = ns.Ipv4AddressHelper()
    ipv4.SetBase(ns.Ipv4Address("1.0.0.0"), ns.Ipv4Mask("255.0.0.0"))
    ifs = ipv4.Assign(devs)
    server_addr = ifs.GetAddress(1)
    routing = ns.Ipv4StaticRoutingHelper()
    routing.GetStaticRouting(remote.Get(0).GetObject[ns.Ipv4]()).AddNetworkRouteTo(
        ns.Ipv4Address("7.0.0.0"), ns.Ipv4Mask("255.0.0.0"), 1)

    enbs, ues = ns.NodeContainer(), ns.NodeContainer()
    enbs.Create(1)
    ues.Create(args.sensors)
    mob = ns.MobilityHelper()
    mob.SetMobilityModel("ns3::ConstantPositionMobilityModel")
    mob.Install(enbs)
    pos = ns.CreateObject[ns.ListPositionAllocator]()
    for i in range(args.sensors):
        pos.Add(ns.Vector(20.0 + 10 * i, 30.0, 1.5))
    mob.SetPositionAllocator(pos)
    mob.Install(ues)
    enb_devs = lte.InstallEnbDevice(enbs)
    ue_devs = lte.InstallUeDevice(ues)
    internet.Install(ues)
    epc.AssignUeIpv4Address(ue_devs)
    for i in range(args.sensors):
        routing.GetStaticRouting(ues.Get(i).GetObject[ns.Ipv4]()).SetDefaultRoute(
            epc.GetUeDefaultGatewayAddress(), 1)
        lte.Attach(ue_devs.Get(i), enb_devs.Get(0))

    clients, servers, intervals = [], [], [0.2] * args.sensors
    start = 0.5
    for i in range(args.sensors):
        port = 10000 + i
        srv = ns.UdpServerHelper(port).Install(remote.Get(0))
        srv.Start(ns.Seconds(0))
        servers.append(srv.Get(0).GetObject[ns.UdpServer]())
        helper = ns.UdpClientHelper(server_addr.ConvertTo(), port)
        helper.SetAttribute("Interval", ns.TimeValue(ns.Seconds(intervals[i])))
        helper.SetAttribute("PacketSize", ns.UintegerValue(100))
        helper.SetAttribute("MaxPackets", ns.UintegerValue(0))
        app = helper.Install(ues.Get(i))
        app.Start(ns.Seconds(start))
        clients.append(app.Get(0).GetObject[ns.UdpClient]())

    def set_interval(i: int, v: float) -> None:
        intervals[i] = v
        clients[i].SetAttribute("Interval", ns.TimeValue(ns.Seconds(v)))

    pub = TwinPublisher(args.pub, args.cmd or None, args.run_id)
    s = pub.add_node_set("sensor", "dtmi:gaidt:IoTSensor;1", args.sensors, sampled=True)
    s.column("tx_bytes", "bytes", lambda: [float(c.GetTotalTx()) for c in clients])
    s.column("rx_packets", "packets", lambda: [float(x.GetReceived()) for x in servers])
    s.column("lost_packets", "packets", lambda: [float(x.GetLost()) for x in servers])
    s.column("attached_gateway", "index", lambda: [0.0] * args.sensors)
    s.column("interval_s", "s", lambda: intervals)
    s.parameter("interval_s", get=lambda i: intervals[i], set=set_interval,
                check=lambda v: "" if 0.001 <= v <= 60 else "allowed: 0.001 .. 60 s")
    g = pub.add_node_set("gateway", "dtmi:gaidt:Gateway;1", 1, sampled=False)
    g.column("attached_sensors", "sensors", lambda: [float(args.sensors)])
    end = start + args.duration_s
    print(f"python_scenario: bridge pub={args.pub} cmd={args.cmd or '-'} run_id={args.run_id} "
          f"held={'true' if args.bridge_hold else 'false'}", file=sys.stderr, flush=True)
    pub.start(args.period_s, args.twinning_rate, args.seed, static={"scenario": "python_scenario"},
              end_time_s=end, hold=args.bridge_hold, hold_timeout_s=args.bridge_hold_timeout_s)

    # Round k at k * period_s < end (PROTOCOL.md, "Timing"); the final state at end goes in gaidt.end.
    for k in range(1, pub.rounds + 1):
        if pub.stop_requested:
            break
        ns.Simulator.Stop(ns.Seconds(k * args.period_s) - ns.Simulator.Now())
        ns.Simulator.Run()
        pub.round(sim_time_s=ns.Simulator.Now().GetSeconds())
    if not pub.stop_requested:
        ns.Simulator.Stop(ns.Seconds(end) - ns.Simulator.Now())
        ns.Simulator.Run()
    pub.finish("stopped" if pub.stop_requested else "ok", sim_time_s=ns.Simulator.Now().GetSeconds())
    ns.Simulator.Destroy()
    pub.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
