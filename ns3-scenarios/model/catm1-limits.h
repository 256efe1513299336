// catm1-limits.h: what makes the lte-m radio's 6-RB LTE carrier behave like one
// LTE-M (Cat-M1, CE mode A) narrowband in ns-3's LTE MAC.
//
// ns-3 has no LTE-M module; the lte-m radio is mainline LTE with 6 RBs. Its AMC
// and schedulers give a UE up to 64QAM (MCS 28) and any transport block the
// bandwidth allows: 4.3 Mb/s of uplink in one cell, 2.6x what Cat-M1 can carry.
// gaidt::UlGrantGuardScheduler applies these limits around any ns-3 scheduler
// (attribute CatM1) with this class:
//
//  1. Modulation: a BL/CE UE in CE mode A has a 4-bit MCS field, at most 16QAM
//     (3GPP TS 36.213 Table 8.6.1-2 for PUSCH, Table 7.1.7.1-1 limited to
//     I_MCS <= 15 for PDSCH): MCS <= 15, I_TBS <= 14. ns-3's AMC maps a CQI to
//     even MCS only (CQI 8 -> MCS 14, CQI 9 -> MCS 16), so the inner scheduler
//     sees CQIs capped at the highest one whose MCS is <= 15 (CQI 8, MCS 14):
//     the UL SINR of each RB at the top of that CQI's range (S11.3, as reported),
//     the DL wideband and subband CQIs at that CQI. Its own choices then stay
//     consistent with its view of each UE's buffer. A new UL grant whose measured
//     (uncapped) SINR supports more than MCS 14 on its PRBs is raised to MCS 15,
//     the top of Cat-M1's table (raised, never lowered: the inner scheduler's
//     view of the UE's buffer never runs ahead of the UE's).
//  2. Transport block size: at most 1000 bits per TTI in UL and DL (TS 36.306
//     Table 4.1A-1 and 4.1A-2, UE category M1). A grant above it keeps its PRBs
//     and gets the highest MCS whose TBS fits (a 4-PRB grant at I_TBS 14, 1128
//     bits, becomes I_TBS 12, 904 bits). With ns-3's PF scheduler inside, the
//     bytes it believed granted beyond the new size go back to its view of the
//     UE's buffer (its m_ceBsrRxed), so the UE is not left waiting for its next
//     buffer status report; other schedulers learn it from that report.
//  3. PUCCH: PucchRbs resource blocks of the narrowband carry PUCCH, not PUSCH.
//     In-band LTE-M (the usual deployment) has its PUCCH in the host carrier's
//     edge RBs, outside an interior narrowband: 0 RBs. A stand-alone 1.4 MHz
//     carrier has PUCCH at both band edges: 2 RBs. ns-3 does not model PUCCH;
//     with PF inside, its UL data allocation is confined to the first
//     6 - PucchRbs RBs (random-access Msg3 grants keep the whole band, as
//     ns-3's MCS-0 Msg3 needs 6 RBs).
//  4. Half-duplex FDD (type B, TS 36.211 6.2.5 / 36.213 8): a Cat-M1 UE cannot
//     receive while it transmits and needs a guard subframe at each switch, so
//     with the grant 4 subframes ahead (MPDCCH in n, PUSCH in n + 4) it sends
//     PUSCH in at most 3 of any 8 subframes: 375 kb/s at 1000-bit blocks, the
//     known Cat-M1 HD-FDD uplink peak. With PF inside, a UE that had 3 new UL
//     grants in the last 7 TTIs is left out of this TTI's allocation (its
//     buffer view is hidden from PF for the call and restored). Other schedulers:
//     not enforced (reported in result.json run.catm1).
// Not modelled: CE mode A/B repetitions (so coverage ends at the no-repetition
// link budget; sensor-status.h), MPDCCH capacity, narrowband retuning, DL HD-FDD.
#ifndef GAIDT_CATM1_LIMITS_H
#define GAIDT_CATM1_LIMITS_H

#include "ns3/ff-mac-sched-sap.h"
#include "ns3/lte-amc.h"
#include "ns3/pf-ff-mac-scheduler.h"
#include "ns3/ptr.h"

#include <cstdint>
#include <deque>
#include <map>

namespace gaidt
{

/** What the Cat-M1 limits changed in one cell (result.json run.catm1). */
struct CatM1Counters
{
    uint64_t ulNewGrants = 0;    // new-data UL DCIs seen
    uint64_t ulMcsRaised = 0;    // raised from the capped CQI's MCS to 15
    uint64_t ulMcsCapped = 0;    // UL DCIs above MCS 15 (raised by the grant guard) set to 15
    uint64_t ulTbCapped = 0;     // UL DCIs (new and retransmissions) cut to <= 1000 bits
    uint64_t dlTbs = 0;          // DL DCIs seen
    uint64_t dlTbCapped = 0;     // DL DCIs cut to <= 1000 bits
    uint64_t ulCqiRbsCapped = 0; // UL SINR values lowered to the cap
    uint64_t dlCqisCapped = 0;   // DL CQI values lowered to the cap
    uint64_t hdDeferrals = 0;    // UE-TTIs left out of PF's UL allocation (half duplex)
    uint64_t bsrRestoredB = 0;   // bytes given back to PF's buffer view after a TB cap
};

/** The Cat-M1 limits of one cell's scheduler (see the file comment). */
class CatM1Limits
{
  public:
    /** Highest Cat-M1 MCS (4-bit field, 16QAM): ns-3 MCS index, UL and DL. */
    static constexpr int kMaxMcs = 15;
    /** Largest UL and DL transport block of a Cat-M1 UE in one TTI (TS 36.306). Unit: bits. */
    static constexpr int kMaxTbBits = 1000;
    /** Half-duplex FDD type B: at most this many UL TTIs of one UE ... */
    static constexpr uint32_t kHdUlTtis = 3;
    /** ... in any window of this many TTIs. */
    static constexpr uint32_t kHdWindowTtis = 8;

    /**
     * \param pf the inner scheduler if it is ns-3's PF (PUCCH, half duplex and the buffer view
     *           correction need it), else null
     * \param pucchRbs RBs at the narrowband's edges reserved for PUCCH (PF only)
     * \param halfDuplex enforce HD-FDD type B in the UL (PF only)
     */
    CatM1Limits(ns3::Ptr<ns3::PfFfMacScheduler> pf, uint32_t pucchRbs, bool halfDuplex);

    /** The highest CQI whose MCS (ns-3's AMC) is <= kMaxMcs. */
    uint8_t MaxCqi() const
    {
        return m_maxCqi;
    }

    /** The UL SINR reported to the inner scheduler at most (top of MaxCqi's range). Unit: dB. */
    double MaxUlSinrDb() const
    {
        return m_maxUlSinrDb;
    }

    /** Cap a UL CQI report (the SINR of each RB) for the inner scheduler; keeps the raw one. */
    ns3::FfMacSchedSapProvider::SchedUlCqiInfoReqParameters CapUlCqi(
        const ns3::FfMacSchedSapProvider::SchedUlCqiInfoReqParameters& params,
        uint16_t rnti);

    /** Cap a DL CQI report (wideband and subband CQIs) for the inner scheduler. */
    ns3::FfMacSchedSapProvider::SchedDlCqiInfoReqParameters CapDlCqi(
        const ns3::FfMacSchedSapProvider::SchedDlCqiInfoReqParameters& params);

    /**
     * Apply the limits to one UL DCI of the inner scheduler, in place: MCS raised to kMaxMcs where
     * the raw SINR allows (new data), then the TBS cut to kMaxTbBits. Notes new grants for the
     * half-duplex rule. innerBytes: the TB size the inner scheduler chose (and took from its view
     * of the UE's buffer).
     */
    void LimitUlDci(ns3::UlDciListElement_s& dci, uint16_t innerBytes);

    /** The same for a DL data element (its DCI and its RLC PDU sizes). */
    void LimitDl(ns3::BuildDataListElement_s& data);

    /**
     * Call right before the inner PF's UL trigger: confines its data allocation to the PUSCH RBs
     * and hides the buffer of UEs that half duplex keeps silent this TTI.
     */
    void BeforeUlTrigger();

    /** Call right after it: undoes BeforeUlTrigger's changes. */
    void AfterUlTrigger();

    bool PucchEnforced() const
    {
        return m_pf && m_pucchRbs > 0;
    }

    bool HalfDuplexEnforced() const
    {
        return m_pf && m_halfDuplex;
    }

    const CatM1Counters& GetCounters() const
    {
        return m_counters;
    }

  private:
    /** Highest MCS <= min(mcs, kMaxMcs) whose UL (or DL) TBS on nprb PRBs is <= kMaxTbBits. */
    int Fit(int mcs, int nprb, bool ul) const;
    /** The MCS ns-3's schedulers give for the raw SINR of rbLen RBs from rbStart; -1 if unknown. */
    int RawUlMcs(uint16_t rnti, uint16_t rbStart, uint16_t rbLen) const;
    bool HdBlocked(uint16_t rnti, int64_t ttiMs) const;

    ns3::Ptr<ns3::LteAmc> m_amc;
    ns3::Ptr<ns3::PfFfMacScheduler> m_pf;
    uint32_t m_pucchRbs = 0;
    bool m_halfDuplex = false;
    uint8_t m_maxCqi = 0;
    double m_maxUlSinrDb = 0;
    uint16_t m_maxUlSinrFp = 0;
    std::map<uint16_t, std::vector<double>> m_rawUlSinrDb; // rnti -> per-RB SINR as measured
    std::map<uint16_t, std::deque<int64_t>> m_ulGrantTtis; // rnti -> recent new-grant TTIs, ms
    std::map<uint16_t, uint32_t> m_bsrBefore; // PF's view of UE buffers before this UL trigger
    std::map<uint16_t, uint32_t> m_hiddenBsr; // rnti -> PF's view, during a trigger
    uint8_t m_savedUlBandwidth = 0;
    CatM1Counters m_counters;
};

} // namespace gaidt

#endif
