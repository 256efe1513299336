#include "model/fast/pf-idle-tti.h"

#include "model/lte-private-access.h"

#include "ns3/abort.h"
#include "ns3/ff-mac-scheduler.h"
#include "ns3/log.h"
#include "ns3/lte-ffr-sap.h"

#include <map>
#include <vector>

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtPfIdleTti");

namespace detail
{
using PfRbgSizeFn = int(int);
using PfRlcBuffers = std::map<LteFlowId_t, FfMacSchedSapProvider::SchedDlRlcBufferReqParameters>;
using PfFlowStats = std::map<uint16_t, pfsFlowPerf_t>;
using PfU8Map = std::map<uint16_t, uint8_t>;
using PfU32Map = std::map<uint16_t, uint32_t>;
using PfA30 = std::map<uint16_t, SbMeasResult_s>;
using PfUlCqi = std::map<uint16_t, std::vector<double>>;
using PfHarqTimers = std::map<uint16_t, DlHarqProcessesTimer_t>;
using PfHarqStatus = std::map<uint16_t, DlHarqProcessesStatus_t>;
GAIDT_PRIVATE_MEMBER(PfRlcBufferTag, PfFfMacScheduler, m_rlcBufferReq, PfRlcBuffers);
GAIDT_PRIVATE_MEMBER(PfFlowStatsDlTag, PfFfMacScheduler, m_flowStatsDl, PfFlowStats);
GAIDT_PRIVATE_MEMBER(PfRachListTag, PfFfMacScheduler, m_rachList, std::vector<RachListElement_s>);
GAIDT_PRIVATE_MEMBER(PfRachMapTag, PfFfMacScheduler, m_rachAllocationMap, std::vector<uint16_t>);
GAIDT_PRIVATE_MEMBER(PfDlInfoTag,
                     PfFfMacScheduler,
                     m_dlInfoListBuffered,
                     std::vector<DlInfoListElement_s>);
GAIDT_PRIVATE_MEMBER(PfUlHarqIdTag, PfFfMacScheduler, m_ulHarqCurrentProcessId, PfU8Map);
GAIDT_PRIVATE_MEMBER(PfCellConfigTag,
                     PfFfMacScheduler,
                     m_cschedCellConfig,
                     FfMacCschedSapProvider::CschedCellConfigReqParameters);
GAIDT_PRIVATE_MEMBER(PfTimeWindowTag, PfFfMacScheduler, m_timeWindow, double);
GAIDT_PRIVATE_MEMBER(PfFfrTag, PfFfMacScheduler, m_ffrSapProvider, LteFfrSapProvider*);
GAIDT_PRIVATE_MEMBER(PfRbgSizeTag, PfFfMacScheduler, GetRbgSize, PfRbgSizeFn);
GAIDT_PRIVATE_MEMBER(PfBsrTag, PfFfMacScheduler, m_ceBsrRxed, PfU32Map);
GAIDT_PRIVATE_MEMBER(PfP10Tag, PfFfMacScheduler, m_p10CqiRxed, PfU8Map);
GAIDT_PRIVATE_MEMBER(PfP10TimersTag, PfFfMacScheduler, m_p10CqiTimers, PfU32Map);
GAIDT_PRIVATE_MEMBER(PfA30Tag, PfFfMacScheduler, m_a30CqiRxed, PfA30);
GAIDT_PRIVATE_MEMBER(PfA30TimersTag, PfFfMacScheduler, m_a30CqiTimers, PfU32Map);
GAIDT_PRIVATE_MEMBER(PfUlCqiTag, PfFfMacScheduler, m_ueCqi, PfUlCqi);
GAIDT_PRIVATE_MEMBER(PfUlCqiTimersTag, PfFfMacScheduler, m_ueCqiTimers, PfU32Map);
GAIDT_PRIVATE_MEMBER(PfHarqTimersTag, PfFfMacScheduler, m_dlHarqProcessesTimer, PfHarqTimers);
GAIDT_PRIVATE_MEMBER(PfHarqStatusTag, PfFfMacScheduler, m_dlHarqProcessesStatus, PfHarqStatus);
} // namespace detail

namespace
{

/**
 * n steps of PF's CQI validity timers (RefreshDlCqiMaps, RefreshUlCqiMaps): each step drops a
 * report whose timer is 0 and counts the others down, so after n steps a timer t is gone if
 * t < n and is t - n otherwise.
 */
template <typename Reports>
void
CountDown(std::map<uint16_t, uint32_t>& timers, Reports& reports, uint64_t n)
{
    for (auto it = timers.begin(); it != timers.end();)
    {
        if (it->second < n)
        {
            const auto report = reports.find(it->first);
            NS_ABORT_MSG_IF(report == reports.end(), "PF keeps a CQI timer without its report");
            reports.erase(report);
            it = timers.erase(it);
        }
        else
        {
            it->second -= static_cast<uint32_t>(n);
            ++it;
        }
    }
}

} // namespace

PfIdleTti::PfIdleTti(Ptr<PfFfMacScheduler> pf)
    : m_pf(PeekPointer(pf))
{
    NS_ABORT_MSG_IF(!pf || pf->GetInstanceTypeId() != PfFfMacScheduler::GetTypeId(),
                    "PfIdleTti needs an ns3::PfFfMacScheduler itself, not a subclass");
}

bool
PfIdleTti::HasData(const FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& req)
{
    return req.m_rlcTransmissionQueueSize > 0 || req.m_rlcRetransmissionQueueSize > 0 ||
           req.m_rlcStatusPduSize > 0;
}

void
PfIdleTti::BeforeRlcBufferReq(const FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& req)
{
    Flush();
    if (HasData(req))
    {
        m_rlcEmpty = false;
    }
}

void
PfIdleTti::BeforeUlMacCtrlInfoReq(const FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters& req)
{
    Flush();
    for (const auto& ce : req.m_macCeList)
    {
        if (ce.m_macCeType == MacCeListElement_s::BSR)
        {
            m_bsrEmpty = false;
        }
    }
}

bool
PfIdleTti::DlIdle(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& params)
{
    const PfFfMacScheduler& pf = *m_pf;
    if (!params.m_dlInfoList.empty() || !(pf.*Member(detail::PfDlInfoTag{})).empty() ||
        !(pf.*Member(detail::PfRachListTag{})).empty())
    {
        return false;
    }
    if (!m_rlcEmpty)
    {
        for (const auto& [flow, req] : pf.*Member(detail::PfRlcBufferTag{}))
        {
            if (HasData(req))
            {
                return false;
            }
        }
        m_rlcEmpty = true;
    }
    // ns-3 returns early, without the bookkeeping below, if the FFR reserved every RBG
    const auto& cell = pf.*Member(detail::PfCellConfigTag{});
    const int rbgSize = (m_pf->*Member(detail::PfRbgSizeTag{}))(cell.m_dlBandwidth);
    int free = cell.m_dlBandwidth / rbgSize;
    for (bool used : (pf.*Member(detail::PfFfrTag{}))->GetAvailableDlRbg())
    {
        free -= used ? 1 : 0;
    }
    return free > 0;
}

bool
PfIdleTti::UlIdle(const FfMacSchedSapProvider::SchedUlTriggerReqParameters& params)
{
    for (const auto& info : params.m_ulInfoList)
    {
        if (info.m_receptionStatus == UlInfoListElement_s::NotOk)
        {
            return false; // a HARQ retransmission to schedule
        }
    }
    if (!m_bsrEmpty)
    {
        for (const auto& [rnti, bytes] : (*m_pf).*Member(detail::PfBsrTag{}))
        {
            if (bytes > 0)
            {
                return false;
            }
        }
        m_bsrEmpty = true;
    }
    return true;
}

bool
PfIdleTti::TryDl(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& params,
                 FfMacSchedSapUser* user)
{
    ++m_dlTriggers;
    if (!DlIdle(params))
    {
        Flush();
        return false;
    }
    ++m_dlIdle;
    ++m_pendingDl;
    PfFfMacScheduler& pf = *m_pf;
    // PfFfMacScheduler::DoSchedDlTriggerReq (ns-3 3.44) with nothing to allocate: its state
    // changes are pending (Flush) but this one, and its decision goes out now.
    (pf.*Member(detail::PfRachMapTag{}))
        .resize((pf.*Member(detail::PfCellConfigTag{})).m_ulBandwidth, 0);
    FfMacSchedSapUser::SchedDlConfigIndParameters ret;
    ret.m_nrOfPdcchOfdmSymbols = 1;
    user->SchedDlConfigInd(ret);
    return true;
}

bool
PfIdleTti::TryUl(const FfMacSchedSapProvider::SchedUlTriggerReqParameters& params)
{
    ++m_ulTriggers;
    if (!UlIdle(params))
    {
        Flush();
        return false;
    }
    ++m_ulIdle;
    ++m_pendingUl;
    // PfFfMacScheduler::DoSchedUlTriggerReq with no buffer status and no retransmission: it
    // clears the RACH allocation map to the UL bandwidth and returns without a decision.
    PfFfMacScheduler& pf = *m_pf;
    (pf.*Member(detail::PfRachMapTag{}))
        .assign((pf.*Member(detail::PfCellConfigTag{})).m_ulBandwidth, 0);
    return true;
}

void
PfIdleTti::Flush()
{
    if (m_pendingDl == 0 && m_pendingUl == 0)
    {
        return;
    }
    ++m_flushes;
    PfFfMacScheduler& pf = *m_pf;
    if (const uint64_t n = m_pendingDl; n > 0)
    {
        // n x RefreshDlCqiMaps
        CountDown(pf.*Member(detail::PfP10TimersTag{}), pf.*Member(detail::PfP10Tag{}), n);
        CountDown(pf.*Member(detail::PfA30TimersTag{}), pf.*Member(detail::PfA30Tag{}), n);
        // n x the UL HARQ process id step of the DL trigger
        for (auto& [rnti, id] : pf.*Member(detail::PfUlHarqIdTag{}))
        {
            id = static_cast<uint8_t>((id + n) % HARQ_PROC_NUM);
        }
        // n x RefreshHarqProcesses: a timer at HARQ_DL_TIMEOUT frees its process and restarts at
        // 0, any other counts up, so x becomes (x + n) mod (HARQ_DL_TIMEOUT + 1), freeing the
        // process on the way if x + n > HARQ_DL_TIMEOUT
        auto& status = pf.*Member(detail::PfHarqStatusTag{});
        for (auto& [rnti, timers] : pf.*Member(detail::PfHarqTimersTag{}))
        {
            const auto st = status.find(rnti);
            NS_ABORT_MSG_IF(st == status.end(), "PF keeps DL HARQ timers without their status");
            for (std::size_t i = 0; i < timers.size(); ++i)
            {
                const uint64_t x = timers[i] + n;
                if (x > HARQ_DL_TIMEOUT)
                {
                    st->second.at(i) = 0;
                    timers[i] = static_cast<uint8_t>(x % (HARQ_DL_TIMEOUT + 1));
                }
                else
                {
                    timers[i] = static_cast<uint8_t>(x);
                }
            }
        }
        // n x the DL throughput update with zero bytes, ns-3's expression term for term (eq. 12.3
        // of Sesia et al., "LTE - The UMTS Long Term Evolution"), so that it stays bit-identical
        const double window = pf.*Member(detail::PfTimeWindowTag{});
        for (auto& [rnti, stats] : pf.*Member(detail::PfFlowStatsDlTag{}))
        {
            for (uint64_t k = 0; k < n; ++k)
            {
                stats.lastTtiBytesTransmitted = 0;
                stats.totalBytesTransmitted += stats.lastTtiBytesTransmitted;
                stats.lastAveragedThroughput =
                    ((1.0 - (1.0 / window)) * stats.lastAveragedThroughput) +
                    ((1.0 / window) * (double)(stats.lastTtiBytesTransmitted / 0.001));
                stats.lastTtiBytesTransmitted = 0;
            }
        }
    }
    if (m_pendingUl > 0)
    {
        // n x RefreshUlCqiMaps
        CountDown(pf.*Member(detail::PfUlCqiTimersTag{}),
                  pf.*Member(detail::PfUlCqiTag{}),
                  m_pendingUl);
    }
    m_pendingDl = 0;
    m_pendingUl = 0;
}

} // namespace gaidt
