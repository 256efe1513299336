// pf-idle-dl-check.cc: two ns3::PfFfMacScheduler cells, one of them behind gaidt::PfIdleDlTrigger,
// driven through the same random sequence of scheduler calls; checks after every TTI that their
// decisions and the state PF keeps across TTIs agree.
//
// The scenario runs compare whole results (tests/test_pf_idle_dl.py), but in them a CQI report is
// never older than PF's 1000-TTI CQI timer when it matters, and a HARQ process always gets its
// feedback. Here the CQI timer is 20 TTIs and reports come every 10 TTIs on average, one DL
// transmission in five gets no HARQ feedback (so ns-3's 11-TTI HARQ timeout frees the process),
// UEs come and go, random-access responses and UL buffer reports arrive at random, and DL data is
// rare, so that most TTIs are idle and busy ones follow them.
//
// Compared after every TTI: each DL and UL decision (every field the MAC reads), and PF's
// per-UE DL throughput averages and byte counts, CQI timers, DL HARQ timers and status, UL HARQ
// process ids and RACH allocation map.
//
// Usage: gaidt-pf-idle-dl-check [--seed=N] [--ttis=N]; exit status 0 if the two cells agreed.
#include "lte-private-access.h"
#include "pf-idle-dl.h"

#include "ns3/command-line.h"
#include "ns3/ff-mac-csched-sap.h"
#include "ns3/ff-mac-sched-sap.h"
#include "ns3/lte-fr-no-op-algorithm.h"
#include "ns3/pf-ff-mac-scheduler.h"
#include "ns3/uinteger.h"

#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace ns3;

namespace gaidt::detail
{
using CheckFlowStats = std::map<uint16_t, pfsFlowPerf_t>;
using CheckTimers = std::map<uint16_t, uint32_t>;
using CheckHarqTimers = std::map<uint16_t, DlHarqProcessesTimer_t>;
using CheckHarqStatus = std::map<uint16_t, DlHarqProcessesStatus_t>;
using CheckHarqIds = std::map<uint16_t, uint8_t>;
GAIDT_PRIVATE_MEMBER(CheckFlowStatsTag, PfFfMacScheduler, m_flowStatsDl, CheckFlowStats);
GAIDT_PRIVATE_MEMBER(CheckP10TimersTag, PfFfMacScheduler, m_p10CqiTimers, CheckTimers);
GAIDT_PRIVATE_MEMBER(CheckA30TimersTag, PfFfMacScheduler, m_a30CqiTimers, CheckTimers);
GAIDT_PRIVATE_MEMBER(CheckHarqTimerTag, PfFfMacScheduler, m_dlHarqProcessesTimer, CheckHarqTimers);
GAIDT_PRIVATE_MEMBER(CheckHarqStatusTag,
                     PfFfMacScheduler,
                     m_dlHarqProcessesStatus,
                     CheckHarqStatus);
GAIDT_PRIVATE_MEMBER(CheckUlHarqIdTag, PfFfMacScheduler, m_ulHarqCurrentProcessId, CheckHarqIds);
GAIDT_PRIVATE_MEMBER(CheckRachMapTag, PfFfMacScheduler, m_rachAllocationMap, std::vector<uint16_t>);
} // namespace gaidt::detail

namespace
{

constexpr uint16_t kBandwidthRbs = 25; // 13 RBGs of 2 RBs
constexpr int kRbgs = 13;

/** Records every decision the scheduler hands to the MAC, as text. */
class Recorder : public FfMacSchedSapUser
{
  public:
    void SchedDlConfigInd(const SchedDlConfigIndParameters& p) override
    {
        std::ostringstream s;
        // not m_nrOfPdcchOfdmSymbols: ns-3's PF leaves it uninitialized when HARQ retransmissions
        // take every RBG, and its MAC never reads it
        s << "DL";
        for (const auto& d : p.m_buildDataList)
        {
            const auto& dci = d.m_dci;
            s << " data{" << d.m_rnti << " bitmap=" << dci.m_rbBitmap
              << " harq=" << int(dci.m_harqProcess);
            for (std::size_t k = 0; k < dci.m_mcs.size(); ++k)
            {
                s << " mcs=" << int(dci.m_mcs[k]) << " tbs=" << dci.m_tbsSize[k]
                  << " ndi=" << int(dci.m_ndi[k]) << " rv=" << int(dci.m_rv[k]);
            }
            for (const auto& lc : d.m_rlcPduList)
            {
                for (const auto& pdu : lc)
                {
                    s << " lc" << int(pdu.m_logicalChannelIdentity) << "=" << pdu.m_size;
                }
            }
            s << "}";
            sent.emplace_back(d.m_rnti, dci.m_harqProcess);
        }
        for (const auto& r : p.m_buildRarList)
        {
            s << " rar{" << r.m_rnti << " " << r.m_grant.m_rbStart << "+" << int(r.m_grant.m_rbLen)
              << " tb=" << r.m_grant.m_tbSize << " mcs=" << int(r.m_grant.m_mcs) << "}";
        }
        log.push_back(s.str());
    }

    void SchedUlConfigInd(const SchedUlConfigIndParameters& p) override
    {
        std::ostringstream s;
        s << "UL";
        for (const auto& d : p.m_dciList)
        {
            s << " dci{" << d.m_rnti << " " << int(d.m_rbStart) << "+" << int(d.m_rbLen)
              << " tb=" << d.m_tbSize << " mcs=" << int(d.m_mcs) << " ndi=" << int(d.m_ndi) << "}";
        }
        log.push_back(s.str());
    }

    std::vector<std::string> log;
    std::vector<std::pair<uint16_t, uint8_t>> sent; // DL (rnti, HARQ process) this TTI
};

class CschedSink : public FfMacCschedSapUser
{
  public:
    void CschedCellConfigCnf(const CschedCellConfigCnfParameters&) override
    {
    }

    void CschedUeConfigCnf(const CschedUeConfigCnfParameters&) override
    {
    }

    void CschedLcConfigCnf(const CschedLcConfigCnfParameters&) override
    {
    }

    void CschedLcReleaseCnf(const CschedLcReleaseCnfParameters&) override
    {
    }

    void CschedUeReleaseCnf(const CschedUeReleaseCnfParameters&) override
    {
    }

    void CschedUeConfigUpdateInd(const CschedUeConfigUpdateIndParameters&) override
    {
    }

    void CschedCellConfigUpdateInd(const CschedCellConfigUpdateIndParameters&) override
    {
    }
};

/** One cell: a PF scheduler with ns-3's no-op FFR, with or without the idle-TTI skip. */
struct Cell
{
    explicit Cell(bool skip)
    {
        pf = CreateObject<PfFfMacScheduler>();
        pf->SetAttribute("CqiTimerThreshold", UintegerValue(20));
        ffr = CreateObject<LteFrNoOpAlgorithm>();
        ffr->SetDlBandwidth(kBandwidthRbs);
        ffr->SetUlBandwidth(kBandwidthRbs);
        pf->SetLteFfrSapProvider(ffr->GetLteFfrSapProvider());
        ffr->SetLteFfrSapUser(pf->GetLteFfrSapUser());
        pf->SetFfMacSchedSapUser(&user);
        pf->SetFfMacCschedSapUser(&sink);
        sched = pf->GetFfMacSchedSapProvider();
        csched = pf->GetFfMacCschedSapProvider();
        if (skip)
        {
            idle = std::make_unique<gaidt::PfIdleDlTrigger>(pf);
        }
        FfMacCschedSapProvider::CschedCellConfigReqParameters cell{};
        cell.m_dlBandwidth = kBandwidthRbs;
        cell.m_ulBandwidth = kBandwidthRbs;
        csched->CschedCellConfigReq(cell);
    }

    void RlcBuffer(const FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& p)
    {
        if (idle)
        {
            idle->NoteRlcBufferReq(p);
        }
        sched->SchedDlRlcBufferReq(p);
    }

    void DlTrigger(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& p)
    {
        if (!idle || !idle->Try(p, &user))
        {
            sched->SchedDlTriggerReq(p);
        }
    }

    /** PF's state kept across TTIs, as text (doubles as their exact bits, in hexfloat). */
    std::string State() const
    {
        using namespace gaidt::detail;
        std::ostringstream s;
        s << std::hexfloat;
        for (const auto& [rnti, f] : (*pf).*Member(CheckFlowStatsTag{}))
        {
            s << "flow " << rnti << " " << f.totalBytesTransmitted << " "
              << f.lastTtiBytesTransmitted << " " << f.lastAveragedThroughput << "\n";
        }
        for (const auto& [rnti, t] : (*pf).*Member(CheckP10TimersTag{}))
        {
            s << "p10 " << rnti << " " << t << "\n";
        }
        for (const auto& [rnti, t] : (*pf).*Member(CheckA30TimersTag{}))
        {
            s << "a30 " << rnti << " " << t << "\n";
        }
        for (const auto& [rnti, v] : (*pf).*Member(CheckHarqTimerTag{}))
        {
            s << "harq-timer " << rnti;
            for (auto x : v)
            {
                s << " " << int(x);
            }
            s << "\n";
        }
        for (const auto& [rnti, v] : (*pf).*Member(CheckHarqStatusTag{}))
        {
            s << "harq-status " << rnti;
            for (auto x : v)
            {
                s << " " << int(x);
            }
            s << "\n";
        }
        for (const auto& [rnti, id] : (*pf).*Member(CheckUlHarqIdTag{}))
        {
            s << "ul-harq-id " << rnti << " " << int(id) << "\n";
        }
        s << "rach-map";
        for (auto x : (*pf).*Member(CheckRachMapTag{}))
        {
            s << " " << x;
        }
        return s.str();
    }

    Ptr<PfFfMacScheduler> pf;
    Ptr<LteFrNoOpAlgorithm> ffr;
    Recorder user;
    CschedSink sink;
    FfMacSchedSapProvider* sched = nullptr;
    FfMacCschedSapProvider* csched = nullptr;
    std::unique_ptr<gaidt::PfIdleDlTrigger> idle;
};

} // namespace

int
main(int argc, char* argv[])
{
    uint32_t seed = 1;
    uint32_t ttis = 20000;
    CommandLine cmd(__FILE__);
    cmd.AddValue("seed", "seed of the random call sequence", seed);
    cmd.AddValue("ttis", "TTIs to run", ttis);
    cmd.Parse(argc, argv);

    Cell ref(false); // ns-3's PF as is
    Cell cut(true);  // behind PfIdleDlTrigger
    std::mt19937 rng(seed);
    auto chance = [&rng](double p) {
        return std::uniform_real_distribution<double>(0, 1)(rng) < p;
    };
    auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

    std::vector<uint16_t> ues;
    uint16_t nextRnti = 1;
    // DL transmissions waiting for HARQ feedback: (TTI due, rnti, process)
    std::vector<std::tuple<uint32_t, uint16_t, uint8_t>> feedback;
    uint64_t busyAfterIdle = 0;
    uint64_t decisions = 0;
    bool lastIdle = false;

    for (uint32_t tti = 0; tti < ttis; ++tti)
    {
        const uint16_t sfnSf = static_cast<uint16_t>((((tti / 10) % 1024) << 4) | (tti % 10));
        // UEs come (up to 12) and go
        if (ues.size() < 12 && chance(0.01))
        {
            const uint16_t rnti = nextRnti++;
            FfMacCschedSapProvider::CschedUeConfigReqParameters ue{};
            ue.m_rnti = rnti;
            ue.m_reconfigureFlag = false;
            ue.m_transmissionMode = 0;
            FfMacCschedSapProvider::CschedLcConfigReqParameters lc{};
            lc.m_rnti = rnti;
            lc.m_reconfigureFlag = false;
            for (uint8_t id = 1; id <= 3; ++id)
            {
                LogicalChannelConfigListElement_s e;
                e.m_logicalChannelIdentity = id;
                e.m_logicalChannelGroup = id == 3 ? 1 : 0;
                e.m_direction = LogicalChannelConfigListElement_s::DIR_BOTH;
                e.m_qosBearerType = LogicalChannelConfigListElement_s::QBT_NON_GBR;
                e.m_qci = 9;
                lc.m_logicalChannelConfigList.push_back(e);
            }
            for (Cell* c : {&ref, &cut})
            {
                c->csched->CschedUeConfigReq(ue);
                c->csched->CschedLcConfigReq(lc);
            }
            ues.push_back(rnti);
        }
        if (ues.size() > 2 && chance(0.003))
        {
            const std::size_t k = pick(0, ues.size() - 1);
            FfMacCschedSapProvider::CschedUeReleaseReqParameters rel{};
            rel.m_rnti = ues[k];
            for (Cell* c : {&ref, &cut})
            {
                c->csched->CschedUeReleaseReq(rel);
            }
            std::erase_if(feedback, [&](const auto& f) { return std::get<1>(f) == ues[k]; });
            ues.erase(ues.begin() + k);
        }
        if (!ues.empty())
        {
            if (chance(0.01)) // RLC buffer report, often with data, sometimes emptying a channel
            {
                FfMacSchedSapProvider::SchedDlRlcBufferReqParameters b{};
                b.m_rnti = ues[pick(0, ues.size() - 1)];
                b.m_logicalChannelIdentity = pick(1, 3);
                b.m_rlcTransmissionQueueSize = chance(0.7) ? pick(1, 800) : 0;
                b.m_rlcRetransmissionQueueSize = chance(0.1) ? pick(1, 500) : 0;
                b.m_rlcStatusPduSize = chance(0.1) ? pick(2, 20) : 0;
                for (Cell* c : {&ref, &cut})
                {
                    c->RlcBuffer(b);
                }
            }
            if (chance(0.1)) // a CQI report, wideband or subband
            {
                FfMacSchedSapProvider::SchedDlCqiInfoReqParameters q{};
                q.m_sfnSf = sfnSf;
                CqiListElement_s e;
                e.m_rnti = ues[pick(0, ues.size() - 1)];
                e.m_ri = 1;
                if (chance(0.5))
                {
                    e.m_cqiType = CqiListElement_s::P10;
                    e.m_wbCqi.push_back(pick(0, 15));
                }
                else
                {
                    e.m_cqiType = CqiListElement_s::A30;
                    for (int i = 0; i < kRbgs; ++i)
                    {
                        HigherLayerSelected_s sb;
                        sb.m_sbCqi.push_back(pick(0, 15));
                        e.m_sbMeasResult.m_higherLayerSelected.push_back(sb);
                    }
                }
                q.m_cqiList.push_back(e);
                for (Cell* c : {&ref, &cut})
                {
                    c->sched->SchedDlCqiInfoReq(q);
                }
            }
            if (chance(0.01)) // random-access responses to build
            {
                FfMacSchedSapProvider::SchedDlRachInfoReqParameters r{};
                r.m_sfnSf = sfnSf;
                r.m_rachList.push_back(RachListElement_s{ues[pick(0, ues.size() - 1)], 56});
                for (Cell* c : {&ref, &cut})
                {
                    c->sched->SchedDlRachInfoReq(r);
                }
            }
            if (chance(0.02)) // a UL buffer status report
            {
                FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters m{};
                m.m_sfnSf = sfnSf;
                MacCeListElement_s ce;
                ce.m_rnti = ues[pick(0, ues.size() - 1)];
                ce.m_macCeType = MacCeListElement_s::BSR;
                ce.m_macCeValue.m_bufferStatus = {static_cast<uint8_t>(pick(0, 30)), 0, 0, 0};
                m.m_macCeList.push_back(ce);
                for (Cell* c : {&ref, &cut})
                {
                    c->sched->SchedUlMacCtrlInfoReq(m);
                }
            }
        }
        // HARQ feedback due this TTI
        FfMacSchedSapProvider::SchedDlTriggerReqParameters dl{};
        dl.m_sfnSf = sfnSf;
        for (auto it = feedback.begin(); it != feedback.end();)
        {
            if (std::get<0>(*it) == tti)
            {
                DlInfoListElement_s info;
                info.m_rnti = std::get<1>(*it);
                info.m_harqProcessId = std::get<2>(*it);
                info.m_harqStatus.push_back(chance(0.3) ? DlInfoListElement_s::NACK
                                                        : DlInfoListElement_s::ACK);
                dl.m_dlInfoList.push_back(info);
                it = feedback.erase(it);
            }
            else
            {
                ++it;
            }
        }
        const uint64_t idleBefore = cut.idle->GetIdleTriggers();
        ref.user.sent.clear();
        for (Cell* c : {&ref, &cut})
        {
            c->DlTrigger(dl);
            FfMacSchedSapProvider::SchedUlTriggerReqParameters ul{};
            ul.m_sfnSf = sfnSf;
            c->sched->SchedUlTriggerReq(ul);
        }
        const bool wasIdle = cut.idle->GetIdleTriggers() > idleBefore;
        busyAfterIdle += (!wasIdle && lastIdle) ? 1 : 0;
        lastIdle = wasIdle;
        for (const auto& [rnti, harq] : ref.user.sent)
        {
            if (chance(0.8)) // else no feedback: ns-3's HARQ timeout frees the process
            {
                feedback.emplace_back(tti + 4, rnti, harq);
            }
        }
        if (ref.user.log != cut.user.log || ref.State() != cut.State())
        {
            std::cerr << "TTI " << tti << ": the cells disagree\n";
            const auto& a = ref.user.log;
            const auto& b = cut.user.log;
            for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i)
            {
                const std::string x = i < a.size() ? a[i] : "-";
                const std::string y = i < b.size() ? b[i] : "-";
                if (x != y)
                {
                    std::cerr << "decision " << i << "\n  ns-3: " << x << "\n  skip: " << y << "\n";
                    break;
                }
            }
            std::cerr << "ns-3 state:\n" << ref.State() << "\nskip state:\n" << cut.State() << "\n";
            return 1;
        }
        decisions += ref.user.log.size();
        ref.user.log.clear();
        cut.user.log.clear();
    }
    std::cout << "ttis " << ttis << " idle " << cut.idle->GetIdleTriggers() << " busy_after_idle "
              << busyAfterIdle << " decisions " << decisions << " ues_created " << nextRnti - 1
              << "\n";
    return 0;
}
