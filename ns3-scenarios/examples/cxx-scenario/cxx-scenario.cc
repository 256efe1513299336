// cxx-scenario: a custom ns-3 program in C++ that publishes its twin on the GAIDT bridge.
//
//   sensors (nodes on a line, ConstantPosition) -- one report every report_period_s --> counters
//   gateway-0 at the origin
//
// Built out of tree by its own CMakeLists.txt (add_subdirectory of a GAIDT checkout), then:
//   ./cxx-scenario --bridge-pub=tcp://127.0.0.1:5555 --bridge-cmd=tcp://127.0.0.1:5556 &
//   .venv/bin/python experiments/run.py record --bridge-pub tcp://127.0.0.1:5555 \
//       --bridge-cmd tcp://127.0.0.1:5556 --out results/cxx
//   .venv/bin/python experiments/run.py explore results/cxx
// The bridge lines in main() are the usage comment of gaidt-bridge/twin-bridge.h, verbatim.

#include "gaidt-bridge/twin-bridge.h"

#include "ns3/core-module.h"
#include "ns3/mobility-module.h"
#include "ns3/network-module.h"

#include <cstdint>
#include <string>
#include <vector>

using namespace ns3;

namespace
{

const double kPayloadBytes = 50;

void
Report(uint32_t i, std::vector<uint64_t>* tx, const std::vector<double>* period)
{
    (*tx)[i] += 1;
    Simulator::Schedule(Seconds((*period)[i]), &Report, i, tx, period);
}

} // namespace

int
main(int argc, char* argv[])
{
    std::string pub = "ipc:///tmp/gaidt-cxx-scenario/pub";
    std::string cmd;
    uint32_t n = 6;
    CommandLine cl(__FILE__);
    cl.AddValue("bridge-pub",
                "snapshot endpoint to bind (tcp://127.0.0.1:PORT or ipc:///PATH)",
                pub);
    cl.AddValue("bridge-cmd", "command endpoint to bind (empty: none)", cmd);
    cl.AddValue("sensors", "number of sensors", n);
    cl.Parse(argc, argv);

    NodeContainer nodes;
    nodes.Create(n + 1); // the sensors, then the gateway
    MobilityHelper mobility;
    Ptr<ListPositionAllocator> positions = CreateObject<ListPositionAllocator>();
    for (uint32_t i = 0; i < n; ++i)
    {
        positions->Add(Vector(25.0 * (i + 1), 10.0 * (i % 3), 1.5));
    }
    positions->Add(Vector(0, 0, 10));
    mobility.SetPositionAllocator(positions);
    mobility.Install(nodes);
    auto xy = [&nodes](uint32_t node, bool y) {
        Vector v = nodes.Get(node)->GetObject<MobilityModel>()->GetPosition();
        return y ? v.y : v.x;
    };

    std::vector<uint64_t> tx(n, 0);
    std::vector<double> period(n, 1.0);
    for (uint32_t i = 0; i < n; ++i)
    {
        Simulator::Schedule(Seconds(0.1 * (i + 1)), &Report, i, &tx, &period);
    }

    gaidt::TwinBridgeHelper helper;
    helper.SetAttribute("Period", TimeValue(Seconds(0.1)));
    helper.SetAttribute("TwinningRate", DoubleValue(0.8));
    Ptr<gaidt::TwinBridge> bridge = helper.Create(pub, cmd, "run-1");
    auto& sensors = bridge->AddNodeSet("sensor", "dtmi:gaidt:IoTSensor;1", [n] { return n; }, true);
    sensors.AddColumn("tx_packets", "packets", [&](uint32_t i) { return double(tx[i]); });
    sensors.AddParameter(
        "report_period_s",
        [&](uint32_t i) { return period[i]; },
        [&](uint32_t i, double v) { period[i] = v; });
    sensors.AddColumn("tx_bytes", "bytes", [&](uint32_t i) { return kPayloadBytes * tx[i]; });
    sensors.AddColumn("report_period_s", "s", [&](uint32_t i) { return period[i]; });
    sensors.AddColumn("x_m", "m", [&](uint32_t i) { return xy(i, false); });
    sensors.AddColumn("y_m", "m", [&](uint32_t i) { return xy(i, true); });
    auto& gateways =
        bridge->AddNodeSet("gateway", "dtmi:gaidt:Gateway;1", [] { return 1u; }, false);
    gateways.AddColumn("x_m", "m", [&](uint32_t) { return xy(n, false); });
    gateways.AddColumn("y_m", "m", [&](uint32_t) { return xy(n, true); });
    bridge->SetStatic({{"scenario", "cxx_scenario"}, {"sensors", n}});
    bridge->Start(/*stop=*/Seconds(10));
    Simulator::Stop(Seconds(10));
    Simulator::Run();
    bridge->Finish("ok");
    Simulator::Destroy();
    return 0;
}
