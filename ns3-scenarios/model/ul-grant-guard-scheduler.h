// ul-grant-guard-scheduler.h: an FfMacScheduler that wraps any ns-3 LTE MAC
// scheduler and removes an uplink dead-lock between ns-3's schedulers and its
// UE MAC.
//
// ns-3 3.44's UL schedulers give a UE at least 3 PRBs "to ensure TxOpportunity
// >= 7 bytes" (pf-ff-mac-scheduler.cc and the others), and MCS 0 when the UE's
// UL-CQI is low or missing: the 3GPP TBS for ITBS 0 on 3 PRBs is 56 bits,
// 7 bytes. ns-3's UE MAC (LteUeMac::DoReceiveLteControlMessage) only hands an
// RLC a transmission opportunity of more than 7 bytes ("7 is the min
// TxOpportunity useful for Rlc"). A 7-byte grant therefore carries nothing:
// the UE keeps its data, keeps sending buffer status reports, the eNB keeps
// granting 7 bytes, and with SRS-based UL-CQI nothing ever updates the MCS.
// Two such UEs in a cell keep each other on 3 PRBs for good. Measured in
// ns3-scenarios/examples/uplink_starvation.py (small topology, seed 1).
//
// A second gap, in UL link adaptation: ns-3's UE sends its SRS over the whole
// UL band and its PUSCH over the granted PRBs, each at the power control's
// power, which for any sensor beyond ~90 dB of pathloss is the cap Pcmax
// (LteUePowerControl, P0 -80 dBm, alpha 1). The schedulers take the SRS SINR
// per RB as the PUSCH SINR per RB, so a 3-PRB PUSCH of a 25-RB LTE cell is
// estimated 10 log10(25/3) = 9.2 dB worse than it is; a sensor whose SRS
// SINR is under the lowest-MCS threshold (-2.1 dB) never gets a grant,
// though its PUSCH would be decoded at 7 dB. Real eNBs scale with the UE's
// power headroom reports, which ns-3 does not model.
//
// This wrapper installs the scheduler named by InnerType and passes every SAP
// call through, except:
//  - MinUsefulUlTbBytes: a UL grant of exactly MinUsefulUlTbBytes - 1 bytes
//    is raised to MinUsefulUlTbBytes (same MCS, same PRBs): the UE then sends
//    one RLC PDU at the MCS-0 code rate the grant already used (64 instead of
//    56 bits on 3 PRBs);
//  - SrsPowerScaling: the PUSCH SINR of a grant of M PRBs is estimated as the
//    SRS SINR + 10 log10(UlBandwidth / M), the PSD gain of a power-capped UE.
//    An SRS report reaches the inner scheduler unchanged, except that RBs
//    below the lowest-MCS threshold that a 3-PRB grant would lift above it
//    are reported just above it (so the inner scheduler grants the UE at
//    all). Each new grant's MCS and size are then raised, never lowered, to
//    what that estimate allows on the PRBs granted (the inner scheduler's own
//    SINR -> CQI -> MCS mapping, worst RB); its HARQ retransmissions carry the
//    same MCS and size. Never lowering keeps the inner scheduler's view of the
//    UE's buffer from running ahead of the UE's. Assumes the UE is at Pcmax
//    for both SRS and PUSCH, which holds wherever the SINR is low enough for
//    the MCS to matter (P0 -80 dBm, alpha 1: pathloss above ~90 dB).
// With BatchIdlePfTtis and ns-3's PF scheduler inside, a TTI that can schedule
// nothing skips PF's search and its bookkeeping waits until PF is next called
// (gaidt::PfIdleTti, pf-idle-tti.h; bit-identical results).
// It also reports every BSR and every rewritten grant through trace sources,
// for per-sensor evidence. LteHelper::SetSchedulerType(
// "gaidt::UlGrantGuardScheduler") installs it.
#ifndef GAIDT_UL_GRANT_GUARD_SCHEDULER_H
#define GAIDT_UL_GRANT_GUARD_SCHEDULER_H

#include "model/catm1-limits.h"
#include "model/fast/pf-idle-tti.h"

#include "ns3/ff-mac-csched-sap.h"
#include "ns3/ff-mac-sched-sap.h"
#include "ns3/ff-mac-scheduler.h"
#include "ns3/lte-amc.h"
#include "ns3/lte-enb-net-device.h"
#include "ns3/object-factory.h"
#include "ns3/traced-callback.h"

#include <map>
#include <memory>
#include <tuple>
#include <vector>

namespace gaidt
{

class UlGrantGuardScheduler : public ns3::FfMacScheduler
{
  public:
    static ns3::TypeId GetTypeId();
    UlGrantGuardScheduler();
    ~UlGrantGuardScheduler() override;

    void SetFfMacCschedSapUser(ns3::FfMacCschedSapUser* s) override;
    void SetFfMacSchedSapUser(ns3::FfMacSchedSapUser* s) override;
    ns3::FfMacCschedSapProvider* GetFfMacCschedSapProvider() override;
    ns3::FfMacSchedSapProvider* GetFfMacSchedSapProvider() override;
    void SetLteFfrSapProvider(ns3::LteFfrSapProvider* s) override;
    ns3::LteFfrSapUser* GetLteFfrSapUser() override;

    /** The wrapped scheduler (created on first use from InnerType). */
    ns3::Ptr<ns3::FfMacScheduler> GetInner();

    /** The UlGrantGuardSchedulers of a gateway: one per component carrier that has one. */
    static std::vector<ns3::Ptr<UlGrantGuardScheduler>> InstalledOn(
        ns3::Ptr<ns3::LteEnbNetDevice> enb);

    /** The idle-TTI batching of the inner PF scheduler, or null if off or the inner is not PF. */
    const PfIdleTti* GetPfIdle() const;

    /** The Cat-M1 limits (attribute CatM1), or null if off. */
    const CatM1Limits* GetCatM1() const;

    /** Trace signature: (rnti, buffer bytes reported for the UE's first LCG with data). */
    typedef void (*BsrTracedCallback)(uint16_t rnti, uint32_t bufferBytes);
    /** Trace signature: (rnti, mcs, granted bytes before, after). */
    typedef void (*GrantRaisedTracedCallback)(uint16_t rnti,
                                              uint8_t mcs,
                                              uint16_t fromBytes,
                                              uint16_t toBytes);

  protected:
    void DoDispose() override;

  private:
    class SchedProvider;
    class CschedProvider;
    class SchedUser;

    /** True if the inner PF scheduler's DL TTI was idle and is done (BatchIdlePfTtis). */
    bool SkipIdleDl(const ns3::FfMacSchedSapProvider::SchedDlTriggerReqParameters& params);
    /** Apply PfIdleTti's pending bookkeeping before a call into the inner scheduler. */
    void FlushPf();
    void OnUlMacCtrlInfo(const ns3::FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters& params);
    void OnUlConfigInd(const ns3::FfMacSchedSapUser::SchedUlConfigIndParameters& params);
    /** The grant guard's rewrites (MinUsefulUlTbBytes, SrsPowerScaling) of one UL DCI. */
    void GuardUlDci(ns3::UlDciListElement_s& dci);
    /** The SRS report the inner scheduler sees (SrsPowerScaling), remembering the raw one. */
    ns3::FfMacSchedSapProvider::SchedUlCqiInfoReqParameters OnUlCqi(
        const ns3::FfMacSchedSapProvider::SchedUlCqiInfoReqParameters& params);
    /** MCS for a grant of rbLen PRBs from rbStart, from the raw SRS SINR; -1 if unknown. */
    int ScaledMcs(uint16_t rnti, uint16_t rbStart, uint16_t rbLen);

    std::string m_innerType;
    uint32_t m_minUsefulUlTbBytes = 8;
    bool m_srsPowerScaling = false;
    uint32_t m_ulBandwidth = 0;
    bool m_batchIdlePf = false;
    std::unique_ptr<PfIdleTti> m_pfIdle;
    bool m_catM1 = false;
    uint32_t m_pucchRbs = 0;
    bool m_halfDuplexFdd = false;
    std::unique_ptr<CatM1Limits> m_catm1;
    ns3::Ptr<ns3::LteAmc> m_amc;
    std::map<uint16_t, std::vector<double>> m_rawSrsSinrDb; // rnti -> per-RB SRS SINR as measured
    // (rnti, rbStart, rbLen, inner mcs, inner bytes) -> (mcs, bytes) sent, for HARQ retransmissions
    std::map<std::tuple<uint16_t, uint8_t, uint8_t, uint8_t, uint16_t>,
             std::pair<uint8_t, uint16_t>>
        m_rewritten;
    ns3::Ptr<ns3::FfMacScheduler> m_inner;
    std::unique_ptr<SchedProvider> m_provider;
    std::unique_ptr<CschedProvider> m_csched;
    std::unique_ptr<SchedUser> m_user;
    ns3::FfMacSchedSapUser* m_macUser = nullptr; // the eNB MAC's scheduler user
    ns3::TracedCallback<uint16_t, uint32_t> m_bsrTrace;
    ns3::TracedCallback<uint16_t, uint8_t, uint16_t, uint16_t> m_grantRaisedTrace;
};

} // namespace gaidt

#endif
