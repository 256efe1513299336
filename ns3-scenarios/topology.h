// topology.h: where sensors and gateways stand, and which gateway serves whom.
// Pure geometry, no ns-3: unit-testable and shared by every radio.
#ifndef GAIDT_TOPOLOGY_H
#define GAIDT_TOPOLOGY_H

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace gaidt
{

struct Point
{
    double xM = 0, yM = 0;
};

/** Gateways on a rows of near-equal length covering the area (planned cell sites). */
std::vector<Point> PlaceGateways(uint32_t n, double areaM);

/**
 * Sensors: "uniform" (i.i.d. in the square), "grid" (regular lattice) or
 * "clustered" (Thomas process: Gaussian clusters, sigma = area/12, around
 * max(1, n/25) random centres), clipped to the area.
 */
std::vector<Point> PlaceSensors(uint32_t n, double areaM, const std::string& placement, std::mt19937_64& rng);

/**
 * "closest": each sensor to its nearest gateway (the strongest cell when all
 * gateways transmit the same power over the same pathloss law).
 * "load_balanced": nearest gateway with spare capacity, capacity ceil(n/g);
 * pairs are taken in order of increasing distance (greedy assignment).
 */
std::vector<uint32_t> Associate(const std::vector<Point>& sensors,
                                const std::vector<Point>& gateways,
                                const std::string& rule);

} // namespace gaidt

#endif
