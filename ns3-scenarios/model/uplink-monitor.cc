#include "model/uplink-monitor.h"

#include "model/topology.h"
#include "model/ul-grant-guard-scheduler.h"

#include "ns3/abort.h"
#include "ns3/double.h"
#include "ns3/lte-enb-mac.h"
#include "ns3/lte-enb-net-device.h"
#include "ns3/lte-enb-phy.h"
#include "ns3/lte-spectrum-phy.h"
#include "ns3/mobility-model.h"
#include "ns3/node.h"

#include <algorithm>
#include <cmath>

namespace gaidt
{

using namespace ns3;

UplinkMonitor::UplinkMonitor(IotStats* stats, const NetDeviceContainer& enbDevs)
    : m_stats(stats),
      m_enbDevs(enbDevs)
{
    for (uint32_t g = 0; g < enbDevs.GetN(); ++g)
    {
        Ptr<LteEnbNetDevice> enb = DynamicCast<LteEnbNetDevice>(enbDevs.Get(g));
        const uint16_t cellId = enb->GetCellId();
        enb->GetMac()->TraceConnectWithoutContext("UlScheduling",
                                                  MakeBoundCallback(&OnUlScheduling, this, cellId));
        enb->GetPhy()->TraceConnectWithoutContext("ReportUeSinr",
                                                  MakeBoundCallback(&OnSrsSinr, this));
        enb->GetPhy()->GetUlSpectrumPhy()->TraceConnectWithoutContext(
            "UlPhyReception",
            MakeBoundCallback(&OnUlReception, this));
        for (const auto& guard : UlGrantGuardScheduler::InstalledOn(enb))
        {
            guard->TraceConnectWithoutContext("UlBsr", MakeBoundCallback(&OnBsr, this, cellId));
            guard->TraceConnectWithoutContext("UlGrantRaised",
                                              MakeBoundCallback(&OnGrantRaised, this, cellId));
        }
    }
}

void
UplinkMonitor::Register(uint32_t sensor, uint16_t cellId, uint16_t rnti)
{
    m_sensorOf[(static_cast<uint32_t>(cellId) << 16) | rnti] = sensor;
}

SensorStats*
UplinkMonitor::Find(uint16_t cellId, uint16_t rnti)
{
    auto it = m_sensorOf.find((static_cast<uint32_t>(cellId) << 16) | rnti);
    return it == m_sensorOf.end() ? nullptr : &m_stats->sensors[it->second];
}

void
UplinkMonitor::OnUlScheduling(UplinkMonitor* m,
                              uint16_t cellId,
                              uint32_t,
                              uint32_t,
                              uint16_t rnti,
                              uint8_t mcs,
                              uint16_t tbBytes,
                              uint8_t)
{
    SensorStats* s = m->Find(cellId, rnti);
    if (!s)
    {
        return;
    }
    s->ulGrants++;
    s->ulGrantBytes += tbBytes;
    s->ulGrantsUnusable += tbBytes <= kUeMacMaxUselessTbBytes;
    s->ulMcsMin = s->ulMcsMin < 0 ? mcs : std::min<int32_t>(s->ulMcsMin, mcs);
    s->ulMcsMax = std::max<int32_t>(s->ulMcsMax, mcs);
}

void
UplinkMonitor::OnSrsSinr(UplinkMonitor* m,
                         uint16_t cellId,
                         uint16_t rnti,
                         double sinrLinear,
                         uint8_t)
{
    SensorStats* s = m->Find(cellId, rnti);
    if (!s)
    {
        return;
    }
    const double db = 10 * std::log10(std::max(sinrLinear, 1e-30));
    s->ulSrsReports++;
    s->ulSrsSinrDb = db;
    s->ulSrsSinrMinDb = std::min(s->ulSrsSinrMinDb, db);
}

void
UplinkMonitor::OnUlReception(UplinkMonitor* m, PhyReceptionStatParameters p)
{
    SensorStats* s = m->Find(p.m_cellId, p.m_rnti);
    if (!s)
    {
        return;
    }
    (p.m_correctness ? s->ulTbOk : s->ulTbErr)++;
}

void
UplinkMonitor::OnBsr(UplinkMonitor* m, uint16_t cellId, uint16_t rnti, uint32_t bytes)
{
    SensorStats* s = m->Find(cellId, rnti);
    if (!s)
    {
        return;
    }
    s->ulBsrs++;
    s->ulBsrNonEmpty += bytes > 0;
}

void
UplinkMonitor::OnGrantRaised(UplinkMonitor* m,
                             uint16_t cellId,
                             uint16_t rnti,
                             uint8_t,
                             uint16_t,
                             uint16_t)
{
    if (SensorStats* s = m->Find(cellId, rnti))
    {
        s->ulGrantsRaised++;
    }
}

void
UplinkMonitor::ComputeLinkBudgets(Ptr<PropagationLossModel> loss,
                                  const NetDeviceContainer& ueDevs,
                                  const LinkBudgetModel& budget)
{
    for (uint32_t i = 0; i < ueDevs.GetN() && i < m_stats->sensors.size(); ++i)
    {
        SensorStats& s = m_stats->sensors[i];
        if (s.plannedGateway < 0 || static_cast<uint32_t>(s.plannedGateway) >= m_enbDevs.GetN())
        {
            continue;
        }
        Ptr<MobilityModel> a =
            m_enbDevs.Get(s.plannedGateway)->GetNode()->GetObject<MobilityModel>();
        Ptr<MobilityModel> b = ueDevs.Get(i)->GetNode()->GetObject<MobilityModel>();
        s.pathlossDb = -loss->CalcRxPower(0, a, b); // isotropic antennas (LteHelper default)
        s.ulSnrDb = budget.UlSnrDb(s.pathlossDb);
        s.dlSnrDb = budget.DlSnrDb(s.pathlossDb);
    }
}

namespace
{

double
DefaultDouble(const std::string& tid, const std::string& attr)
{
    TypeId::AttributeInformation info;
    NS_ABORT_MSG_UNLESS(TypeId::LookupByName(tid).LookupAttributeByName(attr, &info),
                        tid << "::" << attr);
    return DynamicCast<const DoubleValue>(info.initialValue)->Get();
}

} // namespace

LinkBudgetModel
MakeLinkBudgetModel(const ScenarioConfig& cfg, double uePcmaxDbm)
{
    LinkBudgetModel m;
    m.ulThresholdDb = LowestMcsSinrDb();
    m.dlThresholdDb = cfg.service == "tic" ? LowestMcsSinrDb() : PdcchTenPercentBlerSinrDb();
    m.uePcmaxDbm = uePcmaxDbm;
    m.enbTxPowerDbm = cfg.enbTxPowerDbm;
    m.resourceBlocks = cfg.resourceBlocks;
    m.enbNoiseFigureDb = DefaultDouble("ns3::LteEnbPhy", "NoiseFigure");
    m.ueNoiseFigureDb = DefaultDouble("ns3::LteUePhy", "NoiseFigure");
    // SNR is linear in pathloss with slope -1: max pathloss = SNR(0) - threshold.
    m.maxPathlossDb = std::min(m.UlSnrDb(0) - m.ulThresholdDb, m.DlSnrDb(0) - m.dlThresholdDb);
    const double d3 =
        std::pow(10.0, (m.maxPathlossDb - cfg.referenceLossDb) / (10 * cfg.pathlossExponent));
    const double dh = kGatewayHeightM - kSensorHeightM;
    m.reachM = d3 > dh ? std::sqrt(d3 * d3 - dh * dh) : 0.0;
    return m;
}

} // namespace gaidt
