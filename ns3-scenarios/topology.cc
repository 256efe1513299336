#include "topology.h"

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
    const auto rows = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(std::sqrt(static_cast<double>(n)))));
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
            pts.push_back({std::clamp(c.xM + g(rng), 0.0, areaM), std::clamp(c.yM + g(rng), 0.0, areaM)});
        }
        return pts;
    }
    for (uint32_t i = 0; i < n; ++i)
    {
        pts.push_back({u(rng), u(rng)});
    }
    return pts;
}

std::vector<uint32_t>
Associate(const std::vector<Point>& sensors, const std::vector<Point>& gateways, const std::string& rule)
{
    std::vector<uint32_t> out(sensors.size(), 0);
    if (rule != "load_balanced")
    {
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
        return out;
    }
    const std::size_t cap = (sensors.size() + gateways.size() - 1) / gateways.size();
    std::vector<std::tuple<double, uint32_t, uint32_t>> pairs;
    pairs.reserve(sensors.size() * gateways.size());
    for (uint32_t i = 0; i < sensors.size(); ++i)
    {
        for (uint32_t g = 0; g < gateways.size(); ++g)
        {
            pairs.emplace_back(Dist2(sensors[i], gateways[g]), i, g);
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
