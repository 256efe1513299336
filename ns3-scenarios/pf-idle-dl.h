// pf-idle-dl.h: ns-3's proportional-fair scheduler's downlink TTI when it has
// nothing to send, without its search over every resource block group and UE.
//
// ns3::PfFfMacScheduler::DoSchedDlTriggerReq (ns-3 3.44) runs every 1 ms per
// cell. For every resource block group it visits every UE of the cell, and for
// each one looks up HARQ, CQI and transmission mode, copies the UE's sub-band
// CQI vector and counts the UE's active logical channels by walking the RLC
// buffer map from its start. With 50 sensors per cell that is about 13 x 50
// visits and 13 x 50 x 75 map steps per TTI, though an IoT cell's downlink is
// empty in most TTIs. Measured: 29% of the traffic and drain phases of large
// with power saving (benchmarks/large-psm-traffic-perf-2026-11-28-after-gate.txt).
//
// The search can allocate a resource block group only to a UE with a logical
// channel holding data (LcActivePerFlow > 0). So in a TTI where
//   - no logical channel of the cell has data (new, retransmission or status),
//   - no random-access response is pending (m_rachList), and
//   - no HARQ feedback is buffered or arriving (m_dlInfoListBuffered, the
//     trigger's m_dlInfoList),
// the TTI allocates nothing, and what remains of it is state bookkeeping.
// PfIdleDlTrigger does that bookkeeping, in ns-3's order, and skips the search:
//   1. RefreshDlCqiMaps() (ns-3's own, called);
//   2. the FFR's available DL and UL RBG maps are read, as ns-3 reads them;
//   3. every UE's UL HARQ process id advances by one (mod HARQ_PROC_NUM);
//   4. the RACH allocation map is sized to the UL bandwidth;
//   5. RefreshHarqProcesses() (ns-3's own, called);
//   6. if the FFR left no RBG free, ns-3 returns here, sending nothing;
//   7. otherwise every UE's DL throughput average decays by ns-3's formula
//      with zero bytes this TTI, and the empty decision (one PDCCH symbol) goes
//      to the MAC.
// Any other TTI goes to ns-3's DoSchedDlTriggerReq unchanged. The search also
// asks the FFR IsDlRbgAvailableForUe, which is why the skip is only for an FFR
// whose answers have no side effects: ns-3's LteFrNoOpAlgorithm, the one
// iot-city installs. Results are bit-identical with the skip on and off
// (tests/test_pf_idle_dl.py).
#ifndef GAIDT_PF_IDLE_DL_H
#define GAIDT_PF_IDLE_DL_H

#include "ns3/ff-mac-sched-sap.h"
#include "ns3/pf-ff-mac-scheduler.h"
#include "ns3/ptr.h"

#include <cstdint>

namespace gaidt
{

/** The idle downlink TTIs of one ns3::PfFfMacScheduler (see the file comment). */
class PfIdleDlTrigger
{
  public:
    /** \param pf the scheduler; its type must be exactly ns3::PfFfMacScheduler */
    explicit PfIdleDlTrigger(ns3::Ptr<ns3::PfFfMacScheduler> pf);

    /**
     * If this TTI is idle, do its bookkeeping as ns-3 would, hand the decision ns-3 would send
     * (if any) to `user`, and return true; otherwise change nothing and return false.
     */
    bool Try(const ns3::FfMacSchedSapProvider::SchedDlTriggerReqParameters& params,
             ns3::FfMacSchedSapUser* user);

    /**
     * The MAC's RLC buffer report, before it reaches the scheduler: RLC data reach the PF
     * scheduler only this way (its own allocations only take data out), so while no report with
     * data arrives after a scan that found none, the next TTI needs no scan.
     */
    void NoteRlcBufferReq(const ns3::FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& req);

    /** DL triggers seen by Try, and how many of them were idle. */
    uint64_t GetTriggers() const
    {
        return m_triggers;
    }

    uint64_t GetIdleTriggers() const
    {
        return m_idle;
    }

  private:
    /** True if the TTI can allocate nothing (see the file comment). */
    bool Idle(const ns3::FfMacSchedSapProvider::SchedDlTriggerReqParameters& params);
    static bool HasData(const ns3::FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& req);

    ns3::PfFfMacScheduler* m_pf; // owned by the wrapping scheduler, which owns this
    uint64_t m_triggers = 0;
    uint64_t m_idle = 0;
    bool m_rlcEmpty =
        false; // the last scan found no logical channel with data, and none came since
};

} // namespace gaidt

#endif
