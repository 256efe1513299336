// ue-clock-gate.cc: see ue-clock-gate.h.
#include "model/fast/ue-clock-gate.h"

#include "model/lte-private-access.h"
#include "model/sensor-power.h"

#include "ns3/boolean.h"
#include "ns3/log.h"
#include "ns3/lte-control-messages.h"
#include "ns3/lte-ue-mac.h"
#include "ns3/lte-ue-net-device.h"
#include "ns3/lte-ue-phy.h"
#include "ns3/packet-burst.h"
#include "ns3/simulator.h"

#include <list>

NS_LOG_COMPONENT_DEFINE("GaidtUeClockGate");

namespace gaidt
{
namespace detail
{

// The state LteUePhy::SubframeIndication and LteUeMac::DoSubframeIndication read and write
// (ns-3 3.44), reached through the explicit-instantiation access rule (lte-private-access.h).
GAIDT_PRIVATE_MEMBER(PhyCtrlQueueTag,
                     ns3::LtePhy,
                     m_controlMessagesQueue,
                     std::vector<std::list<ns3::Ptr<ns3::LteControlMessage>>>);
GAIDT_PRIVATE_MEMBER(PhyMaskQueueTag,
                     ns3::LteUePhy,
                     m_subChannelsForTransmissionQueue,
                     std::vector<std::vector<int>>);
GAIDT_PRIVATE_MEMBER(PhyMaskTag, ns3::LteUePhy, m_subChannelsForTransmission, std::vector<int>);
GAIDT_PRIVATE_MEMBER(PhyUlConfiguredTag, ns3::LteUePhy, m_ulConfigured, bool);
GAIDT_PRIVATE_MEMBER(PhySrsConfiguredTag, ns3::LteUePhy, m_srsConfigured, bool);
GAIDT_PRIVATE_MEMBER(PhySrsStartTag, ns3::LteUePhy, m_srsStartTime, ns3::Time);
GAIDT_PRIVATE_MEMBER(PhySrsPeriodTag, ns3::LteUePhy, m_srsPeriodicity, uint16_t);
GAIDT_PRIVATE_MEMBER(PhySrsOffsetTag, ns3::LteUePhy, m_srsSubframeOffset, uint16_t);
GAIDT_PRIVATE_MEMBER(PhySubframeTag, ns3::LteUePhy, m_subframeNo, uint8_t);
GAIDT_PRIVATE_MEMBER(PhyRsrpFlagTag, ns3::LteUePhy, m_rsReceivedPowerUpdated, bool);
GAIDT_PRIVATE_MEMBER(PhyRsInterfFlagTag, ns3::LteUePhy, m_rsInterferencePowerUpdated, bool);
GAIDT_PRIVATE_MEMBER(PhyPssFlagTag, ns3::LteUePhy, m_pssReceived, bool);
GAIDT_PRIVATE_MEMBER(MacFreshBsrTag, ns3::LteUeMac, m_freshUlBsr, bool);
GAIDT_PRIVATE_MEMBER(MacHarqIdTag, ns3::LteUeMac, m_harqProcessId, uint8_t);
GAIDT_PRIVATE_MEMBER(MacHarqBufTag,
                     ns3::LteUeMac,
                     m_miUlHarqProcessesPacket,
                     std::vector<ns3::Ptr<ns3::PacketBurst>>);
GAIDT_PRIVATE_MEMBER(MacHarqTimerTag,
                     ns3::LteUeMac,
                     m_miUlHarqProcessesPacketTimer,
                     std::vector<uint8_t>);
GAIDT_PRIVATE_MEMBER(MacFrameTag, ns3::LteUeMac, m_frameNo, uint32_t);
GAIDT_PRIVATE_MEMBER(MacSubframeTag, ns3::LteUeMac, m_subframeNo, uint32_t);

template <typename Tag, typename Object>
auto&
Get(Object& o)
{
    return o.*Member(Tag{});
}

} // namespace detail

using namespace ns3;
using detail::Get;

namespace
{
/** Far beyond any simulation's end: the PHY's own next subframe while parked. */
constexpr double kParkedTtiS = 1e9;

/** The next (frame, subframe), numbered as LteUePhy::SubframeIndication does (1..10). */
void
Advance(uint32_t& frameNo, uint32_t& subframeNo)
{
    if (++subframeNo > 10)
    {
        ++frameNo;
        subframeNo = 1;
    }
}
} // namespace

/** The PHY's SAP user: forwards to the MAC, then tells the gate the subframe ended. */
class UeClockGate::SapUser : public LteUePhySapUser
{
  public:
    explicit SapUser(UeClockGate* gate)
        : m_gate(gate)
    {
    }

    void ReceivePhyPdu(Ptr<Packet> p) override
    {
        m_gate->m_macSap->ReceivePhyPdu(p);
    }

    void SubframeIndication(uint32_t frameNo, uint32_t subframeNo) override
    {
        m_gate->m_macSap->SubframeIndication(frameNo, subframeNo);
        m_gate->EndOfSubframe(frameNo, subframeNo);
    }

    void ReceiveLteControlMessage(Ptr<LteControlMessage> msg) override
    {
        m_gate->m_macSap->ReceiveLteControlMessage(msg);
    }

  private:
    UeClockGate* m_gate;
};

NS_OBJECT_ENSURE_REGISTERED(UeClockGate);

TypeId
UeClockGate::GetTypeId()
{
    static TypeId tid = TypeId("gaidt::UeClockGate")
                            .SetParent<Object>()
                            .SetGroupName("Gaidt")
                            .AddConstructor<UeClockGate>()
                            .AddAttribute("ParkWhileAwake",
                                          "Park the PHY clock after any subframe that leaves the "
                                          "PHY and MAC idle, not only while the sensor sleeps "
                                          "(for an event queue that releases parked events).",
                                          BooleanValue(false),
                                          MakeBooleanAccessor(&UeClockGate::m_parkWhileAwake),
                                          MakeBooleanChecker());
    return tid;
}

Time
UeClockGate::ParkingHorizon()
{
    return Seconds(kParkedTtiS / 2);
}

UeClockGate::UeClockGate() = default;
UeClockGate::~UeClockGate() = default;

void
UeClockGate::DoDispose()
{
    m_phy = nullptr;
    m_mac = nullptr;
    m_model = nullptr;
    Object::DoDispose();
}

void
UeClockGate::Install(Ptr<LteUePhy> phy, Ptr<LteUeMac> mac, Ptr<SensorPowerModel> model)
{
    m_phy = phy;
    m_mac = mac;
    m_model = model;
    m_macSap = mac->GetLteUePhySapUser();
    m_ttiS = phy->GetTti();
    m_sap = std::make_unique<SapUser>(this);
    phy->SetLteUePhySapUser(m_sap.get());
}

void
UeClockGate::EndOfSubframe(uint32_t frameNo, uint32_t subframeNo)
{
    m_frameNo = frameNo;
    m_subframeNo = subframeNo;
    m_harqClean = false;
    if (!m_parkWhileAwake && !m_model->IsAsleep())
    {
        return;
    }
    uint32_t f = frameNo;
    uint32_t s = subframeNo;
    Advance(f, s);
    if (!Idle(f, s))
    {
        return;
    }
    // Park: the gate's event takes the place the PHY's own next subframe would have had (the PHY
    // schedules it right after this call returns, nothing in between), and that one goes far away.
    ++m_parks;
    Simulator::Schedule(Seconds(m_ttiS), &UeClockGate::Subframe, this);
    m_phy->SetTti(kParkedTtiS);
}

void
UeClockGate::Subframe()
{
    Advance(m_frameNo, m_subframeNo);
    if (Idle(m_frameNo, m_subframeNo))
    {
        RunIdle(m_frameNo, m_subframeNo);
        ++m_gated;
        Simulator::Schedule(Seconds(m_ttiS), &UeClockGate::Subframe, this);
        return;
    }
    // ns-3's turn, from here: the PHY schedules its own next subframe again
    m_phy->SetTti(m_ttiS);
    m_phy->SubframeIndication(m_frameNo, m_subframeNo);
}

bool
UeClockGate::Idle(uint32_t frameNo, uint32_t subframeNo) const
{
    LteUeMac& mac = *m_mac;
    for (const uint8_t timer : Get<detail::MacHarqTimerTag>(mac))
    {
        // A UL HARQ process still holds its transport block. This also covers the PHY's packet
        // burst queue: the MAC stores every PDU it sends in a HARQ process with a timer of
        // HARQ_PERIOD (7) subframes (LteUeMac::DoTransmitPdu, and its HARQ retransmission), longer
        // than the PDU waits in that queue (UL_PUSCH_TTIS_DELAY, 4).
        if (timer != 0)
        {
            return false;
        }
    }
    if (Get<detail::MacFreshBsrTag>(mac))
    {
        return false; // a BSR may be due (LteUeMac::DoSubframeIndication)
    }
    LteUePhy& phy = *m_phy;
    for (const auto& msgs : Get<detail::PhyCtrlQueueTag>(static_cast<LtePhy&>(phy)))
    {
        if (!msgs.empty())
        {
            return false;
        }
    }
    if (Get<detail::PhyUlConfiguredTag>(phy))
    {
        for (const auto& mask : Get<detail::PhyMaskQueueTag>(phy))
        {
            if (!mask.empty())
            {
                return false;
            }
        }
        // an SRS occasion, checked as LteUePhy::SubframeIndication checks it
        const uint16_t period = Get<detail::PhySrsPeriodTag>(phy);
        if (Get<detail::PhySrsConfiguredTag>(phy) &&
            Get<detail::PhySrsStartTag>(phy) <= Simulator::Now() && period > 0 &&
            ((frameNo - 1) * 10 + (subframeNo - 1)) % period == Get<detail::PhySrsOffsetTag>(phy))
        {
            return false;
        }
    }
    return true;
}

void
UeClockGate::RunIdle(uint32_t frameNo, uint32_t subframeNo)
{
    // LteUePhy::SubframeIndication with empty queues and no SRS occasion
    LteUePhy& phy = *m_phy;
    Get<detail::PhyRsrpFlagTag>(phy) = false;
    Get<detail::PhyRsInterfFlagTag>(phy) = false;
    Get<detail::PhyPssFlagTag>(phy) = false;
    if (Get<detail::PhyUlConfiguredTag>(phy))
    {
        Get<detail::PhyMaskTag>(phy).clear(); // the queue's head, empty
    }
    // LteUeMac::DoSubframeIndication with no fresh BSR and every HARQ timer at 0
    LteUeMac& mac = *m_mac;
    Get<detail::MacFrameTag>(mac) = frameNo;
    Get<detail::MacSubframeTag>(mac) = subframeNo;
    if (!m_harqClean)
    {
        // RefreshHarqProcessesPacketBuffer: an expired process drops its packets
        for (auto& pb : Get<detail::MacHarqBufTag>(mac))
        {
            if (pb->GetSize() > 0)
            {
                pb = CreateObject<PacketBurst>();
            }
        }
        m_harqClean = true;
    }
    uint8_t& harqId = Get<detail::MacHarqIdTag>(mac);
    harqId = static_cast<uint8_t>((harqId + 1) % Get<detail::MacHarqTimerTag>(mac).size());
    // back in LteUePhy::SubframeIndication
    Get<detail::PhySubframeTag>(phy) = static_cast<uint8_t>(subframeNo);
}

std::vector<Ptr<UeClockGate>>
UeClockGateHelper::Install(const NetDeviceContainer& ueDevs,
                           const std::vector<Ptr<SensorPowerModel>>& models,
                           bool parkWhileAwake)
{
    std::vector<Ptr<UeClockGate>> gates;
    for (uint32_t i = 0; i < ueDevs.GetN(); ++i)
    {
        auto dev = DynamicCast<LteUeNetDevice>(ueDevs.Get(i));
        auto gate = CreateObject<UeClockGate>();
        gate->SetAttribute("ParkWhileAwake", BooleanValue(parkWhileAwake));
        gate->Install(dev->GetPhy(), dev->GetMac(), models.at(i));
        gates.push_back(gate);
    }
    return gates;
}

} // namespace gaidt
