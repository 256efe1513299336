#include "model/ul-grant-guard-scheduler.h"

#include "model/sensor-status.h"

#include "ns3/boolean.h"
#include "ns3/component-carrier-enb.h"
#include "ns3/enum.h"
#include "ns3/log.h"
#include "ns3/lte-common.h"
#include "ns3/lte-vendor-specific-parameters.h"
#include "ns3/string.h"
#include "ns3/trace-source-accessor.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <cmath>

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtUlGrantGuardScheduler");
NS_OBJECT_ENSURE_REGISTERED(UlGrantGuardScheduler);

namespace
{

/** The UE of an SRS UL-CQI report (0 for other reports). */
uint16_t
SrsRnti(const FfMacSchedSapProvider::SchedUlCqiInfoReqParameters& params)
{
    if (params.m_ulCqi.m_type != UlCqi_s::SRS)
    {
        return 0;
    }
    for (const VendorSpecificListElement_s& v : params.m_vendorSpecificList)
    {
        if (v.m_type == SRS_CQI_RNTI_VSP)
        {
            return DynamicCast<SrsCqiRntiVsp>(v.m_value)->GetRnti();
        }
    }
    return 0;
}

} // namespace

/**
 * Passes the MAC's scheduler calls to the inner scheduler; notes BSRs on the way. With PF's idle
 * TTIs batched (PfIdleTti), every call first applies the pending bookkeeping, and the two
 * triggers go to PfIdleTti first.
 */
class UlGrantGuardScheduler::SchedProvider : public FfMacSchedSapProvider
{
  public:
    SchedProvider(UlGrantGuardScheduler* owner, FfMacSchedSapProvider* inner)
        : m_owner(owner),
          m_inner(inner)
    {
    }

    void SchedDlRlcBufferReq(const SchedDlRlcBufferReqParameters& p) override
    {
        if (m_owner->m_pfIdle)
        {
            m_owner->m_pfIdle->BeforeRlcBufferReq(p);
        }
        m_inner->SchedDlRlcBufferReq(p);
    }

    void SchedDlPagingBufferReq(const SchedDlPagingBufferReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->SchedDlPagingBufferReq(p);
    }

    void SchedDlMacBufferReq(const SchedDlMacBufferReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->SchedDlMacBufferReq(p);
    }

    void SchedDlTriggerReq(const SchedDlTriggerReqParameters& p) override
    {
        if (!m_owner->SkipIdleDl(p))
        {
            m_inner->SchedDlTriggerReq(p);
        }
    }

    void SchedDlRachInfoReq(const SchedDlRachInfoReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->SchedDlRachInfoReq(p);
    }

    void SchedDlCqiInfoReq(const SchedDlCqiInfoReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->SchedDlCqiInfoReq(m_owner->m_catm1 ? m_owner->m_catm1->CapDlCqi(p) : p);
    }

    void SchedUlTriggerReq(const SchedUlTriggerReqParameters& p) override
    {
        if (!m_owner->m_pfIdle || !m_owner->m_pfIdle->TryUl(p))
        {
            if (m_owner->m_catm1)
            {
                m_owner->m_catm1->BeforeUlTrigger();
            }
            m_inner->SchedUlTriggerReq(p);
            if (m_owner->m_catm1)
            {
                m_owner->m_catm1->AfterUlTrigger();
            }
        }
    }

    void SchedUlNoiseInterferenceReq(const SchedUlNoiseInterferenceReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->SchedUlNoiseInterferenceReq(p);
    }

    void SchedUlSrInfoReq(const SchedUlSrInfoReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->SchedUlSrInfoReq(p);
    }

    void SchedUlMacCtrlInfoReq(const SchedUlMacCtrlInfoReqParameters& p) override
    {
        m_owner->OnUlMacCtrlInfo(p);
        if (m_owner->m_pfIdle)
        {
            m_owner->m_pfIdle->BeforeUlMacCtrlInfoReq(p);
        }
        m_inner->SchedUlMacCtrlInfoReq(p);
    }

    void SchedUlCqiInfoReq(const SchedUlCqiInfoReqParameters& p) override
    {
        m_owner->FlushPf();
        if (m_owner->m_catm1)
        {
            m_inner->SchedUlCqiInfoReq(m_owner->m_catm1->CapUlCqi(m_owner->OnUlCqi(p), SrsRnti(p)));
            return;
        }
        m_inner->SchedUlCqiInfoReq(m_owner->OnUlCqi(p));
    }

  private:
    UlGrantGuardScheduler* m_owner;
    FfMacSchedSapProvider* m_inner;
};

/** Passes the MAC's CSCHED calls to the inner scheduler, after PfIdleTti's pending bookkeeping. */
class UlGrantGuardScheduler::CschedProvider : public FfMacCschedSapProvider
{
  public:
    CschedProvider(UlGrantGuardScheduler* owner, FfMacCschedSapProvider* inner)
        : m_owner(owner),
          m_inner(inner)
    {
    }

    void CschedCellConfigReq(const CschedCellConfigReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->CschedCellConfigReq(p);
    }

    void CschedUeConfigReq(const CschedUeConfigReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->CschedUeConfigReq(p);
    }

    void CschedLcConfigReq(const CschedLcConfigReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->CschedLcConfigReq(p);
    }

    void CschedLcReleaseReq(const CschedLcReleaseReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->CschedLcReleaseReq(p);
    }

    void CschedUeReleaseReq(const CschedUeReleaseReqParameters& p) override
    {
        m_owner->FlushPf();
        m_inner->CschedUeReleaseReq(p);
    }

  private:
    UlGrantGuardScheduler* m_owner;
    FfMacCschedSapProvider* m_inner;
};

/** Receives the inner scheduler's decisions; rewrites dead UL grants, then hands them to the MAC.
 */
class UlGrantGuardScheduler::SchedUser : public FfMacSchedSapUser
{
  public:
    explicit SchedUser(UlGrantGuardScheduler* owner)
        : m_owner(owner)
    {
    }

    void SchedDlConfigInd(const SchedDlConfigIndParameters& p) override
    {
        if (!m_owner->m_catm1)
        {
            m_owner->m_macUser->SchedDlConfigInd(p);
            return;
        }
        SchedDlConfigIndParameters out = p;
        for (BuildDataListElement_s& data : out.m_buildDataList)
        {
            m_owner->m_catm1->LimitDl(data);
        }
        m_owner->m_macUser->SchedDlConfigInd(out);
    }

    void SchedUlConfigInd(const SchedUlConfigIndParameters& p) override
    {
        m_owner->OnUlConfigInd(p);
    }

  private:
    UlGrantGuardScheduler* m_owner;
};

TypeId
UlGrantGuardScheduler::GetTypeId()
{
    static TypeId tid =
        TypeId("gaidt::UlGrantGuardScheduler")
            .SetParent<FfMacScheduler>()
            .SetGroupName("Gaidt")
            .AddConstructor<UlGrantGuardScheduler>()
            .AddAttribute("InnerType",
                          "TypeId name of the wrapped ns-3 LTE MAC scheduler (any FfMacScheduler).",
                          StringValue("ns3::PfFfMacScheduler"),
                          MakeStringAccessor(&UlGrantGuardScheduler::m_innerType),
                          MakeStringChecker())
            .AddAttribute(
                "MinUsefulUlTbBytes",
                "Smallest UL transport block ns-3's UE MAC fills with RLC data (LteUeMac: "
                "more than 7 bytes). A grant of exactly one byte less is raised to this "
                "size at the same MCS and PRBs. 0 disables the rewrite. Unit: bytes.",
                UintegerValue(8),
                MakeUintegerAccessor(&UlGrantGuardScheduler::m_minUsefulUlTbBytes),
                MakeUintegerChecker<uint32_t>(0, 64))
            .AddAttribute("SrsPowerScaling",
                          "Scale SRS UL-CQI by the PSD gain of a power-capped UE's PUSCH on the "
                          "granted PRBs over its full-band SRS (see the header).",
                          BooleanValue(false),
                          MakeBooleanAccessor(&UlGrantGuardScheduler::m_srsPowerScaling),
                          MakeBooleanChecker())
            .AddAttribute(
                "UlBandwidth",
                "UL bandwidth of the cell (the SRS bandwidth), for SrsPowerScaling. Unit: RBs.",
                UintegerValue(25),
                MakeUintegerAccessor(&UlGrantGuardScheduler::m_ulBandwidth),
                MakeUintegerChecker<uint32_t>(6, 100))
            .AddAttribute(
                "BatchIdlePfTtis",
                "If the inner scheduler is ns3::PfFfMacScheduler, do its TTIs that can "
                "schedule nothing without its search, their bookkeeping batched until PF is "
                "next called (gaidt::PfIdleTti, pf-idle-tti.h; same results). Needs an FFR "
                "algorithm without side effects (ns-3's LteFrNoOpAlgorithm).",
                BooleanValue(false),
                MakeBooleanAccessor(&UlGrantGuardScheduler::m_batchIdlePf),
                MakeBooleanChecker())
            .AddAttribute("CatM1",
                          "Apply the Cat-M1 (LTE-M CE mode A) limits: MCS <= 15 (16QAM), "
                          "transport blocks <= 1000 bits, PUCCH RBs, half-duplex FDD "
                          "(gaidt::CatM1Limits, catm1-limits.h).",
                          BooleanValue(false),
                          MakeBooleanAccessor(&UlGrantGuardScheduler::m_catM1),
                          MakeBooleanChecker())
            .AddAttribute("PucchRbs",
                          "With CatM1 and ns-3's PF inside: RBs of the narrowband reserved for "
                          "PUCCH (not given to PUSCH data). Unit: RBs.",
                          UintegerValue(0),
                          MakeUintegerAccessor(&UlGrantGuardScheduler::m_pucchRbs),
                          MakeUintegerChecker<uint32_t>(0, 3))
            .AddAttribute("HalfDuplexFdd",
                          "With CatM1 and ns-3's PF inside: a UE sends PUSCH in at most 3 of any "
                          "8 TTIs (HD-FDD type B).",
                          BooleanValue(false),
                          MakeBooleanAccessor(&UlGrantGuardScheduler::m_halfDuplexFdd),
                          MakeBooleanChecker())
            .AddTraceSource("UlBsr",
                            "A buffer status report reached the scheduler: (rnti, buffer bytes).",
                            MakeTraceSourceAccessor(&UlGrantGuardScheduler::m_bsrTrace),
                            "gaidt::UlGrantGuardScheduler::BsrTracedCallback")
            .AddTraceSource(
                "UlGrantRaised",
                "A UL grant was raised to MinUsefulUlTbBytes: (rnti, mcs, from, to bytes).",
                MakeTraceSourceAccessor(&UlGrantGuardScheduler::m_grantRaisedTrace),
                "gaidt::UlGrantGuardScheduler::GrantRaisedTracedCallback");
    return tid;
}

UlGrantGuardScheduler::UlGrantGuardScheduler()
    : m_amc(CreateObject<LteAmc>())
{
}

UlGrantGuardScheduler::~UlGrantGuardScheduler() = default;

Ptr<FfMacScheduler>
UlGrantGuardScheduler::GetInner()
{
    if (!m_inner)
    {
        ObjectFactory f;
        f.SetTypeId(m_innerType);
        f.Set("UlCqiFilter", EnumValue(m_ulCqiFilter));
        m_inner = f.Create<FfMacScheduler>();
        m_provider = std::make_unique<SchedProvider>(this, m_inner->GetFfMacSchedSapProvider());
        m_csched = std::make_unique<CschedProvider>(this, m_inner->GetFfMacCschedSapProvider());
        m_user = std::make_unique<SchedUser>(this);
        m_inner->SetFfMacSchedSapUser(m_user.get());
        const bool pf = m_inner->GetInstanceTypeId() == PfFfMacScheduler::GetTypeId();
        if (m_batchIdlePf && pf)
        {
            m_pfIdle = std::make_unique<PfIdleTti>(DynamicCast<PfFfMacScheduler>(m_inner));
        }
        if (m_catM1)
        {
            m_catm1 =
                std::make_unique<CatM1Limits>(pf ? DynamicCast<PfFfMacScheduler>(m_inner) : nullptr,
                                              m_pucchRbs,
                                              m_halfDuplexFdd);
        }
    }
    return m_inner;
}

std::vector<Ptr<UlGrantGuardScheduler>>
UlGrantGuardScheduler::InstalledOn(Ptr<LteEnbNetDevice> enb)
{
    std::vector<Ptr<UlGrantGuardScheduler>> out;
    for (const auto& [id, cc] : enb->GetCcMap())
    {
        auto ccEnb = DynamicCast<ComponentCarrierEnb>(cc);
        if (auto guard =
                ccEnb ? DynamicCast<UlGrantGuardScheduler>(ccEnb->GetFfMacScheduler()) : nullptr)
        {
            out.push_back(guard);
        }
    }
    return out;
}

bool
UlGrantGuardScheduler::SkipIdleDl(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& params)
{
    // an idle PF TTI (pf-idle-tti.h); its decision goes out as the inner's would
    return m_pfIdle && m_pfIdle->TryDl(params, m_user.get());
}

void
UlGrantGuardScheduler::FlushPf()
{
    if (m_pfIdle)
    {
        m_pfIdle->Flush();
    }
}

const PfIdleTti*
UlGrantGuardScheduler::GetPfIdle() const
{
    return m_pfIdle.get();
}

const CatM1Limits*
UlGrantGuardScheduler::GetCatM1() const
{
    return m_catm1.get();
}

void
UlGrantGuardScheduler::DoDispose()
{
    m_pfIdle.reset();
    m_catm1.reset();
    if (m_inner)
    {
        m_inner->Dispose();
        m_inner = nullptr;
    }
    FfMacScheduler::DoDispose();
}

void
UlGrantGuardScheduler::SetFfMacCschedSapUser(FfMacCschedSapUser* s)
{
    GetInner()->SetFfMacCschedSapUser(s);
}

void
UlGrantGuardScheduler::SetFfMacSchedSapUser(FfMacSchedSapUser* s)
{
    GetInner();
    m_macUser = s;
}

FfMacCschedSapProvider*
UlGrantGuardScheduler::GetFfMacCschedSapProvider()
{
    GetInner();
    return m_csched.get();
}

FfMacSchedSapProvider*
UlGrantGuardScheduler::GetFfMacSchedSapProvider()
{
    GetInner();
    return m_provider.get();
}

void
UlGrantGuardScheduler::SetLteFfrSapProvider(LteFfrSapProvider* s)
{
    GetInner()->SetLteFfrSapProvider(s);
}

LteFfrSapUser*
UlGrantGuardScheduler::GetLteFfrSapUser()
{
    return GetInner()->GetLteFfrSapUser();
}

void
UlGrantGuardScheduler::OnUlMacCtrlInfo(
    const FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters& params)
{
    for (const MacCeListElement_s& ce : params.m_macCeList)
    {
        if (ce.m_macCeType != MacCeListElement_s::BSR)
        {
            continue;
        }
        uint32_t bytes = 0;
        for (uint8_t level : ce.m_macCeValue.m_bufferStatus)
        {
            bytes += BufferSizeLevelBsr::BsrId2BufferSize(level);
        }
        m_bsrTrace(ce.m_rnti, bytes);
    }
}

namespace
{

constexpr uint16_t kMinUlPrbs = 3; // smallest UL grant of ns-3's schedulers

double
PowerGainDb(uint32_t bandwidth, uint16_t prbs)
{
    return 10 * std::log10(static_cast<double>(bandwidth) / std::max<uint16_t>(prbs, 1));
}

} // namespace

FfMacSchedSapProvider::SchedUlCqiInfoReqParameters
UlGrantGuardScheduler::OnUlCqi(const FfMacSchedSapProvider::SchedUlCqiInfoReqParameters& params)
{
    if (!m_srsPowerScaling || params.m_ulCqi.m_type != UlCqi_s::SRS)
    {
        return params;
    }
    const uint16_t rnti = SrsRnti(params);
    FfMacSchedSapProvider::SchedUlCqiInfoReqParameters out = params;
    std::vector<double>& raw = m_rawSrsSinrDb[rnti];
    raw.clear();
    // The inner scheduler sees the SINR as measured, except that an RB below the
    // lowest-MCS threshold on which a 3-PRB PUSCH would reach it is lifted just above
    // it (so the inner scheduler grants at all). The grant's MCS is then raised for
    // the PRBs actually granted (OnUlConfigInd), never lowered: the inner scheduler
    // never believes it granted more bytes than it did, so its view of the UE's
    // buffer never runs ahead of the UE's (which would stall the UE until its next BSR).
    const double gain = PowerGainDb(m_ulBandwidth, kMinUlPrbs);
    const double lift =
        LowestMcsSinrDb() + 0.25; // above the threshold after S11.3 rounding (1/8 dB)
    for (uint16_t& fp : out.m_ulCqi.m_sinr)
    {
        const double db = LteFfConverter::fpS11dot3toDouble(fp);
        raw.push_back(db);
        if (db < lift && db + gain >= lift)
        {
            fp = LteFfConverter::double2fpS11dot3(lift);
        }
    }
    return out;
}

int
UlGrantGuardScheduler::ScaledMcs(uint16_t rnti, uint16_t rbStart, uint16_t rbLen)
{
    auto it = m_rawSrsSinrDb.find(rnti);
    if (it == m_rawSrsSinrDb.end() || rbStart + rbLen > it->second.size() || rbLen == 0)
    {
        return -1;
    }
    double minSinr = INFINITY;
    for (uint16_t rb = rbStart; rb < rbStart + rbLen; ++rb)
    {
        minSinr = std::min(minSinr, it->second[rb]);
    }
    minSinr += PowerGainDb(m_ulBandwidth, rbLen);
    // the schedulers' own mapping (pf-ff-mac-scheduler.cc, "translate SINR -> cqi")
    const double s =
        std::log2(1 + (std::pow(10, minSinr / 10) / ((-std::log(5.0 * 0.00005)) / 1.5)));
    const int cqi = m_amc->GetCqiFromSpectralEfficiency(s);
    return cqi == 0 ? 0 : m_amc->GetMcsFromCqi(cqi);
}

void
UlGrantGuardScheduler::OnUlConfigInd(const FfMacSchedSapUser::SchedUlConfigIndParameters& params)
{
    if (m_minUsefulUlTbBytes == 0 && !m_srsPowerScaling && !m_catm1)
    {
        m_macUser->SchedUlConfigInd(params);
        return;
    }
    FfMacSchedSapUser::SchedUlConfigIndParameters out = params;
    for (UlDciListElement_s& dci : out.m_dciList)
    {
        const uint16_t innerBytes = dci.m_tbSize;
        GuardUlDci(dci);
        if (m_catm1)
        {
            m_catm1->LimitUlDci(dci, innerBytes);
        }
    }
    m_macUser->SchedUlConfigInd(out);
}

void
UlGrantGuardScheduler::GuardUlDci(UlDciListElement_s& dci)
{
    if (m_srsPowerScaling)
    {
        const auto key =
            std::make_tuple(dci.m_rnti, dci.m_rbStart, dci.m_rbLen, dci.m_mcs, dci.m_tbSize);
        if (dci.m_ndi == 1)
        {
            const int mcs = ScaledMcs(dci.m_rnti, dci.m_rbStart, dci.m_rbLen);
            if (mcs > dci.m_mcs)
            {
                dci.m_mcs = static_cast<uint8_t>(mcs);
                dci.m_tbSize =
                    static_cast<uint16_t>(m_amc->GetUlTbSizeFromMcs(mcs, dci.m_rbLen) / 8);
                m_rewritten[key] = {dci.m_mcs, dci.m_tbSize};
            }
        }
        else
        {
            auto it = m_rewritten.find(key);
            if (it != m_rewritten.end())
            {
                dci.m_mcs = it->second.first;
                dci.m_tbSize = it->second.second;
            }
        }
    }
    if (m_minUsefulUlTbBytes == 0)
    {
        return;
    }
    // Retransmissions (ndi 0) repeat the inner scheduler's stored DCI: raise them
    // too, so the eNB expects the size the UE actually sent.
    if (dci.m_tbSize + 1u == m_minUsefulUlTbBytes)
    {
        NS_LOG_DEBUG("raise UL grant rnti " << dci.m_rnti << " mcs " << +dci.m_mcs << " from "
                                            << dci.m_tbSize << " B");
        m_grantRaisedTrace(dci.m_rnti, dci.m_mcs, dci.m_tbSize, m_minUsefulUlTbBytes);
        dci.m_tbSize = static_cast<uint16_t>(m_minUsefulUlTbBytes);
    }
}

} // namespace gaidt
