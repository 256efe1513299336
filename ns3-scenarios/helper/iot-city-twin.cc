#include "helper/iot-city-twin.h"

#include "ns3/lte-enb-net-device.h"
#include "ns3/lte-enb-phy.h"
#include "ns3/simulator.h"

#include <algorithm>
#include <memory>
#include <vector>

namespace gaidt
{

using namespace ns3;

namespace
{

/**
 * Per-gateway sums over the sensors attached to it, recomputed in one pass
 * over the sensors when first read in an ns-3 event (a snapshot's columns are
 * all read inside one event, so every column of one snapshot sees the same
 * sums, as when each summed the sensors itself).
 */
class GatewaySums
{
  public:
    struct Row
    {
        double attachedSensors = 0, rxPackets = 0, rxBytes = 0;
    };

    explicit GatewaySums(const IotStats* st)
        : m_st(st)
    {
    }

    const Row& Get(uint32_t gateway)
    {
        const Time now = Simulator::Now();
        const uint64_t events = Simulator::GetEventCount();
        if (!m_valid || now != m_at || events != m_events)
        {
            m_rows.assign(m_st->gateways.size(), Row{});
            for (const SensorStats& x : m_st->sensors)
            {
                if (x.attachedGateway >= 0 && std::size_t(x.attachedGateway) < m_rows.size())
                {
                    Row& r = m_rows[x.attachedGateway];
                    r.attachedSensors += 1;
                    r.rxPackets += double(x.rxPackets);
                    r.rxBytes += double(x.rxBytes);
                }
            }
            m_valid = true;
            m_at = now;
            m_events = events;
        }
        return m_rows.at(gateway);
    }

  private:
    const IotStats* m_st;
    std::vector<Row> m_rows;
    bool m_valid = false;
    Time m_at;
    uint64_t m_events = 0;
};

} // namespace

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

    // The per-gateway sums over the sensors, computed in one pass per snapshot (not one pass per
    // gateway and column: 3 x sensors x gateways per snapshot, 6 million steps at city scale).
    auto gwSums = std::make_shared<GatewaySums>(st);
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
                   [gwSums](uint32_t i) { return gwSums->Get(i).attachedSensors; })
        .AddColumn("rx_packets",
                   "packets",
                   [gwSums](uint32_t i) { return gwSums->Get(i).rxPackets; })
        .AddColumn("rx_bytes", "bytes", [gwSums](uint32_t i) { return gwSums->Get(i).rxBytes; })
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
