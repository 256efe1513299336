// lte-private-access.h: reach private members of ns-3 3.44's LTE classes, where ns-3 offers
// neither an attribute nor a public accessor, without patching the wheel's ns-3.
//
// An attribute comes first (the CQI period is set through ns3::LteUePhy::DownlinkCqiPeriodicity,
// no private access), a subclass second; only what neither reaches is read here, through the
// standard-conforming explicit-instantiation access rule ([temp.spec.general]: access checking is
// not done on names in explicit instantiations).
//
// Every member reached, by this header and by the files that use GAIDT_PRIVATE_MEMBER
// (model/catm1-limits.cc, model/fast/pf-idle-tti.cc, model/fast/ue-clock-gate.cc,
// test/pf-idle-tti-check.cc), is listed with what it is for in doc/ns3-upgrade-checklist.md,
// with the ns-3 version it was checked against; tests/test_ns3_upgrade_checklist.py fails when a
// tag is missing from that list. An ns-3 upgrade re-reads every row.
//
// This header itself reaches two members:
// - UeManager::SetSrsConfigurationIndex (public) reconfigures a UE's SRS index but leaves the
//   RRC's set of used indices (LteEnbRrc::m_ueSrsConfigurationIndexSet) as it was, so the RRC
//   would later hand the new index to another UE of the cell (two SRS of one cell in one subframe
//   abort ns-3). MoveSrsConfigIndex keeps that set true.
// - LteUeMac keeps the last buffer status each RLC reported (m_ulBsrReceived) but exposes no
//   getter; UeHasUlData reads it (sensor-power.h: a UE with UL data waiting stays in DRX active
//   time, as 3GPP's pending scheduling request).
#ifndef GAIDT_LTE_PRIVATE_ACCESS_H
#define GAIDT_LTE_PRIVATE_ACCESS_H

#include "ns3/lte-enb-rrc.h"
#include "ns3/lte-mac-sap.h"
#include "ns3/lte-ue-mac.h"

#include <map>
#include <set>

namespace gaidt
{
namespace detail
{

template <typename Tag, typename Tag::type M>
struct Expose
{
    friend typename Tag::type Member(Tag)
    {
        return M;
    }
};

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
