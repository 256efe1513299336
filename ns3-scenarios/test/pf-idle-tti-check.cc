// pf-idle-tti-check.cc: two ns3::PfFfMacScheduler cells, one of them behind gaidt::PfIdleTti,
// driven through the same random sequence of scheduler calls; checks that their decisions and
// the state PF keeps across TTIs agree.
//
// The scenario runs compare whole results (tests/test_pf_idle_tti.py), but in them a CQI report is
// never older than PF's 1000-TTI CQI timer when it matters, and a HARQ process always gets its
// feedback. Here the CQI timer is 20 TTIs and reports come every 10 TTIs on average (so batches of
// idle TTIs outlive reports), one DL transmission in five gets no HARQ feedback (so ns-3's 11-TTI
// HARQ timeout frees the process inside a batch), UL CQI reports (SRS) expire, UEs come and go,
// random-access responses and UL buffer reports arrive at random, and DL data is rare, so that
// most TTIs are idle and busy ones follow them; quiet stretches of 10 to 80 TTIs with no other
// call make long batches. Every call into the batched cell goes through
// PfIdleTti as gaidt::UlGrantGuardScheduler routes it: the triggers to TryDl/TryUl, anything else
// after Flush.
//
// Compared after every TTI: each DL and UL decision (every field the MAC reads). Compared at
// random TTIs (one in 20), after flushing the batched cell: PF's per-UE DL throughput averages and
// byte counts, DL CQI reports and timers, UL CQI timers, DL HARQ timers and status, UL HARQ
// process ids and the RACH allocation map.
//
// Usage: gaidt-pf-idle-tti-check [--seed=N] [--ttis=N]; exit status 0 if the two cells agreed.
#include "model/fast/pf-idle-tti.h"
#include "model/lte-private-access.h"

#include "ns3/command-line.h"
#include "ns3/ff-mac-csched-sap.h"
#include "ns3/ff-mac-sched-sap.h"
#include "ns3/lte-fr-no-op-algorithm.h"
#include "ns3/lte-vendor-specific-parameters.h"
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
GAIDT_PRIVATE_MEMBER(CheckUlCqiTimersTag, PfFfMacScheduler, m_ueCqiTimers, CheckTimers);
GAIDT_PRIVATE_MEMBER(CheckP10Tag, PfFfMacScheduler, m_p10CqiRxed, CheckHarqIds);
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
            ulSent.emplace_back(d.m_rnti, 0);
        }
        log.push_back(s.str());
    }

    std::vector<std::string> log;
    std::vector<std::pair<uint16_t, uint8_t>> sent;   // DL (rnti, HARQ process) this TTI
    std::vector<std::pair<uint16_t, uint8_t>> ulSent; // UL grants (rnti) since last read
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
            idle = std::make_unique<gaidt::PfIdleTti>(pf);
        }
        FfMacCschedSapProvider::CschedCellConfigReqParameters cell{};
        cell.m_dlBandwidth = kBandwidthRbs;
        cell.m_ulBandwidth = kBandwidthRbs;
        csched->CschedCellConfigReq(cell);
    }

    /** Before any call into PF other than a trigger (UlGrantGuardScheduler does the same). */
    Cell& Flushed()
    {
        if (idle)
        {
            idle->Flush();
        }
        return *this;
    }

    void RlcBuffer(const FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& p)
    {
        if (idle)
        {
            idle->BeforeRlcBufferReq(p);
        }
        sched->SchedDlRlcBufferReq(p);
    }

    void MacCtrl(const FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters& p)
    {
        if (idle)
        {
            idle->BeforeUlMacCtrlInfoReq(p);
        }
        sched->SchedUlMacCtrlInfoReq(p);
    }

    void DlTrigger(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& p)
    {
        if (!idle || !idle->TryDl(p, &user))
        {
            sched->SchedDlTriggerReq(p);
        }
    }

    void UlTrigger(const FfMacSchedSapProvider::SchedUlTriggerReqParameters& p)
    {
        if (!idle || !idle->TryUl(p))
        {
            sched->SchedUlTriggerReq(p);
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
        for (const auto& [rnti, cqi] : (*pf).*Member(CheckP10Tag{}))
        {
            s << "p10-cqi " << rnti << " " << int(cqi) << "\n";
        }
        for (const auto& [rnti, t] : (*pf).*Member(CheckUlCqiTimersTag{}))
        {
            s << "ul-cqi " << rnti << " " << t << "\n";
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
    std::unique_ptr<gaidt::PfIdleTti> idle;
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
    Cell cut(true);  // behind PfIdleTti
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
    uint64_t stateChecks = 0;
    std::vector<std::pair<uint32_t, uint16_t>> ulFeedback; // UL HARQ feedback due: (TTI, rnti)
    bool lastIdle = false;

    uint32_t quietUntil = 0; // no call but the triggers before this TTI: long batches
    for (uint32_t tti = 0; tti < ttis; ++tti)
    {
        if (tti >= quietUntil && chance(0.01))
        {
            quietUntil = tti + pick(10, 80);
        }
        const bool quiet = tti < quietUntil;
        const uint16_t sfnSf = static_cast<uint16_t>((((tti / 10) % 1024) << 4) | (tti % 10));
        // UEs come (up to 12) and go
        if (!quiet && ues.size() < 12 && chance(0.01))
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
                c->Flushed().csched->CschedUeConfigReq(ue);
                c->Flushed().csched->CschedLcConfigReq(lc);
            }
            ues.push_back(rnti);
        }
        if (!quiet && ues.size() > 2 && chance(0.003))
        {
            const std::size_t k = pick(0, ues.size() - 1);
            FfMacCschedSapProvider::CschedUeReleaseReqParameters rel{};
            rel.m_rnti = ues[k];
            for (Cell* c : {&ref, &cut})
            {
                c->Flushed().csched->CschedUeReleaseReq(rel);
            }
            std::erase_if(feedback, [&](const auto& f) { return std::get<1>(f) == ues[k]; });
            std::erase_if(ulFeedback, [&](const auto& f) { return f.second == ues[k]; });
            ues.erase(ues.begin() + k);
        }
        if (!quiet && !ues.empty())
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
                    c->Flushed().sched->SchedDlCqiInfoReq(q);
                }
            }
            if (chance(0.01)) // random-access responses to build
            {
                FfMacSchedSapProvider::SchedDlRachInfoReqParameters r{};
                r.m_sfnSf = sfnSf;
                r.m_rachList.push_back(RachListElement_s{ues[pick(0, ues.size() - 1)], 56});
                for (Cell* c : {&ref, &cut})
                {
                    c->Flushed().sched->SchedDlRachInfoReq(r);
                }
            }
            if (chance(0.05)) // an SRS UL-CQI report (PF's UL CQI timer is 20 TTIs too)
            {
                FfMacSchedSapProvider::SchedUlCqiInfoReqParameters u{};
                u.m_sfnSf = sfnSf;
                u.m_ulCqi.m_type = UlCqi_s::SRS;
                for (int rb = 0; rb < kBandwidthRbs; ++rb)
                {
                    u.m_ulCqi.m_sinr.push_back(
                        static_cast<uint16_t>(pick(0, 200))); // S11.3: 0-25 dB
                }
                VendorSpecificListElement_s v;
                v.m_type = SRS_CQI_RNTI_VSP;
                v.m_length = sizeof(SrsCqiRntiVsp);
                v.m_value = Create<SrsCqiRntiVsp>(ues[pick(0, ues.size() - 1)]);
                u.m_vendorSpecificList.push_back(v);
                for (Cell* c : {&ref, &cut})
                {
                    c->Flushed().sched->SchedUlCqiInfoReq(u);
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
                    c->MacCtrl(m);
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
        const uint64_t idleBefore = cut.idle->GetDlIdle();
        ref.user.sent.clear();
        FfMacSchedSapProvider::SchedUlTriggerReqParameters ul{};
        ul.m_sfnSf = sfnSf;
        for (auto it = ulFeedback.begin(); it != ulFeedback.end();)
        {
            // UL HARQ feedback HARQ_PERIOD TTIs after the grant, as PF expects it: sometimes a
            // failed reception (a retransmission to schedule)
            if (it->first == tti)
            {
                UlInfoListElement_s info;
                info.m_rnti = it->second;
                info.m_receptionStatus =
                    chance(0.2) ? UlInfoListElement_s::NotOk : UlInfoListElement_s::Ok;
                ul.m_ulInfoList.push_back(info);
                it = ulFeedback.erase(it);
            }
            else
            {
                ++it;
            }
        }
        for (Cell* c : {&ref, &cut})
        {
            c->DlTrigger(dl);
            c->UlTrigger(ul);
        }
        for (const auto& [rnti, unused] : ref.user.ulSent)
        {
            ulFeedback.emplace_back(tti + HARQ_PERIOD, rnti);
        }
        ref.user.ulSent.clear();
        cut.user.ulSent.clear();
        const bool wasIdle = cut.idle->GetDlIdle() > idleBefore;
        busyAfterIdle += (!wasIdle && lastIdle) ? 1 : 0;
        lastIdle = wasIdle;
        for (const auto& [rnti, harq] : ref.user.sent)
        {
            if (chance(0.8)) // else no feedback: ns-3's HARQ timeout frees the process
            {
                feedback.emplace_back(tti + 4, rnti, harq);
            }
        }
        const bool compareState = !quiet && chance(0.05);
        if (compareState)
        {
            cut.Flushed();
            ++stateChecks;
        }
        if (ref.user.log != cut.user.log || (compareState && ref.State() != cut.State()))
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
    std::cout << "ttis " << ttis << " idle " << cut.idle->GetDlIdle() << " ul_idle "
              << cut.idle->GetUlIdle() << " busy_after_idle " << busyAfterIdle << " flushes "
              << cut.idle->GetFlushes() << " state_checks " << stateChecks << " decisions "
              << decisions << " ues_created " << nextRnti - 1 << "\n";
    return 0;
}
