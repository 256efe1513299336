#include "pf-idle-dl.h"

#include "lte-private-access.h"

#include "ns3/abort.h"
#include "ns3/ff-mac-scheduler.h"
#include "ns3/log.h"
#include "ns3/lte-ffr-sap.h"

#include <map>
#include <vector>

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtPfIdleDl");

namespace detail
{
using PfVoidFn = void();
using PfRbgSizeFn = int(int);
using PfRlcBuffers = std::map<LteFlowId_t, FfMacSchedSapProvider::SchedDlRlcBufferReqParameters>;
using PfFlowStats = std::map<uint16_t, pfsFlowPerf_t>;
using PfHarqIds = std::map<uint16_t, uint8_t>;
GAIDT_PRIVATE_MEMBER(PfRlcBufferTag, PfFfMacScheduler, m_rlcBufferReq, PfRlcBuffers);
GAIDT_PRIVATE_MEMBER(PfFlowStatsDlTag, PfFfMacScheduler, m_flowStatsDl, PfFlowStats);
GAIDT_PRIVATE_MEMBER(PfRachListTag, PfFfMacScheduler, m_rachList, std::vector<RachListElement_s>);
GAIDT_PRIVATE_MEMBER(PfRachMapTag, PfFfMacScheduler, m_rachAllocationMap, std::vector<uint16_t>);
GAIDT_PRIVATE_MEMBER(PfDlInfoTag,
                     PfFfMacScheduler,
                     m_dlInfoListBuffered,
                     std::vector<DlInfoListElement_s>);
GAIDT_PRIVATE_MEMBER(PfUlHarqIdTag, PfFfMacScheduler, m_ulHarqCurrentProcessId, PfHarqIds);
GAIDT_PRIVATE_MEMBER(PfCellConfigTag,
                     PfFfMacScheduler,
                     m_cschedCellConfig,
                     FfMacCschedSapProvider::CschedCellConfigReqParameters);
GAIDT_PRIVATE_MEMBER(PfTimeWindowTag, PfFfMacScheduler, m_timeWindow, double);
GAIDT_PRIVATE_MEMBER(PfFfrTag, PfFfMacScheduler, m_ffrSapProvider, LteFfrSapProvider*);
GAIDT_PRIVATE_MEMBER(PfRefreshDlCqiTag, PfFfMacScheduler, RefreshDlCqiMaps, PfVoidFn);
GAIDT_PRIVATE_MEMBER(PfRefreshHarqTag, PfFfMacScheduler, RefreshHarqProcesses, PfVoidFn);
GAIDT_PRIVATE_MEMBER(PfRbgSizeTag, PfFfMacScheduler, GetRbgSize, PfRbgSizeFn);
} // namespace detail

PfIdleDlTrigger::PfIdleDlTrigger(Ptr<PfFfMacScheduler> pf)
    : m_pf(PeekPointer(pf))
{
    NS_ABORT_MSG_IF(!pf || pf->GetInstanceTypeId() != PfFfMacScheduler::GetTypeId(),
                    "PfIdleDlTrigger needs an ns3::PfFfMacScheduler itself, not a subclass");
}

bool
PfIdleDlTrigger::Idle(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& params)
{
    const PfFfMacScheduler& pf = *m_pf;
    if (!params.m_dlInfoList.empty() || !(pf.*Member(detail::PfDlInfoTag{})).empty() ||
        !(pf.*Member(detail::PfRachListTag{})).empty())
    {
        return false;
    }
    if (m_rlcEmpty)
    {
        return true;
    }
    for (const auto& [flow, req] : pf.*Member(detail::PfRlcBufferTag{}))
    {
        if (HasData(req))
        {
            return false;
        }
    }
    m_rlcEmpty = true;
    return true;
}

bool
PfIdleDlTrigger::HasData(const FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& req)
{
    return req.m_rlcTransmissionQueueSize > 0 || req.m_rlcRetransmissionQueueSize > 0 ||
           req.m_rlcStatusPduSize > 0;
}

void
PfIdleDlTrigger::NoteRlcBufferReq(const FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& req)
{
    if (HasData(req))
    {
        m_rlcEmpty = false;
    }
}

bool
PfIdleDlTrigger::Try(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& params,
                     FfMacSchedSapUser* user)
{
    ++m_triggers;
    if (!Idle(params))
    {
        return false;
    }
    ++m_idle;
    PfFfMacScheduler& pf = *m_pf;
    // PfFfMacScheduler::DoSchedDlTriggerReq (ns-3 3.44), the steps that change state or call out
    // when nothing can be allocated, in its order.
    (pf.*Member(detail::PfRefreshDlCqiTag{}))();
    const auto& cell = pf.*Member(detail::PfCellConfigTag{});
    const int rbgSize = (pf.*Member(detail::PfRbgSizeTag{}))(cell.m_dlBandwidth);
    const int rbgNum = cell.m_dlBandwidth / rbgSize;
    LteFfrSapProvider* ffr = pf.*Member(detail::PfFfrTag{});
    const std::vector<bool> rbgMap = ffr->GetAvailableDlRbg();
    int rbgAllocatedNum = 0;
    for (bool used : rbgMap)
    {
        rbgAllocatedNum += used ? 1 : 0;
    }
    for (auto& [rnti, id] : pf.*Member(detail::PfUlHarqIdTag{}))
    {
        id = (id + 1) % HARQ_PROC_NUM;
    }
    ffr->GetAvailableUlRbg();
    (pf.*Member(detail::PfRachMapTag{})).resize(cell.m_ulBandwidth, 0);
    (pf.*Member(detail::PfRefreshHarqTag{}))();
    if (rbgAllocatedNum == rbgNum)
    {
        return true; // ns-3: every RBG taken by the FFR, nothing built, nothing sent
    }
    auto& flows = pf.*Member(detail::PfFlowStatsDlTag{});
    const double window = pf.*Member(detail::PfTimeWindowTag{});
    // ns-3 zeroes every UE's bytes of this TTI in one loop and then updates the averages in
    // another; each UE's steps touch only its own entry, so one loop does the same.
    for (auto& [rnti, stats] : flows)
    {
        stats.lastTtiBytesTransmitted = 0;
        // ns-3's update, term for term (eq. 12.3 of Sesia et al., "LTE - The UMTS Long Term
        // Evolution"), so that the average stays bit-identical
        stats.totalBytesTransmitted += stats.lastTtiBytesTransmitted;
        stats.lastAveragedThroughput =
            ((1.0 - (1.0 / window)) * stats.lastAveragedThroughput) +
            ((1.0 / window) * (double)(stats.lastTtiBytesTransmitted / 0.001));
        stats.lastTtiBytesTransmitted = 0;
    }
    FfMacSchedSapUser::SchedDlConfigIndParameters ret;
    ret.m_nrOfPdcchOfdmSymbols = 1;
    user->SchedDlConfigInd(ret);
    return true;
}

} // namespace gaidt
