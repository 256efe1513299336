// pf-idle-tti.h: ns-3's proportional-fair scheduler's TTIs when it has nothing
// to schedule, without its search and with its per-TTI bookkeeping batched.
//
// ns3::PfFfMacScheduler (ns-3 3.44) is called twice per 1 ms TTI per cell.
// Its DL trigger (DoSchedDlTriggerReq), for every resource block group, visits
// every UE of the cell: HARQ, CQI and transmission-mode look-ups, a copy of the
// UE's sub-band CQI vector, and a count of its active logical channels that
// walks the RLC buffer map from its start. Both triggers also walk per-UE maps
// every TTI: CQI validity timers (DL and UL), DL HARQ timers, UL HARQ process
// ids, DL throughput averages. An IoT cell has nothing to schedule in most
// TTIs, yet these walks were 29% (the DL search) and then 28% (the walks) of
// the traffic and drain phases of large with power saving
// (benchmarks/large-psm-traffic-perf-2026-11-28-after-gate.txt, -after-pf-idle.txt).
//
// Idle TTIs. The DL search can give a resource block group only to a UE with a
// logical channel holding data. So a DL TTI is idle, and allocates nothing, if
//   - no logical channel of the cell has data (new, retransmission, status),
//   - no random-access response is pending (m_rachList),
//   - no HARQ feedback is buffered or arriving (m_dlInfoListBuffered, the
//     trigger's m_dlInfoList).
// The UL trigger allocates nothing and returns early if no UE has a buffer
// status above zero (m_ceBsrRxed) and no UL HARQ feedback is negative. In an
// idle TTI PfIdleTti hands the MAC what ns-3 would (an empty DL decision; no UL
// decision), reads the FFR's maps as ns-3 does and resets the RACH allocation
// map as the UL trigger does, and counts the TTI as pending.
//
// Pending TTIs. What an idle TTI changes otherwise is per-UE bookkeeping that
// nothing reads until PF is next called for anything else:
//   DL: RefreshDlCqiMaps (P10 and A30 timers count down; at 0 the report is
//       dropped), the UL HARQ process ids step by one (mod HARQ_PROC_NUM),
//       RefreshHarqProcesses (DL HARQ timers count up; at HARQ_DL_TIMEOUT the
//       process is freed and the timer restarts), and every UE's DL throughput
//       average decays with ns-3's formula and zero bytes;
//   UL: RefreshUlCqiMaps (UL CQI timers count down; at 0 the CQI is dropped).
// Flush() applies n pending TTIs in one walk per map, in closed form where the
// step is a counter (a timer at t is dropped after n steps if t < n, else it is
// t - n; a HARQ timer x becomes (x + n) mod (HARQ_DL_TIMEOUT + 1) and frees its
// process if x + n > HARQ_DL_TIMEOUT) and by n repeated multiplications for the
// throughput average, so that it stays bit-identical. The wrapping scheduler
// flushes before every other call into PF (every SAP primitive, CSCHED
// included) and before a busy TTI, which then runs ns-3's own code.
//
// Assumptions, checked or stated: the FFR algorithm's answers have no side
// effects (ns-3's LteFrNoOpAlgorithm, the one iot-city installs; PF's search
// asks it IsDlRbgAvailableForUe and the UL trigger hands it the UL CQI map);
// if it ever reserved every DL RBG, that TTI is done unbatched, as ns-3 does.
// Results are bit-identical with the skip on and off (tests/test_pf_idle_tti.py),
// and gaidt-pf-idle-tti-check (pf-idle-tti-check.cc) compares every decision
// and PF's kept state with ns-3's PF on random scheduler call sequences.
#ifndef GAIDT_PF_IDLE_TTI_H
#define GAIDT_PF_IDLE_TTI_H

#include "ns3/ff-mac-sched-sap.h"
#include "ns3/pf-ff-mac-scheduler.h"
#include "ns3/ptr.h"

#include <cstdint>

namespace gaidt
{

/** The idle TTIs of one ns3::PfFfMacScheduler (see the file comment). */
class PfIdleTti
{
  public:
    /** \param pf the scheduler; its type must be exactly ns3::PfFfMacScheduler */
    explicit PfIdleTti(ns3::Ptr<ns3::PfFfMacScheduler> pf);

    /**
     * If this DL TTI is idle, hand `user` what ns-3 would, count the TTI pending and return true;
     * otherwise flush and return false (the caller then calls ns-3's DL trigger).
     */
    bool TryDl(const ns3::FfMacSchedSapProvider::SchedDlTriggerReqParameters& params,
               ns3::FfMacSchedSapUser* user);

    /** The same for the UL trigger (ns-3 sends no UL decision in an idle UL TTI). */
    bool TryUl(const ns3::FfMacSchedSapProvider::SchedUlTriggerReqParameters& params);

    /** Apply the pending TTIs' bookkeeping. Call before any other call into the scheduler. */
    void Flush();

    /**
     * Call right before the MAC's RLC buffer report reaches the scheduler, instead of Flush: it
     * flushes and notes the report. RLC data reach PF only this way (its allocations only take
     * data out), so after a scan that found no data, none is needed until a report with data.
     */
    void BeforeRlcBufferReq(const ns3::FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& req);

    /** The same for UL buffer status reports (PF's m_ceBsrRxed). */
    void BeforeUlMacCtrlInfoReq(
        const ns3::FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters& req);

    uint64_t GetDlTriggers() const
    {
        return m_dlTriggers;
    }

    uint64_t GetDlIdle() const
    {
        return m_dlIdle;
    }

    uint64_t GetUlTriggers() const
    {
        return m_ulTriggers;
    }

    uint64_t GetUlIdle() const
    {
        return m_ulIdle;
    }

    /** Flushes that applied at least one pending TTI. */
    uint64_t GetFlushes() const
    {
        return m_flushes;
    }

  private:
    bool DlIdle(const ns3::FfMacSchedSapProvider::SchedDlTriggerReqParameters& params);
    bool UlIdle(const ns3::FfMacSchedSapProvider::SchedUlTriggerReqParameters& params);
    static bool HasData(const ns3::FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& req);

    ns3::PfFfMacScheduler* m_pf; // owned by the wrapping scheduler, which owns this
    uint64_t m_pendingDl = 0;    // idle DL TTIs whose bookkeeping is not applied yet
    uint64_t m_pendingUl = 0;    // idle UL TTIs whose bookkeeping is not applied yet
    bool m_rlcEmpty = false;     // the last scan found no RLC data, and none came since
    bool m_bsrEmpty = false;     // the last scan found no UL buffer status above 0, none came since
    uint64_t m_dlTriggers = 0;
    uint64_t m_dlIdle = 0;
    uint64_t m_ulTriggers = 0;
    uint64_t m_ulIdle = 0;
    uint64_t m_flushes = 0;
};

} // namespace gaidt

#endif
