// cell-scoped-spectrum-channel.h: a spectrum channel that asks, per
// transmission, which receivers can get it, instead of visiting every one.
//
// ns-3 3.44's MultiModelSpectrumChannel::StartTx visits every receiver of the
// channel for every transmission: a same-node check (GetDevice, GetNode),
// then the transmit-filter chain, and only then the copy and the StartRx
// event. With the control-frame aggregator (dl-ctrl-aggregator.h) a gateway's
// downlink control frame reaches only its own cell's sensors, but the channel
// still asks the filters about every sensor in the city: 20 gateways x 1000
// sensors = 20,000 filter calls per 1 ms subframe at `large`, 2 million at
// `city`. With power saving that loop is most of the run time
// (benchmarks/city-psm-perf-2026-11-28.txt).
//
// CellScopedSpectrumChannel is a MultiModelSpectrumChannel that lets a
// ReceiverSelector name, for a transmission, a subset of receivers outside of
// which the filter chain would drop everything. It then does for that subset
// exactly what the parent does for all receivers: the same checks, the same
// filter chain, the same copies, the same loss and delay arithmetic in the
// same order, and the StartRx events in the parent's receiver order, so a run
// is bit-identical with either channel (tests/test_cell_scoped_channel.py).
// The subset is used only when it cannot change a result: every receiver of
// the channel uses the transmission's spectrum model (no conversion), no
// spectrum propagation-loss model is installed, and the selector returns one.
// Otherwise, and for every transmission the selector declines (data frames,
// PUSCH, SRS), the parent's StartTx runs unchanged. Two selectors exist: the
// downlink control-frame aggregator (dl-ctrl-aggregator.h) and, on the uplink,
// the scope of zero-power control-only frames (ul-ctrl-scope.h).
#ifndef GAIDT_CELL_SCOPED_SPECTRUM_CHANNEL_H
#define GAIDT_CELL_SCOPED_SPECTRUM_CHANNEL_H

#include "ns3/multi-model-spectrum-channel.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace gaidt
{

/**
 * Names the receivers a transmission can reach (CellScopedSpectrumChannel). The contract: for
 * every receiver the selector manages and does not return, either the channel's transmit-filter
 * chain would return true (drop) for that transmission, with no side effect the run depends on,
 * or the receiver would do nothing with it that changes a result (ul-ctrl-scope.h: a zero-power
 * signal added to and subtracted from an interference sum at instants that split no chunk).
 */
class ReceiverSelector
{
  public:
    virtual ~ReceiverSelector() = default;

    /** \return whether `receiver` is one this selector accounts for (others are always visited) */
    virtual bool Manages(const ns3::SpectrumPhy* receiver) const = 0;

    /**
     * \param params the transmission
     * \param out filled with the managed receivers that may get it, in any order
     * \return false to let the channel visit every receiver (no subset for this transmission)
     */
    virtual bool SelectReceivers(ns3::Ptr<const ns3::SpectrumSignalParameters> params,
                                 std::vector<ns3::SpectrumPhy*>& out) = 0;
};

/**
 * A MultiModelSpectrumChannel that visits only the receivers its ReceiverSelector names.
 * Without a selector it is a MultiModelSpectrumChannel.
 */
class CellScopedSpectrumChannel : public ns3::MultiModelSpectrumChannel
{
  public:
    static ns3::TypeId GetTypeId();
    CellScopedSpectrumChannel() = default;

    /**
     * \param selector names each transmission's receivers; kept alive by `owner`, which the
     *        channel holds (typically the same object, also installed as a transmit filter)
     */
    void SetReceiverSelector(ReceiverSelector* selector, ns3::Ptr<ns3::Object> owner);

    void AddRx(ns3::Ptr<ns3::SpectrumPhy> phy) override;
    void RemoveRx(ns3::Ptr<ns3::SpectrumPhy> phy) override;
    void StartTx(ns3::Ptr<ns3::SpectrumSignalParameters> params) override;

    /** \return transmissions delivered through a selected subset (the rest went to the parent) */
    uint64_t GetScopedTransmissions() const;

  protected:
    void DoDispose() override;

  private:
    struct Rx
    {
        uint64_t order = 0; // the parent visits receivers of one model in increasing order
        ns3::SpectrumModelUid_t modelUid = 0;
        bool hasDevice = false; // GetDevice() at AddRx: a phy's device and node never change
        uint32_t nodeId = 0;    // its node's id (the parent's same-node check, read once)
    };

    struct Scoped
    {
        ns3::SpectrumPhy* phy;
        const Rx* rx; // its entry in m_rx
    };

    /** Forget `phy` in the mirror of the parent's receiver lists. */
    void RemoveRxMirror(const ns3::SpectrumPhy* phy);
    /** Fill m_ordered with the receivers for `params` in the parent's order; false: visit all. */
    bool Scope(ns3::Ptr<const ns3::SpectrumSignalParameters> params);
    /** What MultiModelSpectrumChannel::StartRx does when no spectrum conversion is needed. */
    void StartRxScoped(double txAntennaGain,
                       ns3::Ptr<ns3::SpectrumSignalParameters> params,
                       ns3::Ptr<ns3::SpectrumPhy> receiver);

    ReceiverSelector* m_selector = nullptr;
    ns3::Ptr<ns3::Object> m_selectorOwner;
    // Mirror of the parent's receiver lists: AddRx appends (after removing), RemoveRx erases.
    std::unordered_map<const ns3::SpectrumPhy*, Rx> m_rx;
    std::unordered_map<ns3::SpectrumModelUid_t, uint32_t> m_rxPerModel; // receivers per model
    uint64_t m_nextOrder = 0;
    std::vector<ns3::SpectrumPhy*> m_unmanaged; // receivers the selector does not manage
    bool m_unmanagedValid = false;
    std::vector<ns3::SpectrumPhy*> m_scope; // the selector's receivers, and the unmanaged ones
    std::vector<Scoped> m_ordered;          // those the channel has, in the parent's order
    uint64_t m_scopedTx = 0;
};

} // namespace gaidt

#endif
