// srs-plan.h: which SRS subframes each gateway's sensors use.
//
// ns-3 3.44's LteEnbRrc hands out SRS configuration indices in the same order
// in every cell (the k-th UE of every cell gets the same SRS subframe), and
// LteSpectrumPhy adds every other cell's SRS in that subframe to the SRS
// interference (a full-power, full-band collision; real cells use different
// SRS sequences and cell-specific SRS subframes). The eNB turns that SRS SINR
// into its UL-CQI, so a sensor whose SRS twin in a neighbour cell stands near
// this gateway is scheduled at MCS 0 or not at all, for the whole run (the
// geometry is static). This plan gives each gateway its own block of SRS
// subframes; when the blocks cannot all be disjoint (more sensors than the
// SRS period), gateways that share a block are chosen far apart. iot-city.cc
// gives each connected sensor its planned index through the eNB RRC's public
// UeManager::SetSrsConfigurationIndex (an RRC Connection Reconfiguration).
#ifndef GAIDT_SRS_PLAN_H
#define GAIDT_SRS_PLAN_H

#include "model/topology.h"

#include <cstdint>
#include <vector>

namespace gaidt
{

/**
 * First SRS subframe offset (0 .. periodMs-1) of each gateway.
 * \param gateways gateway positions
 * \param loads sensors planned per gateway (the association)
 * \param periodMs SRS periodicity (ns3::LteEnbRrc::SrsPeriodicity)
 * \param pathlossExponent used to weigh how strongly two gateways' sensors interfere
 * If the gateways' loads fit in the period, the blocks are disjoint, one after the other,
 * spare slots spread between them; otherwise floor(periodMs / max load)
 * blocks are shared, each gateway joining the block with the least
 * interference coupling sum(distance^-exponent) to the gateways already in it.
 */
std::vector<uint32_t> PlanSrsOffsets(const std::vector<Point>& gateways,
                                     const std::vector<uint32_t>& loads,
                                     uint32_t periodMs,
                                     double pathlossExponent);

/** Lowest 3GPP SRS configuration index (TS 36.213 Table 8.2-1) for a periodicity. */
uint32_t SrsConfigIndexLow(uint32_t periodMs);

} // namespace gaidt

#endif
