#include "model/sensor-status.h"

#include <cmath>
#include <cstdio>

namespace gaidt
{

namespace
{

// Thermal noise per 180 kHz RB: -174 dBm/Hz + 10 log10(180e3).
const double kNoiseRbDbm = -174 + 10 * std::log10(180e3);

std::string
Fmt(const char* format, double a, double b = 0, double c = 0)
{
    char buf[200];
    std::snprintf(buf, sizeof buf, format, a, b, c);
    return buf;
}

} // namespace

double
LowestMcsSinrDb()
{
    const double gap = -std::log(5 * 0.00005) / 1.5;
    return 10 * std::log10(gap * (std::pow(2.0, 0.1523) - 1));
}

double
PdcchTenPercentBlerSinrDb()
{
    const double x0 = -5.0, y0 = 0.109119, x1 = -4.8, y1 = 0.0916184;
    return x0 + (0.1 - y0) * (x1 - x0) / (y1 - y0);
}

double
LinkBudgetModel::UlSnrDb(double pathlossDb) const
{
    return uePcmaxDbm - 10 * std::log10(3.0) - pathlossDb - (kNoiseRbDbm + enbNoiseFigureDb);
}

double
LinkBudgetModel::DlSnrDb(double pathlossDb) const
{
    return enbTxPowerDbm - 10 * std::log10(static_cast<double>(resourceBlocks)) - pathlossDb -
           (kNoiseRbDbm + ueNoiseFigureDb);
}

bool
IsServed(const SensorStats& s)
{
    return s.attached && (s.txPackets == 0 || s.rxPackets >= 0.9 * s.txPackets);
}

SensorStatus
ClassifySensor(const SensorStats& s, const LinkBudgetModel& budget)
{
    if (IsServed(s))
    {
        return SensorStatus::Served;
    }
    if (s.ulSnrDb < budget.ulThresholdDb || s.dlSnrDb < budget.dlThresholdDb)
    {
        return SensorStatus::Unreachable;
    }
    return SensorStatus::Starved;
}

const char*
StatusName(SensorStatus status)
{
    switch (status)
    {
    case SensorStatus::Served:
        return "served";
    case SensorStatus::Unreachable:
        return "unreachable";
    case SensorStatus::Starved:
        return "starved";
    }
    return "?";
}

std::string
StatusReason(const SensorStats& s, const LinkBudgetModel& budget)
{
    switch (ClassifySensor(s, budget))
    {
    case SensorStatus::Served:
        return "";
    case SensorStatus::Unreachable:
        return Fmt("link budget: UL SNR %.1f dB (needs %.1f), DL SNR %.1f dB",
                   s.ulSnrDb,
                   budget.ulThresholdDb,
                   s.dlSnrDb) +
               Fmt(" (needs %.1f)", budget.dlThresholdDb);
    case SensorStatus::Starved:
        break;
    }
    if (!s.attached)
    {
        return "never attached";
    }
    if (s.ulGrants == 0)
    {
        if (s.ulSrsReports > 0 && s.ulSrsSinrDb < budget.ulThresholdDb)
        {
            return Fmt("no UL grant: SRS SINR %.1f dB below the lowest-MCS %.1f dB",
                       s.ulSrsSinrDb,
                       budget.ulThresholdDb);
        }
        return Fmt("no UL grant (%.0f BSRs)", static_cast<double>(s.ulBsrs));
    }
    if (s.ulGrantsUnusable * 10 >= s.ulGrants * 9)
    {
        return Fmt("%.0f of %.0f UL grants <= 7 bytes (MCS %.0f): the UE MAC sends no data in them",
                   static_cast<double>(s.ulGrantsUnusable),
                   static_cast<double>(s.ulGrants),
                   static_cast<double>(s.ulMcsMin));
    }
    if (s.ulTbErr > s.ulTbOk)
    {
        return Fmt("UL transport blocks lost: %.0f of %.0f (DL SINR %.1f dB)",
                   static_cast<double>(s.ulTbErr),
                   static_cast<double>(s.ulTbErr + s.ulTbOk),
                   s.sinrDb);
    }
    if (s.bufferDrops > 0)
    {
        return Fmt("RLC buffer overflow: %.0f packets dropped", static_cast<double>(s.bufferDrops));
    }
    return Fmt("delivered %.0f of %.0f UL packets; ",
               static_cast<double>(s.rxPackets),
               static_cast<double>(s.txPackets)) +
           Fmt("UL MCS %.0f..%.0f, ", s.ulMcsMin, s.ulMcsMax) +
           Fmt("%.0f of %.0f UL TBs lost, ",
               static_cast<double>(s.ulTbErr),
               static_cast<double>(s.ulTbErr + s.ulTbOk)) +
           Fmt("SRS SINR %.1f dB, DL SINR %.1f dB", s.ulSrsSinrDb, s.sinrDb);
}

} // namespace gaidt
