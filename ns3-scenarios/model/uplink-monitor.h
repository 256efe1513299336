// uplink-monitor.h: per-sensor uplink evidence and link budget.
//
// Connects to ns-3's own trace sources (LteEnbMac UlScheduling, LteEnbPhy
// ReportUeSinr, the gateway's UL LteSpectrumPhy UlPhyReception) and to the
// UlGrantGuardScheduler's UlBsr / UlGrantRaised, and counts per sensor into
// IotStats: grants, their MCS and size, BSRs, PUSCH transport blocks decoded
// or lost, SRS SINR. The result writer uses these to say why a sensor is not
// served (result.schema.json, sensors[].status).
#ifndef GAIDT_UPLINK_MONITOR_H
#define GAIDT_UPLINK_MONITOR_H

#include "helper/scenario-config.h"
#include "model/iot-stats.h"
#include "model/sensor-status.h"

#include "ns3/lte-common.h"
#include "ns3/net-device-container.h"
#include "ns3/propagation-loss-model.h"

#include <cstdint>
#include <map>

namespace gaidt
{

/** The link budget of a scenario (ns-3's default noise figures: LteEnbPhy 5 dB, LteUePhy 9 dB). */
LinkBudgetModel MakeLinkBudgetModel(const ScenarioConfig& cfg, double uePcmaxDbm);

class UplinkMonitor
{
  public:
    /**
     * \param stats where to count (sensors[] indexed by sensor id)
     * \param enbDevs the gateways, in gateway order
     */
    UplinkMonitor(IotStats* stats, const ns3::NetDeviceContainer& enbDevs);

    /** A sensor connected to (cellId, rnti); from now on its evidence is counted. */
    void Register(uint32_t sensor, uint16_t cellId, uint16_t rnti);

    /**
     * Fill each sensor's static link budget towards its planned gateway.
     * \param loss the channel's propagation loss model
     * \param ueDevs the sensors, in sensor order
     * \param budget the scenario's link budget
     */
    void ComputeLinkBudgets(ns3::Ptr<ns3::PropagationLossModel> loss,
                            const ns3::NetDeviceContainer& ueDevs,
                            const LinkBudgetModel& budget);

  private:
    SensorStats* Find(uint16_t cellId, uint16_t rnti);
    static void OnUlScheduling(UplinkMonitor* m,
                               uint16_t cellId,
                               uint32_t,
                               uint32_t,
                               uint16_t rnti,
                               uint8_t mcs,
                               uint16_t tbBytes,
                               uint8_t);
    static void OnSrsSinr(UplinkMonitor* m,
                          uint16_t cellId,
                          uint16_t rnti,
                          double sinrLinear,
                          uint8_t);
    static void OnUlReception(UplinkMonitor* m, ns3::PhyReceptionStatParameters p);
    static void OnBsr(UplinkMonitor* m, uint16_t cellId, uint16_t rnti, uint32_t bytes);
    static void OnGrantRaised(UplinkMonitor* m,
                              uint16_t cellId,
                              uint16_t rnti,
                              uint8_t,
                              uint16_t,
                              uint16_t);

    IotStats* m_stats;
    ns3::NetDeviceContainer m_enbDevs;
    std::map<uint32_t, uint32_t> m_sensorOf; // (cellId << 16 | rnti) -> sensor
};

} // namespace gaidt

#endif
