// lte-private-access.h: reach LteUePhy::SetDownlinkCqiPeriodicity and the
// LteEnbRrc's set of used SRS configuration indices.
//
// ns-3 3.44 models the 3GPP wideband periodic CQI period (2..160 ms,
// m_p10CqiPeriodicity) but exposes neither an attribute nor a public setter;
// the default is 1 ms, a report every TTI per UE, which IoT devices do not
// use. Rather than patch the wheel's ns-3, we call the existing member through
// the standard-conforming explicit-instantiation access rule
// ([temp.spec.general]: access checking is not done on names in explicit
// instantiations). Confined to this header.
//
// UeManager::SetSrsConfigurationIndex (public) reconfigures a UE's SRS index
// but leaves the RRC's set of used indices as it was, so the RRC would later
// hand the new index to another UE of the cell (two SRS of one cell in one
// subframe abort ns-3). MoveSrsConfigIndex keeps that set true.
//
// LteUeMac keeps the last buffer status each RLC reported (m_ulBsrReceived)
// but exposes no getter; UeHasUlData reads it (sensor-power.h: a UE with UL
// data waiting stays in DRX active time, as 3GPP's pending scheduling request).
//
// GAIDT_PRIVATE_MEMBER declares such a tag in one line; gaidt::UeClockGate
// (ue-clock-gate.cc) reads and writes the UE PHY's and MAC's per-subframe state
// with it, and gaidt::PfIdleTti (pf-idle-tti.cc) the PF scheduler's per-TTI
// state. Only these three files use the rule.
#ifndef GAIDT_LTE_PRIVATE_ACCESS_H
#define GAIDT_LTE_PRIVATE_ACCESS_H

#include "ns3/lte-enb-rrc.h"
#include "ns3/lte-mac-sap.h"
#include "ns3/lte-ue-mac.h"
#include "ns3/lte-ue-phy.h"
#include "ns3/nstime.h"

#include <map>
#include <set>

namespace gaidt
{
namespace detail
{

struct CqiPeriodicityTag
{
    using type = void (ns3::LteUePhy::*)(ns3::Time);
    friend type Member(CqiPeriodicityTag);
};

template <typename Tag, typename Tag::type M>
struct Expose
{
    friend typename Tag::type Member(Tag)
    {
        return M;
    }
};

template struct Expose<CqiPeriodicityTag, &ns3::LteUePhy::SetDownlinkCqiPeriodicity>;

/**
 * Declares a tag for a private data member: GAIDT_PRIVATE_MEMBER(Tag, Class, m_member, Type) makes
 * `obj.*Member(Tag{})` the member of `obj` (ue-clock-gate.cc uses it for the UE PHY's and MAC's
 * per-subframe state).
 */
#define GAIDT_PRIVATE_MEMBER(TagName, Class, Name, Type)                                           \
    struct TagName                                                                                 \
    {                                                                                              \
        using type = Type Class::*;                                                                \
        friend type Member(TagName);                                                               \
    };                                                                                             \
    template struct Expose<TagName, &Class::Name>

struct SrsIndexSetTag
{
    using type = std::set<uint16_t> ns3::LteEnbRrc::*;
    friend type Member(SrsIndexSetTag);
};

template struct Expose<SrsIndexSetTag, &ns3::LteEnbRrc::m_ueSrsConfigurationIndexSet>;

struct UlBsrTag
{
    using type =
        std::map<uint8_t, ns3::LteMacSapProvider::ReportBufferStatusParameters> ns3::LteUeMac::*;
    friend type Member(UlBsrTag);
};

template struct Expose<UlBsrTag, &ns3::LteUeMac::m_ulBsrReceived>;

} // namespace detail

/** Set a UE's wideband periodic CQI reporting period (3GPP: 2..160 ms). */
inline void
SetDownlinkCqiPeriodicity(ns3::Ptr<ns3::LteUePhy> phy, ns3::Time period)
{
    ((*phy).*Member(detail::CqiPeriodicityTag{}))(period);
}

/** Give a connected UE another SRS configuration index, keeping the RRC's set of used indices true.
 */
inline void
MoveSrsConfigIndex(ns3::Ptr<ns3::LteEnbRrc> rrc, ns3::Ptr<ns3::UeManager> ue, uint16_t index)
{
    std::set<uint16_t>& used = (*rrc).*Member(detail::SrsIndexSetTag{});
    used.erase(ue->GetSrsConfigurationIndex());
    used.insert(index);
    ue->SetSrsConfigurationIndex(index);
}

/** True if any of the UE's logical channels reported UL data waiting (new, retransmission or
 * status). */
inline bool
UeHasUlData(const ns3::LteUeMac& mac)
{
    const auto& bsr = mac.*Member(detail::UlBsrTag{});
    for (const auto& [lcid, p] : bsr)
    {
        if (p.txQueueSize > 0 || p.retxQueueSize > 0 || p.statusPduSize > 0)
        {
            return true;
        }
    }
    return false;
}

} // namespace gaidt

#endif
