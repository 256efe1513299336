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

constexpr double kGatewayHeightM = 15.0; // rooftop/pole-mounted small cells
constexpr double kSensorHeightM = 1.5;   // street-level sensors

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
std::vector<Point> PlaceSensors(uint32_t n,
                                double areaM,
                                const std::string& placement,
                                std::mt19937_64& rng);

/**
 * Gateways at the centres of the sensors: k-means (Lloyd) of the sensor
 * positions with n groups, started from PlaceGateways(n, areaM), at most 50
 * iterations; a group left without sensors restarts at the sensor farthest
 * from its gateway. Deterministic.
 */
std::vector<Point> PlaceGatewaysAtSensorCentroids(uint32_t n,
                                                  double areaM,
                                                  const std::vector<Point>& sensors);

/**
 * "closest": each sensor to its nearest gateway (the strongest cell when all
 * gateways transmit the same power over the same pathloss law).
 * "load_balanced": nearest gateway with spare capacity, capacity ceil(n/g),
 * among the gateways within reachM (horizontal distance; <= 0: no limit);
 * pairs are taken in order of increasing distance (greedy assignment). A
 * sensor with no such gateway keeps its nearest one, even over capacity: it
 * is never moved out of reach.
 */
std::vector<uint32_t> Associate(const std::vector<Point>& sensors,
                                const std::vector<Point>& gateways,
                                const std::string& rule,
                                double reachM = 0);

} // namespace gaidt

#endif
