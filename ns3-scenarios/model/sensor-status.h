// sensor-status.h: why a sensor is served, unreachable or starved.
//
// Pure functions over the counters of a run (no ns-3): the result writer and
// the twin bridge classify every sensor with them (result.schema.json,
// sensors[].status; ns3-scenarios/README.md, "Sensor status").
#ifndef GAIDT_SENSOR_STATUS_H
#define GAIDT_SENSOR_STATUS_H

#include "model/iot-stats.h"

#include <cstdint>
#include <string>

namespace gaidt
{

/** UL transport blocks of this size or less carry no data in ns-3's UE MAC. */
constexpr uint16_t kUeMacMaxUselessTbBytes = 7;

/**
 * Lowest SINR at which ns-3's AMC assigns any MCS (CQI 1): spectral
 * efficiency 0.1523 b/s/Hz with LteAmc's SNR gap -ln(5 BER)/1.5, BER 5e-5
 * (lte-amc.cc). Below it a UL grant is never issued and DL data never
 * scheduled. Unit: dB (about -2.1).
 */
double LowestMcsSinrDb();

/**
 * SINR at which ns-3's PDCCH/PCFICH error model loses 10% of the control
 * blocks (LteMiErrorModel's BLER curve from 3GPP R4-081920: 0.109 at -5.0 dB,
 * 0.092 at -4.8 dB; linear between). Below it a sensor misses its UL grants.
 * Unit: dB (about -4.9).
 */
double PdcchTenPercentBlerSinrDb();

/**
 * When a sensor counts as out of reach of a gateway (documented in
 * ns3-scenarios/README.md, "Sensor status"). Noise-only SNR per 180 kHz RB,
 * thermal noise -174 dBm/Hz plus the receiver's ns-3 noise figure:
 *   UL: the sensor's maximum power (Pcmax) over 3 PRBs, the smallest
 *       allocation of ns-3's UL schedulers;
 *   DL: the gateway's power spread over its DL RBs (the reference signal).
 * Unreachable: UL SNR < ulThresholdDb = LowestMcsSinrDb() (no UL grant is
 * possible), or DL SNR < dlThresholdDb: PdcchTenPercentBlerSinrDb() when the
 * sensor only needs DL control (mmtc, self_similar: UL grants), and
 * LowestMcsSinrDb() when it needs DL data too (tic responses).
 */
struct LinkBudgetModel
{
    double ulThresholdDb = 0;
    double dlThresholdDb = 0;
    double uePcmaxDbm = 0;
    double enbTxPowerDbm = 0;
    uint32_t resourceBlocks = 0;
    double enbNoiseFigureDb = 0;
    double ueNoiseFigureDb = 0;
    double maxPathlossDb = 0; // min over UL and DL of the largest pathloss that meets the threshold
    double reachM = 0;        // horizontal distance at which the pathloss law reaches maxPathlossDb

    double UlSnrDb(double pathlossDb) const;
    double DlSnrDb(double pathlossDb) const;
};

enum class SensorStatus : uint8_t
{
    Served = 0, // attached and >= 90% of its UL packets delivered (the rho criterion)
    Unreachable =
        1,       // not served, and its UL or DL link budget is below its LinkBudgetModel threshold
    Starved = 2, // not served although its link budget is met
};

/** The rho criterion: attached and at least 90% of the UL packets sent delivered. */
bool IsServed(const SensorStats& s);

SensorStatus ClassifySensor(const SensorStats& s, const LinkBudgetModel& budget);

const char* StatusName(SensorStatus status);

/** One line of evidence for a non-served sensor (empty for a served one). */
std::string StatusReason(const SensorStats& s, const LinkBudgetModel& budget);

} // namespace gaidt

#endif
