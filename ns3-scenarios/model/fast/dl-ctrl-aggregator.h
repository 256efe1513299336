// dl-ctrl-aggregator.h: deliver the other cells' downlink control frames to a
// sensor as one summed interference signal instead of one signal per cell.
//
// In ns-3 LTE every eNB sends a downlink control frame (PCFICH/PDCCH, the
// first 3 OFDM symbols) in every 1 ms subframe, over its whole bandwidth at a
// fixed power, and the spectrum channel delivers a copy to every UE in range:
// with 20 gateways and 1000 sensors that is ~20,000 copies, receptions and
// interference events per millisecond, and it dominates the run time.
//
// A UE does only two things with a control frame from a cell it is not
// attached to (LteSpectrumPhy::StartRx/StartRxDlCtrl, ns-3 3.44):
//   1. adds its PSD to the control-channel interference (LteInterference),
//      which sets the control SINR, the wideband CQI and the PDCCH error model;
//   2. on the two PSS subframes of a frame (1 and 6), passes its PSD to the
//      UE's neighbour-cell RSRP/RSRQ measurement.
// Interference is additive, the pathloss here is deterministic (no fading)
// and the nodes are static, so (1) is reproduced exactly by one signal whose
// PSD is the sum of the neighbours' received PSDs, arriving with the serving
// cell's frame. LteHelper installs no propagation delay model, so in ns-3 all
// control frames of a subframe arrive at the same instant anyway; the sum
// gives the same interference and, measured, bit-identical results
// (tests/test_speed_equivalence.py). With a delay model installed, the sum
// would arrive with the serving frame while the neighbours' frames would have
// arrived up to ~10 us (3 km) apart inside the 214 us control window.
//
// Modes (sim.dl_ctrl_interference):
//   per_cell            ns-3 as is (this filter is not installed);
//   aggregate_keep_pss  aggregate subframes 0,2-5,7-9; the PSS subframes are
//                       delivered per cell, so neighbour measurements are exact;
//   aggregate           aggregate every subframe; UEs then measure only their
//                       serving cell's RSRP/RSRQ (neighbour-cell measurements
//                       feed handover and ANR, which these scenarios do not
//                       use: NoOpHandoverAlgorithm, static sensors).
// A sensor whose RRC has no serving cell yet (cell id 0) gets every frame as
// in ns-3. The neighbour set and its gains are computed once per (sensor,
// serving cell) with the channel's own propagation model and antenna gains
// and the channel's MaxLossDb; a gateway's control PSD is re-read from the
// frames it sends, so a tx-power command changes the sum (for sensors served
// before that gateway in the same subframe, one subframe later).
//
// It is also the ReceiverSelector of a CellScopedSpectrumChannel: it keeps each
// gateway's list of the sensors it serves (as last read from the RRC, above),
// plus the sensors with no serving cell yet, so the channel visits only those
// for a gateway's control frame instead of every sensor in the city.
#ifndef GAIDT_DL_CTRL_AGGREGATOR_H
#define GAIDT_DL_CTRL_AGGREGATOR_H

#include "model/fast/cell-scoped-spectrum-channel.h"

#include "ns3/lte-ue-rrc.h"
#include "ns3/net-device-container.h"
#include "ns3/nstime.h"
#include "ns3/propagation-delay-model.h"
#include "ns3/propagation-loss-model.h"
#include "ns3/spectrum-transmit-filter.h"
#include "ns3/spectrum-value.h"

#include <unordered_map>
#include <vector>

namespace ns3
{
class LteSpectrumSignalParametersDlCtrlFrame;
class SpectrumChannel;
} // namespace ns3

namespace gaidt
{

class DlCtrlAggregator : public ns3::SpectrumTransmitFilter, public ReceiverSelector
{
  public:
    static ns3::TypeId GetTypeId();
    DlCtrlAggregator() = default;

    /**
     * \param channel the downlink spectrum channel (its loss, delay and MaxLossDb are used)
     * \param enbDevs the gateways (LteEnbNetDevice)
     * \param ueDevs the sensors (LteUeNetDevice)
     * \param keepPss deliver the PSS subframes per cell (neighbour measurements exact)
     */
    DlCtrlAggregator(ns3::Ptr<ns3::SpectrumChannel> channel,
                     const ns3::NetDeviceContainer& enbDevs,
                     const ns3::NetDeviceContainer& ueDevs,
                     bool keepPss);

    // ReceiverSelector: a control frame (but a kept PSS frame) goes to its cell's sensors
    // and to the sensors with no serving cell; everything else to every receiver.
    bool Manages(const ns3::SpectrumPhy* receiver) const override;
    bool SelectReceivers(ns3::Ptr<const ns3::SpectrumSignalParameters> params,
                         std::vector<ns3::SpectrumPhy*>& out) override;

  private:
    struct Enb
    {
        ns3::Ptr<const ns3::SpectrumPhy> phy; // downlink LteSpectrumPhy
        uint16_t cellId = 0;
        ns3::Ptr<const ns3::SpectrumValue> ctrlPsd; // latest control-frame tx PSD
        ns3::Time lastTxTime = ns3::Time(-1);
    };

    struct Ue
    {
        ns3::Ptr<ns3::LteUeRrc> rrc;
        ns3::Ptr<ns3::SpectrumPhy> phy; // downlink LteSpectrumPhy
        uint32_t nodeId = 0;
        uint16_t serving = 0;      // serving cell, as last read from the RRC
        uint16_t builtForCell = 0; // serving cell the neighbour list was built for
        std::vector<std::pair<uint32_t, double>> neighbours; // (enb index, linear gain)
        uint64_t builtVersion = 0; // m_psdVersion the signal was summed at
        ns3::Ptr<ns3::LteSpectrumSignalParametersDlCtrlFrame> signal;
        uint32_t listedAt = UINT32_MAX; // the receiver list it is in: gateway index, or kNoEnb
    };

    bool DoFilter(ns3::Ptr<const ns3::SpectrumSignalParameters> params,
                  ns3::Ptr<const ns3::SpectrumPhy> receiverPhy) override;
    int64_t DoAssignStreams(int64_t stream) override;

    /** Find the transmitting gateway (once per transmission) and note its control PSD. */
    void NoteTransmission(const ns3::SpectrumSignalParameters& params);
    void NoteTxPsd(Enb& enb, const ns3::SpectrumSignalParameters& params);
    /** Put the sensor in the receiver list of its serving gateway (or of every gateway). */
    void Relist(Ue& ue);
    void BuildNeighbours(Ue& ue, uint16_t servingCell);
    void Deliver(Ue& ue,
                 const ns3::LteSpectrumSignalParametersDlCtrlFrame& serving,
                 uint32_t servingEnb);

    ns3::Ptr<ns3::PropagationLossModel> m_loss;
    ns3::Ptr<ns3::PropagationDelayModel> m_delay;
    double m_maxLossDb = 1e9;
    bool m_keepPss = false;
    std::vector<Enb> m_enbs;
    std::unordered_map<const ns3::SpectrumPhy*, uint32_t> m_enbIndex;
    std::unordered_map<uint16_t, uint32_t> m_cellToEnb;
    std::unordered_map<const ns3::SpectrumPhy*, Ue> m_ues;
    static constexpr uint32_t kNoEnb = UINT32_MAX;
    const ns3::SpectrumPhy* m_lastTxPhy = nullptr;
    uint32_t m_lastEnb = kNoEnb;
    uint64_t m_psdVersion = 1;
    // Receiver lists (SelectReceivers): per gateway index the sensors it serves, and the
    // sensors with no known serving cell, which get every gateway's frames.
    std::vector<std::vector<ns3::SpectrumPhy*>> m_served;
    std::vector<ns3::SpectrumPhy*> m_unserved;
};

} // namespace gaidt

#endif
