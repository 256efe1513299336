// ul-ctrl-scope.h: an uplink control-only frame (PUCCH without PUSCH) goes to
// its own gateway only, instead of to every gateway in the city.
//
// ns-3 3.44's LteUePhy sends uplink control messages without data (RACH
// preambles, CQI reports, BSRs, HARQ feedback) as an "ideal PUCCH: fake null
// bandwidth signal" (LteUePhy::SubframeIndication): an uplink data frame with no
// packet burst and an all-zero PSD. The uplink channel delivers it to every
// gateway in range. A gateway of another cell does two things with it
// (LteSpectrumPhy::StartRx/StartRxData): it adds the zero PSD to its data
// interference (LteInterference::AddSignal) and subtracts it at the frame's
// end, and ignores the messages (not its cell). Adding or subtracting zero
// leaves the interference sum unchanged, bit for bit. The one other effect of
// a signal's start and end is a chunk boundary in the SINR average of a
// reception in progress (LteInterference::ConditionallyEvaluateChunk); ns-3
// evaluates a chunk only when time has passed since the last change, and every
// uplink frame of every UE starts at the same subframe boundary and lasts the
// same UL_DATA_DURATION (all PHY clocks start at 0, and no propagation delay
// model is installed), so a control-only frame starts and ends exactly when
// the data frames do and splits nothing. The other cells' gateways are
// therefore skipped: same results, bit for bit (tests/test_cell_scoped_channel.py).
//
// With a propagation delay model on the channel, frames arrive at different
// instants and a zero signal would split a chunk: the scope is then not used.
// It is a ReceiverSelector of a CellScopedSpectrumChannel (uplink), whose
// contract it widens: a receiver it leaves out would have got only a zero-power
// signal.
//
// During the attach phase of large (1000 sensors / 20 gateways) ns-3's random
// access makes sensors resend preambles until their gateway answers: 25,956
// preambles in 0.5 s, each delivered to 10.9 of the 20 gateways on average before
// this scope (benchmarks/large-psm-attach-ul-frames-2026-11-28.txt).
#ifndef GAIDT_UL_CTRL_SCOPE_H
#define GAIDT_UL_CTRL_SCOPE_H

#include "model/fast/cell-scoped-spectrum-channel.h"

#include "ns3/net-device-container.h"
#include "ns3/object.h"

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace gaidt
{

class UlCtrlScope : public ns3::Object, public ReceiverSelector
{
  public:
    static ns3::TypeId GetTypeId();
    UlCtrlScope() = default;

    /**
     * \param channel the uplink spectrum channel (the scope declines everything if it has a
     *        propagation delay model)
     * \param enbDevs the gateways (LteEnbNetDevice); their uplink LteSpectrumPhys are managed
     */
    UlCtrlScope(ns3::Ptr<ns3::SpectrumChannel> channel, const ns3::NetDeviceContainer& enbDevs);

    bool Manages(const ns3::SpectrumPhy* receiver) const override;
    /** A control-only frame (no packet burst, all-zero PSD) to its cell's gateway; else false. */
    bool SelectReceivers(ns3::Ptr<const ns3::SpectrumSignalParameters> params,
                         std::vector<ns3::SpectrumPhy*>& out) override;

  private:
    bool m_enabled = false;
    std::unordered_set<const ns3::SpectrumPhy*> m_enbPhys;
    std::unordered_map<uint16_t, ns3::SpectrumPhy*> m_phyByCell; // cell id -> uplink phy
};

} // namespace gaidt

#endif
