#include "model/srs-plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace gaidt
{

std::vector<uint32_t>
PlanSrsOffsets(const std::vector<Point>& gateways,
               const std::vector<uint32_t>& loads,
               uint32_t periodMs,
               double pathlossExponent)
{
    const std::size_t n = gateways.size();
    std::vector<uint32_t> offsets(n, 0);
    if (n == 0 || periodMs == 0)
    {
        return offsets;
    }
    const uint32_t maxLoad = std::max<uint32_t>(1, *std::max_element(loads.begin(), loads.end()));
    uint64_t needed = 0;
    for (uint32_t l : loads)
    {
        needed += l;
    }
    if (needed <= periodMs)
    {
        // Disjoint blocks, one after the other, the spare slots spread between them.
        const uint64_t spare = periodMs - needed;
        uint64_t start = 0;
        for (std::size_t g = 0; g < n; ++g)
        {
            offsets[g] = static_cast<uint32_t>(start + g * spare / n) % periodMs;
            start += loads[g];
        }
        return offsets;
    }
    const uint32_t blocks = std::max<uint32_t>(1, periodMs / maxLoad);
    const uint32_t blockLen = periodMs / blocks;
    std::vector<std::vector<std::size_t>> members(blocks);
    for (std::size_t g = 0; g < n; ++g)
    {
        uint32_t best = 0;
        double bestCoupling = std::numeric_limits<double>::infinity();
        for (uint32_t b = 0; b < blocks; ++b)
        {
            double coupling = 0;
            for (std::size_t h : members[b])
            {
                const double d = std::max(
                    1.0,
                    std::hypot(gateways[g].xM - gateways[h].xM, gateways[g].yM - gateways[h].yM));
                coupling += std::pow(d, -pathlossExponent);
            }
            if (coupling < bestCoupling)
            {
                bestCoupling = coupling;
                best = b;
            }
        }
        members[best].push_back(g);
        offsets[g] = best * blockLen;
    }
    return offsets;
}

uint32_t
SrsConfigIndexLow(uint32_t periodMs)
{
    switch (periodMs)
    {
    case 2:
        return 0;
    case 5:
    case 10:
    case 20:
    case 40:
    case 80:
    case 160:
    case 320:
        return periodMs - 3; // TS 36.213 Table 8.2-1: 2, 7, 17, 37, 77, 157, 317
    default:
        throw std::invalid_argument("SRS periodicity " + std::to_string(periodMs) +
                                    " ms: allowed 2, 5, 10, 20, 40, 80, 160, 320");
    }
}

} // namespace gaidt
