// scenario-config.h: the scenario config, as read from a resolved JSON file.
//
// The JSON Schema (scenario.schema.json) is the single source of truth for
// fields, ranges and defaults. experiments/run.py validates a user's config
// against it and writes the *resolved* config (every default filled in) that
// this program reads; this reader therefore requires every field and only
// re-checks what the schema cannot express (cross-field rules).
#ifndef GAIDT_SCENARIO_CONFIG_H
#define GAIDT_SCENARIO_CONFIG_H

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gaidt
{

/** A config error a user can act on: field, value and what is allowed. */
class ConfigError : public std::runtime_error
{
  public:
    using std::runtime_error::runtime_error;
};

struct ScenarioConfig
{
    std::string name;
    uint32_t seed = 1;
    double durationS = 0; // traffic duration (simulated seconds)
    double warmupS = 0;   // attach phase before traffic
    double drainS = 0;    // after traffic, lets in-flight packets arrive

    // radio
    std::string radio; // lte-m | lte | nr
    uint32_t resourceBlocks = 6;
    bool catM1 = false;         // Cat-M1 limits (catm1-limits.h)
    uint32_t pucchRbs = 0;      // with catM1 and PF: RBs reserved for PUCCH
    bool halfDuplexFdd = false; // with catM1 and PF: HD-FDD type B uplink
    double ueTxPowerDbm = 20;
    double enbTxPowerDbm = 30;
    double pathlossExponent = 3.5;
    double referenceLossDb = 39;
    uint32_t dlEarfcn = 100;
    uint32_t ulEarfcn = 18100;

    // topology
    uint32_t sensors = 0;
    uint32_t gateways = 0;
    double areaM = 0;
    std::string placement;                                    // uniform | grid | clustered
    std::string gatewayPlacement = "grid";                    // grid | sensor_centroids
    std::vector<std::pair<double, double>> sensorPositionsM;  // explicit (x, y); empty: placement
    std::vector<std::pair<double, double>> gatewayPositionsM; // explicit (x, y); empty: placement

    // traffic
    std::string service; // mmtc | tic | self_similar
    double ulActivity = 0;
    uint32_t payloadMinBytes = 0;
    uint32_t payloadMaxBytes = 0;
    double reportPeriodS = 1;
    double eventRateHz = 0;
    double accessSpreadS = 0;
    bool synchronizedPeriods = true;
    double onMeanS = 1;
    double paretoShape = 1.5;

    // network
    uint32_t bufferBytes = 0;
    double deadlineMs = 0;
    std::string scheduler;
    std::string association; // closest | load_balanced

    // twin (used by the bridge)
    double twinningRate = 1;
    double periodS = 0.1;

    // simulation fidelity/speed knobs (documented in README.md)
    double maxLossDb = 0; // 0: no cut-off
    uint32_t srsPeriodicity = 320;
    uint32_t rsrpSinrSamplePeriodMs = 100;
    bool rlfDetection = true;
    std::string eventScheduler = "map";
    bool ctrlErrorModel = true;
    std::string dlCtrlInterference = "aggregate"; // per_cell | aggregate_keep_pss | aggregate
    std::string spectrumChannel = "cell_scoped";  // multi_model | cell_scoped
    uint32_t cqiPeriodMs = 1;
    double throughputWindowS = 0.1;
    std::string srsPlan = "ns3";  // per_gateway | ns3
    bool ulGrantGuard = false;    // UlGrantGuardScheduler raises 7-byte UL grants
    bool srsPowerScaling = false; // UlGrantGuardScheduler scales SRS UL-CQI to the granted PRBs
    std::string ulCqi = "srs";    // srs | pusch (FfMacScheduler::UlCqiFilter)
    std::string uePcmax = "ns3";  // radio | ns3 (LteUePowerControl::Pcmax)
    bool ueClockGate = false;     // UeClockGate on sleeping sensors (power saving modes)
    bool pfIdleTti = false;       // PfIdleTti: PF's idle TTIs without its search, batched

    // power saving and energy (section `power`, sensor-power.h)
    std::string powerMode = "always_on"; // always_on | drx | edrx | psm
    uint32_t drxCycleMs = 1280;
    uint32_t onDurationMs = 10;
    uint32_t inactivityTimerMs = 200;
    double rrcReleaseS = 10;
    double edrxCycleS = 20.48;
    double pagingWindowMs = 10;
    double t3324S = 10;
    double t3412S = 86400;
    double connectionSetupMs = 100;
    double rxPowerMw = 80;
    double lightSleepPowerMw = 3;
    double deepSleepPowerMw = 0.015;
    double txPaEfficiency = 0.45;
    double txCircuitPowerMw = 56.6;
    double batteryWh = 5;
    // random access on wake-ups from idle/PSM (power.random_access, random-access.h)
    std::string raModel = "contention"; // contention | fixed
    uint32_t raPrachPeriodMs = 5;
    uint32_t raPreambles = 52;
    uint32_t raPreambleTransMax = 10;
    uint32_t raResponseWindowMs = 5;
    uint32_t raRarGrantsPerSubframe = 3;
    uint32_t raContentionResolutionTimerMs = 48;
    uint32_t raMsg4DelayMs = 5;
    uint32_t raBackoffMs = 20;
};

/** Load and check a resolved config. Throws ConfigError. */
ScenarioConfig LoadScenarioConfig(const std::string& path);

} // namespace gaidt

#endif
