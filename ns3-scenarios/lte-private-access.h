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
// LteEnbRrc allocates SRS configuration indices as "largest used + 1", from
// the same first index in every cell, and has no attribute for a per-cell
// start (see srs-plan.h for why that matters). Marking the index just below
// the wanted start as used makes the RRC's own allocator start there; the
// marked index costs the cell one of its SrsPeriodicity slots.
#ifndef GAIDT_LTE_PRIVATE_ACCESS_H
#define GAIDT_LTE_PRIVATE_ACCESS_H

#include "ns3/lte-enb-rrc.h"
#include "ns3/lte-ue-phy.h"
#include "ns3/nstime.h"

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

struct SrsIndexSetTag
{
    using type = std::set<uint16_t> ns3::LteEnbRrc::*;
    friend type Member(SrsIndexSetTag);
};

template struct Expose<SrsIndexSetTag, &ns3::LteEnbRrc::m_ueSrsConfigurationIndexSet>;

} // namespace detail

/** Set a UE's wideband periodic CQI reporting period (3GPP: 2..160 ms). */
inline void
SetDownlinkCqiPeriodicity(ns3::Ptr<ns3::LteUePhy> phy, ns3::Time period)
{
    ((*phy).*Member(detail::CqiPeriodicityTag{}))(period);
}

/**
 * Make a gateway's RRC hand out SRS configuration indices from `firstIndex`
 * on (call before any UE attaches). Marks firstIndex - 1 as used unless
 * firstIndex is the period's lowest index `lowIndex`.
 */
inline void
StartSrsConfigIndicesAt(ns3::Ptr<ns3::LteEnbRrc> rrc, uint16_t lowIndex, uint16_t firstIndex)
{
    if (firstIndex > lowIndex)
    {
        ((*rrc).*Member(detail::SrsIndexSetTag{})).insert(static_cast<uint16_t>(firstIndex - 1));
    }
}

} // namespace gaidt

#endif
