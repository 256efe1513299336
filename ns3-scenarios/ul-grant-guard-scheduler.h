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
// This wrapper installs the scheduler named by InnerType, passes every SAP
// call through unchanged, and rewrites only UL grants of exactly
// MinUsefulUlTbBytes - 1 bytes to MinUsefulUlTbBytes bytes (same MCS, same
// PRBs): the UE then sends one RLC PDU at the MCS-0 code rate the grant
// already used (64 instead of 56 bits on 3 PRBs). It also reports every BSR
// and every rewritten grant through trace sources, for per-sensor evidence.
// LteHelper::SetSchedulerType("gaidt::UlGrantGuardScheduler") installs it.
#ifndef GAIDT_UL_GRANT_GUARD_SCHEDULER_H
#define GAIDT_UL_GRANT_GUARD_SCHEDULER_H

#include "ns3/ff-mac-csched-sap.h"
#include "ns3/ff-mac-sched-sap.h"
#include "ns3/ff-mac-scheduler.h"
#include "ns3/object-factory.h"
#include "ns3/traced-callback.h"

#include <memory>

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

    /** Trace signature: (rnti, buffer bytes reported for the UE's first LCG with data). */
    typedef void (*BsrTracedCallback)(uint16_t rnti, uint32_t bufferBytes);
    /** Trace signature: (rnti, mcs, granted bytes before, after). */
    typedef void (*GrantRaisedTracedCallback)(uint16_t rnti, uint8_t mcs, uint16_t fromBytes, uint16_t toBytes);

  protected:
    void DoDispose() override;

  private:
    class SchedProvider;
    class SchedUser;

    void OnUlMacCtrlInfo(const ns3::FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters& params);
    void OnUlConfigInd(const ns3::FfMacSchedSapUser::SchedUlConfigIndParameters& params);

    std::string m_innerType;
    uint32_t m_minUsefulUlTbBytes = 8;
    ns3::Ptr<ns3::FfMacScheduler> m_inner;
    std::unique_ptr<SchedProvider> m_provider;
    std::unique_ptr<SchedUser> m_user;
    ns3::FfMacSchedSapUser* m_macUser = nullptr;  // the eNB MAC's scheduler user
    ns3::TracedCallback<uint16_t, uint32_t> m_bsrTrace;
    ns3::TracedCallback<uint16_t, uint8_t, uint16_t, uint16_t> m_grantRaisedTrace;
};

} // namespace gaidt

#endif
