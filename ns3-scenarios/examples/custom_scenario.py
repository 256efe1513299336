#!/usr/bin/env python3
"""A custom ns-3 scenario in Python, published on the twin bridge (docs/custom-scenarios.md).

    sensors (UEs, two clusters) ~~ LTE ~~ 2 gateways (eNBs) == EPC == server (one UdpServer per sensor)

    .venv/bin/python ns3-scenarios/examples/custom_scenario.py --bridge-pub tcp://127.0.0.1:5555 &
    .venv/bin/python experiments/run.py record --bridge-pub tcp://127.0.0.1:5555 --out results/custom
    .venv/bin/python experiments/run.py explore results/custom
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from gaidt_bridge.publisher import TwinPublisher  # noqa: E402

ap = argparse.ArgumentParser(description="two clusters of LTE sensors on the twin bridge")
ap.add_argument("--bridge-pub", required=True, help="snapshot endpoint to bind (tcp://127.0.0.1:PORT or ipc:///PATH)")
ap.add_argument("--bridge-cmd", default="", help="command endpoint to bind (optional)")
ap.add_argument("--sensors", type=int, default=8, help="sensors, alternately in the two clusters")
ap.add_argument("--duration-s", type=float, default=2.0, help="simulated seconds of traffic")
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()
from ns import ns  # noqa: E402 -- about 30 s: cppyy parses ns-3's headers (so: after argument parsing)

n, period_s, start_s = args.sensors, 0.1, 0.5
ns.RngSeedManager.SetSeed(args.seed)
lte, epc = ns.CreateObject[ns.LteHelper](), ns.CreateObject[ns.PointToPointEpcHelper]()
lte.SetEpcHelper(epc)
server, enbs, ues = ns.NodeContainer(1), ns.NodeContainer(2), ns.NodeContainer(n)
ns.InternetStackHelper().Install(server)
ip = ns.Ipv4AddressHelper()
ip.SetBase(ns.Ipv4Address("1.0.0.0"), ns.Ipv4Mask("255.0.0.0"))
server_ip = ip.Assign(ns.PointToPointHelper().Install(epc.GetPgwNode(), server.Get(0))).GetAddress(1)
routing = ns.Ipv4StaticRoutingHelper()
routing.GetStaticRouting(server.Get(0).GetObject[ns.Ipv4]()).AddNetworkRouteTo(
    ns.Ipv4Address("7.0.0.0"), ns.Ipv4Mask("255.0.0.0"), 1)
gw_xy = [(0.0, 0.0), (400.0, 0.0)]
ue_xy = [(gw_xy[i % 2][0] + 30.0 * (i // 2), 50.0 + 20.0 * (i % 3)) for i in range(n)]  # sensor i near gateway i % 2
for nodes, xys in ((enbs, gw_xy), (ues, ue_xy)):
    alloc, mobility = ns.CreateObject[ns.ListPositionAllocator](), ns.MobilityHelper()
    for x, y in xys:
        alloc.Add(ns.Vector(x, y, 1.5))
    mobility.SetPositionAllocator(alloc)
    mobility.Install(nodes)
enb_devs, ue_devs = lte.InstallEnbDevice(enbs), lte.InstallUeDevice(ues)
ns.InternetStackHelper().Install(ues)
epc.AssignUeIpv4Address(ue_devs)
clients, servers, interval_s = [], [], [0.25] * n
for i in range(n):
    routing.GetStaticRouting(ues.Get(i).GetObject[ns.Ipv4]()).SetDefaultRoute(epc.GetUeDefaultGatewayAddress(), 1)
    lte.Attach(ue_devs.Get(i), enb_devs.Get(i % 2))
    servers.append(ns.UdpServerHelper(9000 + i).Install(server.Get(0)).Get(0).GetObject[ns.UdpServer]())
    client = ns.UdpClientHelper(server_ip.ConvertTo(), 9000 + i)
    client.SetAttribute("Interval", ns.TimeValue(ns.Seconds(interval_s[i])))
    client.SetAttribute("PacketSize", ns.UintegerValue(100))
    apps = client.Install(ues.Get(i))
    apps.Start(ns.Seconds(start_s))
    clients.append(apps.Get(0).GetObject[ns.UdpClient]())


def set_interval(i, v):  # a twin's `set sensor-<i> interval_s <v>`, applied at the next round
    interval_s[i] = v
    clients[i].SetAttribute("Interval", ns.TimeValue(ns.Seconds(v)))


rx_bytes = lambda: [100.0 * s.GetReceived() for s in servers]  # noqa: E731 -- 100-byte packets
pub = TwinPublisher(args.bridge_pub, args.bridge_cmd or None, run_id=f"custom-{args.seed}")
sensors = pub.add_node_set("sensor", "dtmi:gaidt:IoTSensor;1", n, sampled=True)
sensors.column("x_m", "m", lambda: [x for x, _ in ue_xy]).column("y_m", "m", lambda: [y for _, y in ue_xy])
sensors.column("attached_gateway", "index", lambda: [float(i % 2) for i in range(n)])
sensors.column("tx_bytes", "bytes", lambda: [float(c.GetTotalTx()) for c in clients])
sensors.column("rx_packets", "packets", lambda: [float(s.GetReceived()) for s in servers])
sensors.column("rx_bytes", "bytes", rx_bytes).column("interval_s", "s", lambda: interval_s)
sensors.parameter("interval_s", get=lambda i: interval_s[i], set=set_interval,
                  check=lambda v: "" if 0.01 <= v <= 60 else "allowed: 0.01 .. 60 s")
gateways = pub.add_node_set("gateway", "dtmi:gaidt:Gateway;1", 2, sampled=False)
gateways.column("x_m", "m", lambda: [x for x, _ in gw_xy]).column("y_m", "m", lambda: [y for _, y in gw_xy])
gateways.column("rx_bytes", "bytes", lambda: [sum(rx_bytes()[g::2]) for g in (0, 1)])
end_s = start_s + args.duration_s
pub.start(period_s, twinning_rate=0.8, seed=args.seed, end_time_s=end_s, static={"scenario": "custom_scenario"})
for k in range(1, pub.rounds + 1):  # round k at k * period_s < end_s (gaidt_bridge/PROTOCOL.md, "Timing")
    ns.Simulator.Stop(ns.Seconds(k * period_s) - ns.Simulator.Now())
    ns.Simulator.Run()
    pub.round(sim_time_s=ns.Simulator.Now().GetSeconds())
    if pub.stop_requested:
        break
if not pub.stop_requested:  # the rest up to end_s; its final state goes in gaidt.end
    ns.Simulator.Stop(ns.Seconds(end_s) - ns.Simulator.Now())
    ns.Simulator.Run()
pub.finish("stopped" if pub.stop_requested else "ok", sim_time_s=ns.Simulator.Now().GetSeconds())
ns.Simulator.Destroy()
pub.close()
