#include "model/topology.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace gaidt
{

namespace
{

std::vector<Point>
Grid(uint32_t n, double areaM)
{
    const auto cols = static_cast<uint32_t>(std::ceil(std::sqrt(static_cast<double>(n))));
    const auto rows = static_cast<uint32_t>(std::ceil(static_cast<double>(n) / cols));
    std::vector<Point> pts;
    pts.reserve(n);
    for (uint32_t i = 0; i < n; ++i)
    {
        const uint32_t r = i / cols;
        const uint32_t c = i % cols;
        pts.push_back({(c + 0.5) * areaM / cols, (r + 0.5) * areaM / rows});
    }
    return pts;
}

double
Dist2(const Point& a, const Point& b)
{
    const double dx = a.xM - b.xM;
    const double dy = a.yM - b.yM;
    return dx * dx + dy * dy;
}

} // namespace

std::vector<Point>
PlaceGateways(uint32_t n, double areaM)
{
    // Rows of near-equal length that together cover the square: with n not a
    // perfect square, a plain grid would leave an empty cell (a coverage hole).
    const auto rows =
        std::max<uint32_t>(1,
                           static_cast<uint32_t>(std::lround(std::sqrt(static_cast<double>(n)))));
    std::vector<Point> pts;
    pts.reserve(n);
    for (uint32_t r = 0; r < rows; ++r)
    {
        const uint32_t inRow = n / rows + (r < n % rows ? 1 : 0);
        for (uint32_t c = 0; c < inRow; ++c)
        {
            pts.push_back({(c + 0.5) * areaM / inRow, (r + 0.5) * areaM / rows});
        }
    }
    return pts;
}

std::vector<Point>
PlaceSensors(uint32_t n, double areaM, const std::string& placement, std::mt19937_64& rng)
{
    if (placement == "grid")
    {
        return Grid(n, areaM);
    }
    std::uniform_real_distribution<double> u(0, areaM);
    std::vector<Point> pts;
    pts.reserve(n);
    if (placement == "clustered")
    {
        const uint32_t k = std::max<uint32_t>(1, n / 25);
        std::vector<Point> centres;
        for (uint32_t i = 0; i < k; ++i)
        {
            centres.push_back({u(rng), u(rng)});
        }
        std::normal_distribution<double> g(0, areaM / 12);
        std::uniform_int_distribution<uint32_t> pick(0, k - 1);
        for (uint32_t i = 0; i < n; ++i)
        {
            const Point& c = centres[pick(rng)];
            pts.push_back(
                {std::clamp(c.xM + g(rng), 0.0, areaM), std::clamp(c.yM + g(rng), 0.0, areaM)});
        }
        return pts;
    }
    for (uint32_t i = 0; i < n; ++i)
    {
        pts.push_back({u(rng), u(rng)});
    }
    return pts;
}

std::vector<Point>
PlaceGatewaysAtSensorCentroids(uint32_t n, double areaM, const std::vector<Point>& sensors)
{
    std::vector<Point> centres = PlaceGateways(n, areaM);
    if (sensors.empty())
    {
        return centres;
    }
    std::vector<uint32_t> owner(sensors.size(), UINT32_MAX);
    for (int iter = 0; iter < 50; ++iter)
    {
        bool changed = false;
        for (std::size_t i = 0; i < sensors.size(); ++i)
        {
            uint32_t best = 0;
            double bestD = INFINITY;
            for (uint32_t g = 0; g < centres.size(); ++g)
            {
                const double d = Dist2(sensors[i], centres[g]);
                if (d < bestD)
                {
                    bestD = d;
                    best = g;
                }
            }
            changed |= owner[i] != best;
            owner[i] = best;
        }
        if (!changed)
        {
            break;
        }
        std::vector<Point> sum(centres.size());
        std::vector<uint32_t> count(centres.size(), 0);
        for (std::size_t i = 0; i < sensors.size(); ++i)
        {
            sum[owner[i]].xM += sensors[i].xM;
            sum[owner[i]].yM += sensors[i].yM;
            count[owner[i]]++;
        }
        for (uint32_t g = 0; g < centres.size(); ++g)
        {
            if (count[g] > 0)
            {
                centres[g] = {sum[g].xM / count[g], sum[g].yM / count[g]};
            }
        }
        // A gateway left without sensors (a grid site away from every cluster) moves to
        // the sensor farthest from its current gateway: no planner leaves a cell empty.
        for (uint32_t g = 0; g < centres.size(); ++g)
        {
            if (count[g] > 0)
            {
                continue;
            }
            std::size_t far = 0;
            double farD = -1;
            for (std::size_t i = 0; i < sensors.size(); ++i)
            {
                const double d = Dist2(sensors[i], centres[owner[i]]);
                if (d > farD)
                {
                    farD = d;
                    far = i;
                }
            }
            centres[g] = sensors[far];
            owner[far] = g;
            count[g] = 1;
        }
    }
    return centres;
}

std::vector<uint32_t>
Associate(const std::vector<Point>& sensors,
          const std::vector<Point>& gateways,
          const std::string& rule,
          double reachM)
{
    std::vector<uint32_t> out(sensors.size(), 0);
    for (std::size_t i = 0; i < sensors.size(); ++i)
    {
        double best = INFINITY;
        for (std::size_t g = 0; g < gateways.size(); ++g)
        {
            const double d = Dist2(sensors[i], gateways[g]);
            if (d < best)
            {
                best = d;
                out[i] = g;
            }
        }
    }
    if (rule != "load_balanced")
    {
        return out;
    }
    // Nearest gateway with spare capacity among those within reach; a sensor
    // that finds none keeps its nearest gateway (over capacity rather than out of reach).
    const double reach2 = reachM > 0 ? reachM * reachM : INFINITY;
    const std::size_t cap = (sensors.size() + gateways.size() - 1) / gateways.size();
    std::vector<std::tuple<double, uint32_t, uint32_t>> pairs;
    pairs.reserve(sensors.size() * gateways.size());
    for (uint32_t i = 0; i < sensors.size(); ++i)
    {
        for (uint32_t g = 0; g < gateways.size(); ++g)
        {
            const double d2 = Dist2(sensors[i], gateways[g]);
            if (d2 <= reach2)
            {
                pairs.emplace_back(d2, i, g);
            }
        }
    }
    std::sort(pairs.begin(), pairs.end());
    std::vector<bool> done(sensors.size(), false);
    std::vector<std::size_t> load(gateways.size(), 0);
    for (const auto& [d, i, g] : pairs)
    {
        if (!done[i] && load[g] < cap)
        {
            done[i] = true;
            load[g]++;
            out[i] = g;
        }
    }
    return out;
}

} // namespace gaidt
