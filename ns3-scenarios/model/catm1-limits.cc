#include "model/catm1-limits.h"

#include "model/lte-private-access.h"

#include "ns3/abort.h"
#include "ns3/log.h"
#include "ns3/lte-common.h"
#include "ns3/lte-vendor-specific-parameters.h"
#include "ns3/simulator.h"

#include <algorithm>
#include <cmath>

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtCatM1Limits");

namespace detail
{
using CatM1PfBsr = std::map<uint16_t, uint32_t>;
GAIDT_PRIVATE_MEMBER(CatM1PfBsrTag, PfFfMacScheduler, m_ceBsrRxed, CatM1PfBsr);
GAIDT_PRIVATE_MEMBER(CatM1PfCellConfigTag,
                     PfFfMacScheduler,
                     m_cschedCellConfig,
                     FfMacCschedSapProvider::CschedCellConfigReqParameters);
} // namespace detail

namespace
{

/** ns-3's schedulers' UL link adaptation (pf-ff-mac-scheduler.cc, "translate SINR -> cqi"). */
int
UlCqiFromSinrDb(LteAmc& amc, double sinrDb)
{
    const double s =
        std::log2(1 + (std::pow(10, sinrDb / 10) / ((-std::log(5.0 * 0.00005)) / 1.5)));
    return amc.GetCqiFromSpectralEfficiency(s);
}

} // namespace

CatM1Limits::CatM1Limits(Ptr<PfFfMacScheduler> pf, uint32_t pucchRbs, bool halfDuplex)
    : m_amc(CreateObject<LteAmc>()),
      m_pf(pf),
      m_pucchRbs(pucchRbs),
      m_halfDuplex(halfDuplex)
{
    for (int cqi = 1; cqi <= 15; ++cqi)
    {
        if (m_amc->GetMcsFromCqi(cqi) <= kMaxMcs)
        {
            m_maxCqi = static_cast<uint8_t>(cqi);
        }
    }
    // the highest S11.3 SINR that ns-3's UL mapping puts at m_maxCqi or below
    int16_t fp = static_cast<int16_t>(LteFfConverter::double2fpS11dot3(30.0));
    while (UlCqiFromSinrDb(*m_amc, LteFfConverter::fpS11dot3toDouble(fp)) > m_maxCqi)
    {
        --fp;
    }
    m_maxUlSinrFp = static_cast<uint16_t>(fp);
    m_maxUlSinrDb = LteFfConverter::fpS11dot3toDouble(m_maxUlSinrFp);
    NS_LOG_INFO("Cat-M1: CQI <= " << +m_maxCqi << " (MCS " << m_amc->GetMcsFromCqi(m_maxCqi)
                                  << "), UL SINR <= " << m_maxUlSinrDb << " dB");
}

FfMacSchedSapProvider::SchedUlCqiInfoReqParameters
CatM1Limits::CapUlCqi(const FfMacSchedSapProvider::SchedUlCqiInfoReqParameters& params,
                      uint16_t rnti)
{
    FfMacSchedSapProvider::SchedUlCqiInfoReqParameters out = params;
    std::vector<double>* raw = nullptr;
    if (params.m_ulCqi.m_type == UlCqi_s::SRS && rnti != 0)
    {
        raw = &m_rawUlSinrDb[rnti];
        raw->clear();
    }
    for (uint16_t& fp : out.m_ulCqi.m_sinr)
    {
        const double db = LteFfConverter::fpS11dot3toDouble(fp);
        if (raw)
        {
            raw->push_back(db);
        }
        if (db > m_maxUlSinrDb)
        {
            fp = m_maxUlSinrFp;
            ++m_counters.ulCqiRbsCapped;
        }
    }
    return out;
}

FfMacSchedSapProvider::SchedDlCqiInfoReqParameters
CatM1Limits::CapDlCqi(const FfMacSchedSapProvider::SchedDlCqiInfoReqParameters& params)
{
    FfMacSchedSapProvider::SchedDlCqiInfoReqParameters out = params;
    auto cap = [this](uint8_t& cqi) {
        if (cqi > m_maxCqi)
        {
            cqi = m_maxCqi;
            ++m_counters.dlCqisCapped;
        }
    };
    for (CqiListElement_s& c : out.m_cqiList)
    {
        for (uint8_t& cqi : c.m_wbCqi)
        {
            cap(cqi);
        }
        for (HigherLayerSelected_s& hl : c.m_sbMeasResult.m_higherLayerSelected)
        {
            for (uint8_t& cqi : hl.m_sbCqi)
            {
                cap(cqi);
            }
        }
    }
    return out;
}

int
CatM1Limits::Fit(int mcs, int nprb, bool ul) const
{
    mcs = std::min(mcs, kMaxMcs);
    while (mcs > 0 && (ul ? m_amc->GetUlTbSizeFromMcs(mcs, nprb)
                          : m_amc->GetDlTbSizeFromMcs(mcs, nprb)) > kMaxTbBits)
    {
        --mcs;
    }
    return mcs;
}

int
CatM1Limits::RawUlMcs(uint16_t rnti, uint16_t rbStart, uint16_t rbLen) const
{
    auto it = m_rawUlSinrDb.find(rnti);
    if (it == m_rawUlSinrDb.end() || rbLen == 0 || rbStart + rbLen > it->second.size())
    {
        return -1;
    }
    double minSinr = INFINITY;
    for (uint16_t rb = rbStart; rb < rbStart + rbLen; ++rb)
    {
        minSinr = std::min(minSinr, it->second[rb]);
    }
    const int cqi = UlCqiFromSinrDb(*m_amc, minSinr);
    return cqi == 0 ? 0 : m_amc->GetMcsFromCqi(cqi);
}

void
CatM1Limits::LimitUlDci(UlDciListElement_s& dci, uint16_t innerBytes)
{
    int mcs = dci.m_mcs;
    if (mcs > kMaxMcs)
    {
        mcs = kMaxMcs; // a grant raised beyond Cat-M1 (the grant guard's SRS power scaling)
        ++m_counters.ulMcsCapped;
    }
    if (dci.m_ndi == 1)
    {
        ++m_counters.ulNewGrants;
        // the capped CQI's MCS where the measured SINR supports more: Cat-M1's top MCS
        if (mcs == m_amc->GetMcsFromCqi(m_maxCqi) &&
            RawUlMcs(dci.m_rnti, dci.m_rbStart, dci.m_rbLen) > mcs)
        {
            mcs = kMaxMcs;
            ++m_counters.ulMcsRaised;
        }
        auto& ttis = m_ulGrantTtis[dci.m_rnti];
        ttis.push_back(Simulator::Now().GetMilliSeconds());
        while (ttis.size() > kHdUlTtis)
        {
            ttis.pop_front();
        }
    }
    const int fitted = Fit(mcs, dci.m_rbLen, true);
    if (fitted < mcs)
    {
        ++m_counters.ulTbCapped;
    }
    if (fitted != dci.m_mcs)
    {
        dci.m_mcs = static_cast<uint8_t>(fitted);
        dci.m_tbSize = static_cast<uint16_t>(m_amc->GetUlTbSizeFromMcs(fitted, dci.m_rbLen) / 8);
    }
    // PF took innerBytes - 2 (its RLC overhead estimate) out of its view of the UE's buffer for a
    // new grant; it is set to what PF would have left had it granted the smaller block
    if (m_pf && dci.m_ndi == 1 && dci.m_tbSize < innerBytes)
    {
        auto& bsr = (*m_pf).*Member(detail::CatM1PfBsrTag{});
        auto it = bsr.find(dci.m_rnti);
        auto before = m_bsrBefore.find(dci.m_rnti);
        if (it != bsr.end() && before != m_bsrBefore.end())
        {
            const uint32_t sent = dci.m_tbSize > 2 ? dci.m_tbSize - 2u : 0u;
            const uint32_t view = before->second > sent ? before->second - sent : 0u;
            m_counters.bsrRestoredB += view - it->second;
            it->second = view;
        }
    }
}

void
CatM1Limits::LimitDl(BuildDataListElement_s& data)
{
    DlDciListElement_s& dci = data.m_dci;
    // resource allocation type 0: one bit per RBG; RBGs of 1 RB up to 10 RBs (TS 36.213 7.1.6.1)
    int rbs = 0;
    for (uint32_t b = dci.m_rbBitmap; b; b >>= 1)
    {
        rbs += b & 1;
    }
    if (rbs == 0)
    {
        return;
    }
    for (std::size_t layer = 0; layer < dci.m_mcs.size() && layer < dci.m_tbsSize.size(); ++layer)
    {
        ++m_counters.dlTbs;
        const int fitted = Fit(dci.m_mcs[layer], rbs, false);
        if (fitted == dci.m_mcs[layer])
        {
            continue;
        }
        ++m_counters.dlTbCapped;
        const int bytes = m_amc->GetDlTbSizeFromMcs(fitted, rbs) / 8;
        dci.m_mcs[layer] = static_cast<uint8_t>(fitted);
        dci.m_tbsSize[layer] = static_cast<uint16_t>(bytes);
        // the RLC PDUs of this layer share the smaller block as the inner scheduler shared its own
        if (layer < data.m_rlcPduList.size() && !data.m_rlcPduList[layer].empty())
        {
            auto& pdus = data.m_rlcPduList[layer];
            const auto each = static_cast<uint16_t>(bytes / pdus.size());
            for (RlcPduListElement_s& pdu : pdus)
            {
                pdu.m_size = std::min(pdu.m_size, each);
            }
        }
    }
}

bool
CatM1Limits::HdBlocked(uint16_t rnti, int64_t ttiMs) const
{
    auto it = m_ulGrantTtis.find(rnti);
    if (it == m_ulGrantTtis.end() || it->second.size() < kHdUlTtis)
    {
        return false;
    }
    // the oldest of the last kHdUlTtis grants is within the window ending at this TTI
    return ttiMs - it->second.front() < static_cast<int64_t>(kHdWindowTtis);
}

void
CatM1Limits::BeforeUlTrigger()
{
    if (!m_pf)
    {
        return;
    }
    PfFfMacScheduler& pf = *m_pf;
    m_bsrBefore = pf.*Member(detail::CatM1PfBsrTag{});
    if (m_pucchRbs > 0)
    {
        auto& cell = pf.*Member(detail::CatM1PfCellConfigTag{});
        m_savedUlBandwidth = cell.m_ulBandwidth;
        NS_ABORT_MSG_IF(m_pucchRbs + 3 > cell.m_ulBandwidth,
                        "PucchRbs " << m_pucchRbs << " leaves less than 3 PUSCH RBs");
        cell.m_ulBandwidth = static_cast<uint8_t>(cell.m_ulBandwidth - m_pucchRbs);
    }
    if (m_halfDuplex)
    {
        const int64_t now = Simulator::Now().GetMilliSeconds();
        for (auto& [rnti, bytes] : pf.*Member(detail::CatM1PfBsrTag{}))
        {
            if (bytes > 0 && HdBlocked(rnti, now))
            {
                m_hiddenBsr[rnti] = bytes;
                bytes = 0;
                ++m_counters.hdDeferrals;
            }
        }
    }
}

void
CatM1Limits::AfterUlTrigger()
{
    if (!m_pf)
    {
        return;
    }
    PfFfMacScheduler& pf = *m_pf;
    if (m_pucchRbs > 0)
    {
        (pf.*Member(detail::CatM1PfCellConfigTag{})).m_ulBandwidth = m_savedUlBandwidth;
    }
    auto& bsr = pf.*Member(detail::CatM1PfBsrTag{});
    for (const auto& [rnti, bytes] : m_hiddenBsr)
    {
        auto it = bsr.find(rnti);
        if (it != bsr.end())
        {
            it->second = bytes;
        }
    }
    m_hiddenBsr.clear();
}

} // namespace gaidt
