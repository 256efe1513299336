#include "iot-city-twin.h"

#include "ns3/lte-enb-net-device.h"
#include "ns3/lte-enb-phy.h"

#include <algorithm>

namespace gaidt
{

using namespace ns3;

void
InstallIotCityTwin(TwinBridge& bridge,
                   const ScenarioConfig& cfg,
                   std::shared_ptr<IotStats> stats,
                   NetDeviceContainer enbDevs)
{
    IotStats* st = stats.get();
    auto sensor = [st](uint32_t i) -> SensorStats& { return st->sensors[i]; };

    NodeSet& s = bridge.AddNodeSet(
        "sensor",
        "dtmi:gaidt:IoTSensor;1",
        [st]() { return uint32_t(st->sensors.size()); },
        true);
    s.AddColumn("x_m", "m", [=](uint32_t i) { return sensor(i).xM; })
        .AddColumn("y_m", "m", [=](uint32_t i) { return sensor(i).yM; })
        .AddColumn("active", "bool", [=](uint32_t i) { return double(sensor(i).active); })
        .AddColumn("attached", "bool", [=](uint32_t i) { return double(sensor(i).attached); })
        .AddColumn("attached_gateway",
                   "index",
                   [=](uint32_t i) { return double(sensor(i).attachedGateway); })
        .AddColumn("tx_packets", "packets", [=](uint32_t i) { return double(sensor(i).txPackets); })
        .AddColumn("tx_bytes", "bytes", [=](uint32_t i) { return double(sensor(i).txBytes); })
        .AddColumn("rx_packets", "packets", [=](uint32_t i) { return double(sensor(i).rxPackets); })
        .AddColumn("rx_bytes", "bytes", [=](uint32_t i) { return double(sensor(i).rxBytes); })
        .AddColumn("late_packets",
                   "packets",
                   [=](uint32_t i) { return double(sensor(i).latePackets); })
        .AddColumn("buffer_drops",
                   "packets",
                   [=](uint32_t i) { return double(sensor(i).bufferDrops); })
        .AddColumn("in_flight_packets",
                   "packets",
                   [=](uint32_t i) {
                       const SensorStats& x = sensor(i);
                       const double v =
                           double(x.txPackets) - double(x.rxPackets) - double(x.bufferDrops);
                       return std::max(v, 0.0);
                   })
        .AddColumn("latency_last_ms", "ms", [=](uint32_t i) { return sensor(i).lastLatencyMs; })
        .AddColumn("latency_mean_ms",
                   "ms",
                   [=](uint32_t i) {
                       const SensorStats& x = sensor(i);
                       return x.rxPackets ? x.latencySumMs / x.rxPackets : 0.0;
                   })
        .AddColumn("rsrp_dbm", "dBm", [=](uint32_t i) { return sensor(i).rsrpDbm; })
        .AddColumn("sinr_db", "dB", [=](uint32_t i) { return sensor(i).sinrDb; })
        .AddColumn("report_period_s", "s", [=](uint32_t i) { return sensor(i).reportPeriodS; })
        .AddColumn("payload_max_bytes",
                   "bytes",
                   [=](uint32_t i) { return double(sensor(i).payloadMaxBytes); })
        .AddColumn("fill_level", "ratio", [=](uint32_t i) { return sensor(i).fillLevel; })
        .AddColumn("responses", "packets", [=](uint32_t i) { return double(sensor(i).responses); })
        .AddColumn("on_time_responses",
                   "packets",
                   [=](uint32_t i) { return double(sensor(i).onTimeResponses); })
        .AddColumn("energy_j", "J", [=](uint32_t i) {
            return st->energySoFarJ ? st->energySoFarJ(i) : 0.0;
        });

    const uint32_t payloadMin = cfg.payloadMinBytes;
    s.AddParameter(
         "report_period_s",
         [=](uint32_t i) { return sensor(i).reportPeriodS; },
         [=](uint32_t i, double v) { sensor(i).reportPeriodS = v; },
         [](double v) { return v >= 0.001 && v <= 3600 ? "" : "allowed: 0.001 .. 3600 s"; })
        .AddParameter(
            "payload_max_bytes",
            [=](uint32_t i) { return double(sensor(i).payloadMaxBytes); },
            [=](uint32_t i, double v) { sensor(i).payloadMaxBytes = uint32_t(v); },
            [=](double v) {
                return v >= payloadMin && v <= 65000 ? std::string()
                                                     : "allowed: " + std::to_string(payloadMin) +
                                                           " (traffic.payload_bytes.min) .. 65000";
            })
        .AddParameter(
            "active",
            [=](uint32_t i) { return double(sensor(i).active); },
            [=](uint32_t i, double v) {
                const bool on = v != 0;
                if (on != sensor(i).active)
                {
                    st->events.push_back({on ? "join" : "leave",
                                          i,
                                          sensor(i).attachedGateway,
                                          Simulator::Now().GetSeconds()});
                }
                sensor(i).active = on;
            },
            [](double v) { return v == 0 || v == 1 ? "" : "allowed: 0 (leave) or 1 (join)"; });

    NodeSet& g = bridge.AddNodeSet(
        "gateway",
        "dtmi:gaidt:Gateway;1",
        [st]() { return uint32_t(st->gateways.size()); },
        false);
    g.AddColumn("x_m", "m", [st](uint32_t i) { return st->gateways[i].xM; })
        .AddColumn("y_m", "m", [st](uint32_t i) { return st->gateways[i].yM; })
        .AddColumn("cell_id", "id", [st](uint32_t i) { return double(st->gateways[i].cellId); })
        .AddColumn("attached_sensors",
                   "sensors",
                   [st](uint32_t i) {
                       return double(std::count_if(
                           st->sensors.begin(),
                           st->sensors.end(),
                           [i](const SensorStats& x) { return x.attachedGateway == int32_t(i); }));
                   })
        .AddColumn("rx_packets",
                   "packets",
                   [st](uint32_t i) {
                       double sum = 0;
                       for (const SensorStats& x : st->sensors)
                       {
                           sum += x.attachedGateway == int32_t(i) ? double(x.rxPackets) : 0.0;
                       }
                       return sum;
                   })
        .AddColumn("rx_bytes",
                   "bytes",
                   [st](uint32_t i) {
                       double sum = 0;
                       for (const SensorStats& x : st->sensors)
                       {
                           sum += x.attachedGateway == int32_t(i) ? double(x.rxBytes) : 0.0;
                       }
                       return sum;
                   })
        .AddColumn("tx_power_dbm", "dBm", [enbDevs](uint32_t i) {
            return DynamicCast<LteEnbNetDevice>(enbDevs.Get(i))->GetPhy()->GetTxPower();
        });
    g.AddParameter(
        "tx_power_dbm",
        [enbDevs](uint32_t i) {
            return DynamicCast<LteEnbNetDevice>(enbDevs.Get(i))->GetPhy()->GetTxPower();
        },
        [enbDevs](uint32_t i, double v) {
            DynamicCast<LteEnbNetDevice>(enbDevs.Get(i))->GetPhy()->SetTxPower(v);
        },
        [](double v) { return v >= 0 && v <= 46 ? "" : "allowed: 0 .. 46 dBm"; });

    bridge.SetBeforePublish([&bridge, st]() {
        for (const TopologyEvent& e : st->events)
        {
            bridge.AddEvent(e.type, "sensor", e.sensor, {{"gateway", e.gateway}}, e.simTimeS);
        }
        st->events.clear();
    });

    bridge.SetStatic({{"scenario", cfg.name},
                      {"radio", cfg.radio},
                      {"service", cfg.service},
                      {"sensors", cfg.sensors},
                      {"gateways", cfg.gateways},
                      {"area_m", cfg.areaM},
                      {"deadline_ms", cfg.deadlineMs}});
}

} // namespace gaidt
