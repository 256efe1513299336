#include "model/fast/dl-ctrl-aggregator.h"

#include "model/approx/max-loss-filter.h"

#include "ns3/double.h"
#include "ns3/lte-enb-net-device.h"
#include "ns3/lte-enb-phy.h"
#include "ns3/lte-spectrum-phy.h"
#include "ns3/lte-spectrum-signal-parameters.h"
#include "ns3/lte-spectrum-value-helper.h"
#include "ns3/lte-ue-net-device.h"
#include "ns3/lte-ue-phy.h"
#include "ns3/mobility-model.h"
#include "ns3/node.h"
#include "ns3/simulator.h"
#include "ns3/spectrum-channel.h"

#include <cmath>
#include <limits>

namespace gaidt
{

using namespace ns3;

namespace
{

/** Cell id of the summed signal: never a real cell, and never a UE's "no cell" (0). */
constexpr uint16_t kSumCellId = std::numeric_limits<uint16_t>::max();

} // namespace

TypeId
DlCtrlAggregator::GetTypeId()
{
    static TypeId tid =
        TypeId("gaidt::DlCtrlAggregator").SetParent<SpectrumTransmitFilter>().SetGroupName("Gaidt");
    return tid;
}

DlCtrlAggregator::DlCtrlAggregator(Ptr<SpectrumChannel> channel,
                                   const NetDeviceContainer& enbDevs,
                                   const NetDeviceContainer& ueDevs,
                                   bool keepPss)
    : m_loss(channel->GetPropagationLossModel()),
      m_delay(channel->GetPropagationDelayModel()),
      m_keepPss(keepPss)
{
    DoubleValue maxLoss;
    channel->GetAttribute("MaxLossDb", maxLoss);
    m_maxLossDb = maxLoss.Get();
    for (uint32_t i = 0; i < enbDevs.GetN(); ++i)
    {
        auto dev = DynamicCast<LteEnbNetDevice>(enbDevs.Get(i));
        Enb enb;
        enb.phy = dev->GetPhy()->GetDownlinkSpectrumPhy();
        enb.cellId = dev->GetCellId();
        // The control frame's PSD as LteEnbPhy::SendControlChannels builds it: all RBs, full power.
        std::vector<int> allRbs(dev->GetDlBandwidth());
        for (uint16_t rb = 0; rb < dev->GetDlBandwidth(); ++rb)
        {
            allRbs[rb] = rb;
        }
        enb.ctrlPsd =
            LteSpectrumValueHelper::CreateTxPowerSpectralDensity(dev->GetDlEarfcn(),
                                                                 dev->GetDlBandwidth(),
                                                                 dev->GetPhy()->GetTxPower(),
                                                                 allRbs);
        m_enbIndex[PeekPointer(enb.phy)] = i;
        m_cellToEnb[enb.cellId] = i;
        m_enbs.push_back(enb);
    }
    for (uint32_t i = 0; i < ueDevs.GetN(); ++i)
    {
        auto dev = DynamicCast<LteUeNetDevice>(ueDevs.Get(i));
        Ue ue;
        ue.rrc = dev->GetRrc();
        ue.phy = dev->GetPhy()->GetDownlinkSpectrumPhy();
        ue.nodeId = dev->GetNode()->GetId();
        ue.listedAt = kNoEnb;
        m_unserved.push_back(PeekPointer(ue.phy));
        m_ues[PeekPointer(ue.phy)] = ue;
    }
    m_served.resize(m_enbs.size());
}

bool
DlCtrlAggregator::Manages(const SpectrumPhy* receiver) const
{
    return m_ues.contains(receiver);
}

bool
DlCtrlAggregator::SelectReceivers(Ptr<const SpectrumSignalParameters> params,
                                  std::vector<SpectrumPhy*>& out)
{
    const auto* ctrl =
        dynamic_cast<const LteSpectrumSignalParametersDlCtrlFrame*>(PeekPointer(params));
    if (!ctrl || (m_keepPss && ctrl->pss))
    {
        return false;
    }
    NoteTransmission(*params);
    if (m_lastEnb == kNoEnb)
    {
        return false;
    }
    // Every other sensor has a serving cell that is not this one: DoFilter drops the frame
    // for it (no side effect), the summed signal carries it.
    out.insert(out.end(), m_served[m_lastEnb].begin(), m_served[m_lastEnb].end());
    out.insert(out.end(), m_unserved.begin(), m_unserved.end());
    return true;
}

void
DlCtrlAggregator::NoteTransmission(const SpectrumSignalParameters& params)
{
    if (PeekPointer(params.txPhy) == m_lastTxPhy)
    {
        return;
    }
    // The channel calls the filter for every receiver of one transmission in a row.
    m_lastTxPhy = PeekPointer(params.txPhy);
    const auto it = m_enbIndex.find(m_lastTxPhy);
    m_lastEnb = it == m_enbIndex.end() ? kNoEnb : it->second;
    if (m_lastEnb != kNoEnb)
    {
        NoteTxPsd(m_enbs[m_lastEnb], params);
    }
}

void
DlCtrlAggregator::Relist(Ue& ue)
{
    const auto cell = m_cellToEnb.find(ue.serving);
    const uint32_t target = ue.serving == 0 || cell == m_cellToEnb.end() ? kNoEnb : cell->second;
    if (target == ue.listedAt)
    {
        return;
    }
    auto& from = ue.listedAt == kNoEnb ? m_unserved : m_served[ue.listedAt];
    std::erase(from, PeekPointer(ue.phy));
    auto& to = target == kNoEnb ? m_unserved : m_served[target];
    to.push_back(PeekPointer(ue.phy));
    ue.listedAt = target;
}

bool
DlCtrlAggregator::DoFilter(Ptr<const SpectrumSignalParameters> params,
                           Ptr<const SpectrumPhy> receiverPhy)
{
    const auto* ctrl =
        dynamic_cast<const LteSpectrumSignalParametersDlCtrlFrame*>(PeekPointer(params));
    if (!ctrl)
    {
        return false; // data frames (and anything else) go through as in ns-3
    }
    NoteTransmission(*params);
    const auto ueIt = m_ues.find(PeekPointer(receiverPhy));
    if (m_lastEnb == kNoEnb || ueIt == m_ues.end() || (m_keepPss && ctrl->pss))
    {
        return false;
    }
    Ue& ue = ueIt->second;
    // The serving cell is read from the RRC once per subframe (on its own frame), not for
    // every neighbour's frame; a cell change is seen at the old cell's next frame.
    if (ue.serving == 0 || ctrl->cellId == ue.serving)
    {
        ue.serving = ue.rrc->GetCellId();
        Relist(ue);
    }
    if (ue.serving == 0 || !m_cellToEnb.contains(ue.serving) ||
        params->psd->GetSpectrumModelUid() != ue.phy->GetRxSpectrumModel()->GetUid())
    {
        return false; // not camped yet, or another carrier: exactly as ns-3
    }
    if (ctrl->cellId != ue.serving)
    {
        return true; // carried by the summed signal delivered with the serving frame
    }
    Deliver(ue, *ctrl, m_lastEnb);
    return false;
}

void
DlCtrlAggregator::NoteTxPsd(Enb& enb, const SpectrumSignalParameters& params)
{
    // One control frame per gateway per subframe: compare its PSD once per subframe.
    const Time now = Simulator::Now();
    if (now == enb.lastTxTime)
    {
        return;
    }
    enb.lastTxTime = now;
    if (!(*params.psd == *enb.ctrlPsd))
    {
        enb.ctrlPsd = params.psd->Copy();
        ++m_psdVersion; // every sum that includes this gateway is rebuilt on next use
    }
}

void
DlCtrlAggregator::BuildNeighbours(Ue& ue, uint16_t servingCell)
{
    ue.neighbours.clear();
    const auto rxUid = ue.phy->GetRxSpectrumModel()->GetUid();
    for (uint32_t k = 0; k < m_enbs.size(); ++k)
    {
        const Enb& enb = m_enbs[k];
        if (enb.cellId == servingCell || enb.ctrlPsd->GetSpectrumModelUid() != rxUid)
        {
            continue;
        }
        const double lossDb = ChannelLossDb(enb.phy->GetMobility(),
                                            ue.phy->GetMobility(),
                                            ConstCast<SpectrumPhy>(enb.phy)->GetAntenna(),
                                            ue.phy->GetAntenna(),
                                            m_loss);
        if (lossDb > m_maxLossDb)
        {
            continue; // the channel would not deliver it either
        }
        ue.neighbours.emplace_back(k, std::pow(10.0, -lossDb / 10.0));
    }
    ue.builtForCell = servingCell;
    ue.builtVersion = 0;
}

void
DlCtrlAggregator::Deliver(Ue& ue,
                          const LteSpectrumSignalParametersDlCtrlFrame& serving,
                          uint32_t servingEnb)
{
    if (m_keepPss && serving.pss)
    {
        return; // the neighbours' PSS frames are delivered one by one in this subframe
    }
    if (ue.builtForCell != serving.cellId)
    {
        BuildNeighbours(ue, serving.cellId);
    }
    if (ue.neighbours.empty())
    {
        return;
    }
    if (ue.builtVersion != m_psdVersion || ue.signal->duration != serving.duration)
    {
        // A new SpectrumValue each time: LteInterference keeps the pointer to subtract it later.
        Ptr<SpectrumValue> sum =
            Create<SpectrumValue>(m_enbs[servingEnb].ctrlPsd->GetSpectrumModel());
        for (const auto& [k, gain] : ue.neighbours)
        {
            *sum += *m_enbs[k].ctrlPsd * gain;
        }
        auto signal = Create<LteSpectrumSignalParametersDlCtrlFrame>();
        signal->psd = sum;
        signal->duration = serving.duration;
        signal->cellId = kSumCellId;
        signal->pss = false;
        ue.signal = signal;
        ue.builtVersion = m_psdVersion;
    }
    Time delay(0);
    if (m_delay)
    {
        delay = m_delay->GetDelay(m_enbs[servingEnb].phy->GetMobility(), ue.phy->GetMobility());
    }
    // Scheduled before the channel schedules the serving frame (the filter runs first),
    // so at the same instant the sum is added just before the serving reception starts.
    Simulator::ScheduleWithContext(ue.nodeId,
                                   delay,
                                   &SpectrumPhy::StartRx,
                                   ue.phy,
                                   Ptr<SpectrumSignalParameters>(ue.signal));
}

int64_t
DlCtrlAggregator::DoAssignStreams(int64_t)
{
    return 0;
}

} // namespace gaidt
