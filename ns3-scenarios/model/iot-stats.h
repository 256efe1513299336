// iot-stats.h: per-sensor and per-gateway counters of one IoT-city run.
//
// One instance is shared by the sensor and server applications (which count),
// the result writer (which summarizes at the end) and the twin bridge (which
// publishes it every twinning round). Plain data: no ns-3 objects.
#ifndef GAIDT_IOT_STATS_H
#define GAIDT_IOT_STATS_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gaidt
{

// Random access of one sensor's wake-ups from idle/PSM (random-access.h).
struct RandomAccessStats
{
    uint64_t accesses = 0;   // random-access procedures started (reports and TAUs from idle/PSM)
    uint64_t preambles = 0;  // preamble transmissions (attempts)
    uint64_t collisions = 0; // attempts on a preamble another sensor also sent (answered or not)
    uint64_t noRar = 0;      // attempts alone on their preamble the gateway did not answer
    uint64_t failures = 0;   // procedures given up after preambleTransMax
    uint64_t connected = 0;  // procedures that ended connected
    double delaySumMs = 0;   // wake-up to connected, over the connected procedures
    double delayMinMs = 0, delayMaxMs = 0;
    uint64_t txMs = 0;        // preamble and Msg3 transmission subframes
    uint64_t reportsLost = 0; // reports dropped because their access failed
};

/** Random-access counters of one gateway cell's PRACH (random-access.h). */
struct RaCellCounters
{
    uint64_t occasions = 0;      // occasions with at least one preamble
    uint64_t preambles = 0;      // preamble transmissions (= firstPreambles + retryPreambles)
    uint64_t firstPreambles = 0; // transmissions that were an access's first attempt
    uint64_t retryPreambles = 0; // transmissions after a failed attempt
    uint64_t collided = 0;       // transmissions on a preamble another sensor also sent
    uint64_t firstCollided = 0;  // of which first attempts
    uint64_t noRar = 0;          // transmissions alone on their preamble left without a RAR
    uint64_t succeeded = 0;      // transmissions alone and answered: accesses completed
    uint64_t failed = 0;         // accesses given up after PreambleTransMax
    // textbook expectation of firstCollided: each first attempt among n contenders of its
    // occasion collides with probability 1 - (1 - 1/M)^(n - 1), M preambles
    double firstCollidedExpected = 0;
};

struct SensorStats
{
    uint32_t id = 0;
    int32_t plannedGateway = -1;  // gateway chosen by the association rule
    int32_t attachedGateway = -1; // gateway whose cell the UE connected to
    bool attached = false;
    bool inCoverage = true; // coupling loss to some gateway within the maximum coupling loss
    bool active = true;     // false while a sensor has "left" the network
    double attachTimeS = -1;
    double xM = 0, yM = 0;

    uint64_t txPackets = 0, txBytes = 0;
    uint64_t rxPackets = 0, rxBytes = 0; // delivered at the city server
    uint64_t rxBytesInWindow = 0;        // of which delivered by the end of the traffic window
    uint64_t onTimePackets = 0, latePackets = 0;
    uint64_t bufferDrops = 0;       // RLC transmit-buffer overflow at the UE
    double latencySumMs = 0;        // from each report's due time (deferral included)
    double networkLatencySumMs = 0; // from each report's send time (network only)
    double lastLatencyMs = 0;
    std::vector<float> latenciesMs; // per delivered packet, for percentiles

    // TIC: request/response round trips measured at the sensor
    uint64_t responses = 0;
    uint64_t onTimeResponses = 0;
    double rttSumMs = 0;

    double rsrpDbm = -200; // latest DL RSRP of the serving cell
    double sinrDb = -100;  // latest DL SINR of the serving cell

    // Uplink evidence (uplink-monitor.h), counted from the attachment on.
    uint64_t ulGrants = 0;         // UL DCIs (new transmissions and HARQ retransmissions)
    uint64_t ulGrantBytes = 0;     // sum of their transport block sizes
    uint64_t ulGrantsUnusable = 0; // grants of <= 7 bytes: ns-3's UE MAC puts no data in them
    uint64_t ulGrantsRaised = 0;   // 7-byte grants raised to 8 bytes (ul-grant-guard-scheduler.h)
    int32_t ulMcsMin = -1, ulMcsMax = -1;
    uint64_t ulBsrs = 0;              // buffer status reports received by the gateway's scheduler
    uint64_t ulBsrNonEmpty = 0;       // ... of which reported data waiting
    uint64_t ulTbOk = 0, ulTbErr = 0; // PUSCH transport blocks decoded / lost at the gateway
    uint64_t ulSrsReports = 0;
    double ulSrsSinrDb = -100; // latest SRS SINR at the gateway (the UL-CQI source)
    double ulSrsSinrMinDb = 1000;

    // Static link budget to the planned gateway (uplink-monitor.h).
    double pathlossDb = 0;
    double ulSnrDb = 0; // PUSCH at the UE's maximum power over 3 PRBs, noise only
    double dlSnrDb = 0; // gateway reference signal, noise only

    // Energy (sensor-power.h), over the accounting window (after sim.warmup_s).
    double energyJ = 0;
    double batteryLifeYears = 0;
    double powerStateS[6] = {};  // awake, drx_sleep, idle_paging, idle_sleep, psm, connecting
    uint64_t txMs = 0;           // PUSCH/PUCCH transmission subframes
    uint64_t wakeups = 0;        // connection setups from idle/PSM
    uint64_t srsSent = 0;        // periodic SRS sent in the energy window
    uint64_t srsSkipped = 0;     // SRS occasions skipped asleep (sensor-power.h, GateSrs)
    uint64_t dciWhileAsleep = 0; // DCIs addressed to the sensor while it slept
    RandomAccessStats ra;        // wake-ups through random access (power.random_access)

    // current application parameters (settable through the bridge)
    double reportPeriodS = 1;
    uint32_t payloadMaxBytes = 0;
    double fillLevel = 0; // for the truck-routing service (0..1), 0 if unused
};

struct GatewayStats
{
    uint32_t id = 0;
    uint16_t cellId = 0;
    double xM = 0, yM = 0;
    double schedulingWeight = 1;
};

struct TopologyEvent
{
    std::string type; // join | leave | attach | reattach
    uint32_t sensor;
    int32_t gateway;
    double simTimeS = -1; // when it happened (-1: unknown, the bridge uses the delivery time)
};

struct IotStats
{
    std::vector<TopologyEvent> events; // drained by the twin bridge each round
    std::vector<SensorStats> sensors;
    std::vector<GatewayStats> gateways;
    // aggregate UL goodput at the server, bytes per window
    double windowS = 0.1;
    double trafficStartS = 0;
    std::vector<uint64_t> rxBytesPerWindow;
    // a sensor's radio energy so far, J (sensor-power.h; set by the scenario, read by the twin)
    std::function<double(uint32_t)> energySoFarJ;

    void RecordRx(double nowS, uint64_t bytes)
    {
        if (nowS < trafficStartS)
        {
            return;
        }
        const auto idx = static_cast<std::size_t>((nowS - trafficStartS) / windowS);
        if (idx < rxBytesPerWindow.size())
        {
            rxBytesPerWindow[idx] += bytes;
        }
    }
};

} // namespace gaidt

#endif
