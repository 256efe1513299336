// result-writer.h: turns the counters of a finished run into result.json.
// The format is documented in result.schema.json next to the config schema.
#ifndef GAIDT_RESULT_WRITER_H
#define GAIDT_RESULT_WRITER_H

#include "helper/scenario-config.h"
#include "model/iot-stats.h"
#include "model/sensor-status.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gaidt
{

/** Wall time and events of one phase of the run (attach, traffic, drain). */
struct RunPhase
{
    std::string name;
    double startS = 0; // simulated
    double endS = 0;
    double wallS = 0;
    double setupWallS = 0; // building the scenario, before Simulator::Run
    uint64_t events = 0;
};

struct RunInfo
{
    double wallS = 0;
    double setupWallS = 0; // building the scenario, before Simulator::Run
    uint64_t events = 0;
    double simulatedS = 0;
    std::string ns3Version;
    std::vector<RunPhase> phases;
    std::string spectrumChannel;        // sim.spectrum_channel
    uint64_t scopedTransmissions = 0;   // DL transmissions delivered to a selected receiver subset
    uint64_t ulScopedTransmissions = 0; // UL control-only frames delivered to their gateway only
    bool ueClockGate = false;           // sim.ue_clock_gate took effect (a power saving mode)
    uint64_t ueGatedSubframes = 0;      // UE subframes the UeClockGate ran instead of ns-3
    uint64_t ueClockParks = 0;          // times a UE PHY clock was parked
    bool pfIdleTti = false;             // sim.pf_idle_tti took effect (PF scheduler)
    uint64_t pfDlTriggers = 0;          // PF DL triggers seen by PfIdleTti
    uint64_t pfDlIdle = 0;              // of which idle, done without PF
    uint64_t pfUlTriggers = 0;          // the same for the UL trigger
    uint64_t pfUlIdle = 0;
    uint64_t pfFlushes = 0; // times pending bookkeeping was applied
    // Cat-M1 limits (catm1-limits.h), summed over the cells
    bool catM1 = false;
    uint32_t catM1MaxCqi = 0;
    double catM1MaxUlSinrDb = 0;
    bool catM1PucchEnforced = false;
    bool catM1HalfDuplexEnforced = false;
    uint64_t catM1UlNewGrants = 0, catM1UlMcsRaised = 0, catM1UlMcsCapped = 0, catM1UlTbCapped = 0;
    uint64_t catM1DlTbs = 0, catM1DlTbCapped = 0, catM1UlSinrCapped = 0, catM1DlCqiCapped = 0;
    uint64_t catM1HdDeferrals = 0, catM1BsrRestoredBytes = 0;
    std::vector<RaCellCounters> raCells; // per gateway, in gateway order (empty: no random access)
};

nlohmann::json BuildResult(const ScenarioConfig& cfg,
                           const IotStats& stats,
                           const RunInfo& info,
                           const LinkBudgetModel& budget);

/**
 * Write result.json whole: to path + ".tmp", then renamed to path, so a reader never sees half a
 * file. Returns false (and leaves path as it was) when the file cannot be written.
 */
bool WriteResultFile(const nlohmann::json& result, const std::string& path);

} // namespace gaidt

#endif
