#include "ul-grant-guard-scheduler.h"

#include "ns3/enum.h"
#include "ns3/log.h"
#include "ns3/lte-common.h"
#include "ns3/string.h"
#include "ns3/trace-source-accessor.h"
#include "ns3/uinteger.h"

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtUlGrantGuardScheduler");
NS_OBJECT_ENSURE_REGISTERED(UlGrantGuardScheduler);

/** Passes the MAC's scheduler calls to the inner scheduler; notes BSRs on the way. */
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
        m_inner->SchedDlRlcBufferReq(p);
    }

    void SchedDlPagingBufferReq(const SchedDlPagingBufferReqParameters& p) override
    {
        m_inner->SchedDlPagingBufferReq(p);
    }

    void SchedDlMacBufferReq(const SchedDlMacBufferReqParameters& p) override
    {
        m_inner->SchedDlMacBufferReq(p);
    }

    void SchedDlTriggerReq(const SchedDlTriggerReqParameters& p) override
    {
        m_inner->SchedDlTriggerReq(p);
    }

    void SchedDlRachInfoReq(const SchedDlRachInfoReqParameters& p) override
    {
        m_inner->SchedDlRachInfoReq(p);
    }

    void SchedDlCqiInfoReq(const SchedDlCqiInfoReqParameters& p) override
    {
        m_inner->SchedDlCqiInfoReq(p);
    }

    void SchedUlTriggerReq(const SchedUlTriggerReqParameters& p) override
    {
        m_inner->SchedUlTriggerReq(p);
    }

    void SchedUlNoiseInterferenceReq(const SchedUlNoiseInterferenceReqParameters& p) override
    {
        m_inner->SchedUlNoiseInterferenceReq(p);
    }

    void SchedUlSrInfoReq(const SchedUlSrInfoReqParameters& p) override
    {
        m_inner->SchedUlSrInfoReq(p);
    }

    void SchedUlMacCtrlInfoReq(const SchedUlMacCtrlInfoReqParameters& p) override
    {
        m_owner->OnUlMacCtrlInfo(p);
        m_inner->SchedUlMacCtrlInfoReq(p);
    }

    void SchedUlCqiInfoReq(const SchedUlCqiInfoReqParameters& p) override
    {
        m_inner->SchedUlCqiInfoReq(p);
    }

  private:
    UlGrantGuardScheduler* m_owner;
    FfMacSchedSapProvider* m_inner;
};

/** Receives the inner scheduler's decisions; rewrites dead UL grants, then hands them to the MAC. */
class UlGrantGuardScheduler::SchedUser : public FfMacSchedSapUser
{
  public:
    explicit SchedUser(UlGrantGuardScheduler* owner)
        : m_owner(owner)
    {
    }

    void SchedDlConfigInd(const SchedDlConfigIndParameters& p) override
    {
        m_owner->m_macUser->SchedDlConfigInd(p);
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
            .AddAttribute("MinUsefulUlTbBytes",
                          "Smallest UL transport block ns-3's UE MAC fills with RLC data (LteUeMac: "
                          "more than 7 bytes). A grant of exactly one byte less is raised to this "
                          "size at the same MCS and PRBs. 0 disables the rewrite. Unit: bytes.",
                          UintegerValue(8),
                          MakeUintegerAccessor(&UlGrantGuardScheduler::m_minUsefulUlTbBytes),
                          MakeUintegerChecker<uint32_t>(0, 64))
            .AddTraceSource("UlBsr",
                            "A buffer status report reached the scheduler: (rnti, buffer bytes).",
                            MakeTraceSourceAccessor(&UlGrantGuardScheduler::m_bsrTrace),
                            "gaidt::UlGrantGuardScheduler::BsrTracedCallback")
            .AddTraceSource("UlGrantRaised",
                            "A UL grant was raised to MinUsefulUlTbBytes: (rnti, mcs, from, to bytes).",
                            MakeTraceSourceAccessor(&UlGrantGuardScheduler::m_grantRaisedTrace),
                            "gaidt::UlGrantGuardScheduler::GrantRaisedTracedCallback");
    return tid;
}

UlGrantGuardScheduler::UlGrantGuardScheduler() = default;
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
        m_user = std::make_unique<SchedUser>(this);
        m_inner->SetFfMacSchedSapUser(m_user.get());
    }
    return m_inner;
}

void
UlGrantGuardScheduler::DoDispose()
{
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
    return GetInner()->GetFfMacCschedSapProvider();
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
UlGrantGuardScheduler::OnUlMacCtrlInfo(const FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters& params)
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

void
UlGrantGuardScheduler::OnUlConfigInd(const FfMacSchedSapUser::SchedUlConfigIndParameters& params)
{
    if (m_minUsefulUlTbBytes == 0)
    {
        m_macUser->SchedUlConfigInd(params);
        return;
    }
    FfMacSchedSapUser::SchedUlConfigIndParameters out = params;
    for (UlDciListElement_s& dci : out.m_dciList)
    {
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
    m_macUser->SchedUlConfigInd(out);
}

} // namespace gaidt
