#include "helper/result-writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

namespace gaidt
{

using nlohmann::json;

namespace
{

double
Percentile(std::vector<float> v, double q)
{
    if (v.empty())
    {
        return 0;
    }
    // nearest-rank percentile
    const auto rank = static_cast<std::size_t>(std::ceil(q * v.size()));
    const std::size_t idx = std::min(v.size() - 1, rank == 0 ? 0 : rank - 1);
    std::nth_element(v.begin(), v.begin() + idx, v.end());
    return v[idx];
}

/** The energy accounting window: from the end of the attach phase to the end of the run, s. */
double
EnergyWindowS(const ScenarioConfig& cfg)
{
    return cfg.durationS + cfg.drainS;
}

/**
 * Battery life at the window's mean power: battery_wh * 3600 J / (energy_j / window_s),
 * in years of 365.25 days (TR 45.820 methodology: 5 Wh, no leakage or self-discharge).
 */
double
BatteryLifeYears(const ScenarioConfig& cfg, double energyJ)
{
    if (!(energyJ > 0))
    {
        return 0;
    }
    const double meanPowerW = energyJ / EnergyWindowS(cfg);
    return cfg.batteryWh * 3600.0 / meanPowerW / (365.25 * 86400.0);
}

double
Ratio(double num, double den, double ifEmpty)
{
    return den > 0 ? num / den : ifEmpty;
}

} // namespace

/** A cell's PRACH counters (result.schema.json random_access.cells[]). */
json
RaCellJson(const RaCellCounters& c, int64_t gateway)
{
    return {
        {"gateway", gateway},
        {"occasions", c.occasions},
        {"preambles", c.preambles},
        {"preambles_first", c.firstPreambles},
        {"preambles_retry", c.retryPreambles},
        {"collisions", c.collided},
        {"collisions_first", c.firstCollided},
        {"no_rar", c.noRar},
        {"successes", c.succeeded},
        {"failures", c.failed},
        {"first_attempt_collision_ratio", Ratio(c.firstCollided, c.firstPreambles, 0)},
        {"first_attempt_collision_ratio_expected",
         Ratio(c.firstCollidedExpected, c.firstPreambles, 0)},
    };
}

json
BuildResult(const ScenarioConfig& cfg,
            const IotStats& stats,
            const RunInfo& info,
            const LinkBudgetModel& budget)
{
    const bool tic = cfg.service == "tic";
    json sensors = json::array();
    std::vector<float> allLatencies;
    uint64_t tx = 0, rx = 0, onTime = 0, drops = 0, served = 0, attached = 0;
    uint64_t txBytes = 0, rxBytes = 0, late = 0, rxBytesWindow = 0, outOfCoverage = 0;
    uint64_t byStatus[3] = {0, 0, 0};
    double latencySum = 0, networkLatencySum = 0;
    double energySum = 0, lifeMin = std::numeric_limits<double>::infinity();
    uint64_t wakeups = 0, dciAsleep = 0, srsSent = 0, srsSkipped = 0;
    RandomAccessStats ra; // all sensors

    struct GwAcc
    {
        uint64_t sensors = 0, tx = 0, rx = 0, txBytes = 0, rxBytes = 0, drops = 0, served = 0;
        uint64_t rxBytesWindow = 0;
    };

    std::vector<GwAcc> gw(stats.gateways.size());

    for (const SensorStats& s : stats.sensors)
    {
        // Served: attached, and at least 90% of its UL packets delivered.
        const bool isServed = IsServed(s);
        const SensorStatus status = ClassifySensor(s, budget);
        byStatus[static_cast<int>(status)]++;
        const uint64_t dropped = s.txPackets > s.rxPackets ? s.txPackets - s.rxPackets : 0;
        json js = {
            {"id", s.id},
            {"x_m", s.xM},
            {"y_m", s.yM},
            {"attached", s.attached},
            {"in_coverage", s.inCoverage},
            {"attached_gateway", s.attachedGateway},
            {"planned_gateway", s.plannedGateway},
            {"attach_time_s", s.attachTimeS},
            {"tx_packets", s.txPackets},
            {"tx_bytes", s.txBytes},
            {"rx_packets", s.rxPackets},
            {"rx_bytes", s.rxBytes},
            {"rx_bytes_in_window", s.rxBytesInWindow},
            {"goodput_bps", 8.0 * s.rxBytesInWindow / cfg.durationS},
            {"latency_mean_ms", Ratio(s.latencySumMs, s.rxPackets, 0)},
            {"latency_p95_ms", Percentile(s.latenciesMs, 0.95)},
            {"network_latency_mean_ms", Ratio(s.networkLatencySumMs, s.rxPackets, 0)},
            {"late_packets", s.latePackets},
            {"dropped_packets", dropped},
            {"buffer_drops", s.bufferDrops},
            {"rsrp_dbm", s.rsrpDbm},
            {"sinr_db", s.sinrDb},
            {"served", isServed},
            {"status", StatusName(status)},
            {"status_reason", StatusReason(s, budget)},
            {"link",
             {{"pathloss_db", s.pathlossDb}, {"ul_snr_db", s.ulSnrDb}, {"dl_snr_db", s.dlSnrDb}}},
            {"uplink",
             {{"grants", s.ulGrants},
              {"grant_bytes", s.ulGrantBytes},
              {"grants_unusable", s.ulGrantsUnusable},
              {"grants_raised", s.ulGrantsRaised},
              {"mcs_min", s.ulMcsMin},
              {"mcs_max", s.ulMcsMax},
              {"bsrs", s.ulBsrs},
              {"bsrs_with_data", s.ulBsrNonEmpty},
              {"tb_ok", s.ulTbOk},
              {"tb_error", s.ulTbErr},
              {"srs_sinr_db", s.ulSrsReports ? json(s.ulSrsSinrDb) : json(nullptr)},
              {"srs_sinr_min_db", s.ulSrsReports ? json(s.ulSrsSinrMinDb) : json(nullptr)}}},
        };
        const double lifeYears = BatteryLifeYears(cfg, s.energyJ);
        js["energy_j"] = s.energyJ;
        js["battery_life_years"] = lifeYears;
        js["power"] = {{"awake_s", s.powerStateS[0]},
                       {"drx_sleep_s", s.powerStateS[1]},
                       {"idle_paging_s", s.powerStateS[2]},
                       {"idle_sleep_s", s.powerStateS[3]},
                       {"psm_s", s.powerStateS[4]},
                       {"connecting_s", s.powerStateS[5]},
                       {"tx_ms", s.txMs},
                       {"wakeups", s.wakeups},
                       {"srs_sent", s.srsSent},
                       {"srs_skipped", s.srsSkipped},
                       {"dci_while_asleep", s.dciWhileAsleep}};
        const RandomAccessStats& r = s.ra;
        js["random_access"] = {
            {"accesses", r.accesses},
            {"preambles", r.preambles},
            {"collisions", r.collisions},
            {"no_rar", r.noRar},
            {"failures", r.failures},
            {"connected", r.connected},
            {"access_delay_mean_ms", Ratio(r.delaySumMs, r.connected, 0)},
            {"access_delay_min_ms", r.delayMinMs},
            {"access_delay_max_ms", r.delayMaxMs},
            {"tx_ms", r.txMs},
            {"reports_lost", r.reportsLost},
        };
        ra.delayMinMs = r.connected && (ra.connected == 0 || r.delayMinMs < ra.delayMinMs)
                            ? r.delayMinMs
                            : ra.delayMinMs;
        ra.delayMaxMs = std::max(ra.delayMaxMs, r.delayMaxMs);
        ra.accesses += r.accesses;
        ra.preambles += r.preambles;
        ra.collisions += r.collisions;
        ra.noRar += r.noRar;
        ra.failures += r.failures;
        ra.connected += r.connected;
        ra.delaySumMs += r.delaySumMs;
        ra.txMs += r.txMs;
        ra.reportsLost += r.reportsLost;
        energySum += s.energyJ;
        wakeups += s.wakeups;
        srsSent += s.srsSent;
        srsSkipped += s.srsSkipped;
        dciAsleep += s.dciWhileAsleep;
        lifeMin = std::min(lifeMin, lifeYears);
        if (tic)
        {
            js["responses"] = s.responses;
            js["on_time_responses"] = s.onTimeResponses;
            js["rtt_mean_ms"] = Ratio(s.rttSumMs, s.responses, 0);
        }
        sensors.push_back(js);

        allLatencies.insert(allLatencies.end(), s.latenciesMs.begin(), s.latenciesMs.end());
        tx += s.txPackets;
        rx += s.rxPackets;
        txBytes += s.txBytes;
        rxBytes += s.rxBytes;
        rxBytesWindow += s.rxBytesInWindow;
        outOfCoverage += !s.inCoverage;
        late += s.latePackets;
        onTime += tic ? s.onTimeResponses : s.onTimePackets;
        drops += s.bufferDrops;
        latencySum += s.latencySumMs;
        networkLatencySum += s.networkLatencySumMs;
        served += isServed;
        attached += s.attached;
        if (s.attachedGateway >= 0 && static_cast<std::size_t>(s.attachedGateway) < gw.size())
        {
            GwAcc& g = gw[s.attachedGateway];
            g.sensors++;
            g.tx += s.txPackets;
            g.rx += s.rxPackets;
            g.txBytes += s.txBytes;
            g.rxBytes += s.rxBytes;
            g.rxBytesWindow += s.rxBytesInWindow;
            g.drops += s.bufferDrops;
            g.served += isServed;
        }
    }

    json gateways = json::array();
    for (std::size_t i = 0; i < stats.gateways.size(); ++i)
    {
        const GatewayStats& g = stats.gateways[i];
        const GwAcc& a = gw[i];
        gateways.push_back({
            {"id", g.id},
            {"cell_id", g.cellId},
            {"x_m", g.xM},
            {"y_m", g.yM},
            {"attached_sensors", a.sensors},
            {"tx_packets", a.tx},
            {"rx_packets", a.rx},
            {"offered_bps", 8.0 * a.txBytes / cfg.durationS},
            {"goodput_bps", 8.0 * a.rxBytesWindow / cfg.durationS},
            {"buffer_drops", a.drops},
            {"served_ratio", Ratio(a.served, a.sensors, 0)},
            {"delivery_ratio", Ratio(a.rx, a.tx, 1)},
        });
    }

    json bps = json::array();
    for (uint64_t b : stats.rxBytesPerWindow)
    {
        bps.push_back(8.0 * b / stats.windowS);
    }

    const std::size_t n = stats.sensors.size();
    // reports lost to a failed random access were due but never sent: they count as
    // neither delivered nor on time (always 0 without random access)
    const uint64_t due = tx + ra.reportsLost;
    json kpis = {
        // rho: share of sensors served (attached and >= 90% of UL packets delivered)
        {"rho", Ratio(served, n, 0)},
        // d: deadline success, packets (TIC: responses) on time / packets sent
        {"d", Ratio(onTime, due, 1)},
        // l: mean UL latency of delivered packets from the moment each report was due
        // (its reading time), ms: deferral before sending (access spread) counts
        {"l", Ratio(latencySum, rx, 0)},
        // the network part alone: from send to receive, ms
        {"l_network_ms", Ratio(networkLatencySum, rx, 0)},
        // alpha: RLC transmit-buffer drops / packets sent
        {"alpha", Ratio(drops, tx, 0)},
        {"l_p95_ms", Percentile(allLatencies, 0.95)},
        {"delivery_ratio", Ratio(rx, due, 1)},
        {"late_ratio", Ratio(late, tx, 0)},
        // sensors by status (sensors[].status); served + unreachable + starved = sensors_total
        {"sensors_served", byStatus[0]},
        {"sensors_unreachable", byStatus[1]},
        {"sensors_starved", byStatus[2]},
        // battery life of the mean sensor: battery / (mean energy_j / accounting window)
        {"battery_life_years", BatteryLifeYears(cfg, Ratio(energySum, n, 0))},
        // random access on wake-ups (power.random_access): preambles that failed contention
        // resolution / preambles sent, and the mean wake-up-to-connected delay
        {"ra_collision_ratio", Ratio(ra.collisions, ra.preambles, 0)},
        {"ra_access_delay_mean_ms", Ratio(ra.delaySumMs, ra.connected, 0)},
        {"ra_reports_lost", ra.reportsLost},
    };
    // none: the power mode never leaves the connection (always_on, drx)
    const bool wakes = cfg.powerMode == "edrx" || cfg.powerMode == "psm";
    json raSummary = {
        {"model", wakes ? cfg.raModel : std::string("none")},
        {"prach_period_ms", cfg.raPrachPeriodMs},
        {"preambles_per_occasion", cfg.raPreambles},
        {"preamble_trans_max", cfg.raPreambleTransMax},
        {"backoff_ms", cfg.raBackoffMs},
        {"accesses", ra.accesses},
        {"preambles", ra.preambles},
        {"collisions", ra.collisions},
        {"no_rar", ra.noRar},
        {"failures", ra.failures},
        {"connected", ra.connected},
        {"collision_ratio", Ratio(ra.collisions, ra.preambles, 0)},
        {"preambles_per_access", Ratio(ra.preambles, ra.accesses, 0)},
        {"access_delay_mean_ms", Ratio(ra.delaySumMs, ra.connected, 0)},
        {"access_delay_min_ms", ra.delayMinMs},
        {"access_delay_max_ms", ra.delayMaxMs},
        {"reports_lost", ra.reportsLost},
    };
    {
        RaCellCounters sum;
        json cells = json::array();
        for (std::size_t g = 0; g < info.raCells.size(); ++g)
        {
            const RaCellCounters& c = info.raCells[g];
            cells.push_back(RaCellJson(c, g));
            sum.occasions += c.occasions;
            sum.preambles += c.preambles;
            sum.firstPreambles += c.firstPreambles;
            sum.retryPreambles += c.retryPreambles;
            sum.collided += c.collided;
            sum.firstCollided += c.firstCollided;
            sum.noRar += c.noRar;
            sum.succeeded += c.succeeded;
            sum.failed += c.failed;
            sum.firstCollidedExpected += c.firstCollidedExpected;
        }
        raSummary["prach"] = RaCellJson(sum, -1);
        raSummary["prach"].erase("gateway");
        raSummary["cells"] = cells;
        kpis["ra_first_attempt_collision_ratio"] = Ratio(sum.firstCollided, sum.firstPreambles, 0);
    }

    json phases = json::array();
    for (const RunPhase& ph : info.phases)
    {
        phases.push_back({{"name", ph.name},
                          {"start_s", ph.startS},
                          {"end_s", ph.endS},
                          {"wall_s", ph.wallS},
                          {"events", ph.events}});
    }
    return {
        {"format", "gaidt-result/1"},
        {"name", cfg.name},
        {"seed", cfg.seed},
        {"radio", cfg.radio},
        {"service", cfg.service},
        {"sensors_total", n},
        {"sensors_attached", attached},
        {"sensors_out_of_coverage", outOfCoverage},
        {"gateways_total", stats.gateways.size()},
        {"duration_s", cfg.durationS},
        {"totals",
         {{"tx_packets", tx},
          {"rx_packets", rx},
          {"tx_bytes", txBytes},
          {"rx_bytes", rxBytes},
          {"rx_bytes_in_window", rxBytesWindow},
          {"rx_bytes_in_drain", rxBytes - rxBytesWindow},
          {"offered_bps", 8.0 * txBytes / cfg.durationS},
          {"goodput_bps", 8.0 * rxBytesWindow / cfg.durationS},
          {"late_packets", late},
          {"buffer_drops", drops}}},
        {"throughput_series",
         {{"window_s", stats.windowS}, {"start_s", stats.trafficStartS}, {"bps", bps}}},
        {"kpis", kpis},
        {"link_budget",
         {{"ul_threshold_db", budget.ulThresholdDb},
          {"dl_threshold_db", budget.dlThresholdDb},
          {"ue_max_power_dbm", budget.uePcmaxDbm},
          {"gateway_power_dbm", budget.enbTxPowerDbm},
          {"ue_noise_figure_db", budget.ueNoiseFigureDb},
          {"gateway_noise_figure_db", budget.enbNoiseFigureDb},
          {"max_pathloss_db", budget.maxPathlossDb},
          // the maximum coupling loss: no CE repetitions in ns-3, so the no-repetition budget
          {"mcl_db", budget.maxPathlossDb},
          {"coverage_model", "no CE repetitions: beyond mcl_db a sensor never attaches"},
          {"reach_m", budget.reachM}}},
        {"sensors", sensors},
        {"gateways", gateways},
        {"power",
         {{"mode", cfg.powerMode},
          {"window_s", EnergyWindowS(cfg)},
          {"battery_wh", cfg.batteryWh},
          {"energy_mean_j", Ratio(energySum, n, 0)},
          {"battery_life_min_years", n ? lifeMin : 0.0},
          {"wakeups", wakeups},
          {"srs_sent", srsSent},
          {"srs_skipped", srsSkipped},
          {"dci_while_asleep", dciAsleep}}},
        {"random_access", raSummary},
        {"run",
         {{"wall_s", info.wallS},
          {"setup_wall_s", info.setupWallS},
          {"events", info.events},
          {"simulated_s", info.simulatedS},
          {"ns3_version", info.ns3Version},
          {"phases", phases},
          {"dl_channel",
           {{"type", info.spectrumChannel}, {"scoped_transmissions", info.scopedTransmissions}}},
          {"ul_channel",
           {{"type", info.spectrumChannel}, {"scoped_transmissions", info.ulScopedTransmissions}}},
          {"ue_clock",
           {{"gated", info.ueClockGate},
            {"gated_subframes", info.ueGatedSubframes},
            {"parks", info.ueClockParks}}},
          {"pf_idle_tti",
           {{"on", info.pfIdleTti},
            {"dl_triggers", info.pfDlTriggers},
            {"dl_idle", info.pfDlIdle},
            {"ul_triggers", info.pfUlTriggers},
            {"ul_idle", info.pfUlIdle},
            {"flushes", info.pfFlushes}}},
          {"catm1",
           {{"on", info.catM1},
            {"max_cqi", info.catM1MaxCqi},
            {"max_ul_sinr_db", info.catM1MaxUlSinrDb},
            {"pucch_rbs", cfg.pucchRbs},
            {"pucch_enforced", info.catM1PucchEnforced},
            {"half_duplex_enforced", info.catM1HalfDuplexEnforced},
            {"ul_new_grants", info.catM1UlNewGrants},
            {"ul_mcs_raised", info.catM1UlMcsRaised},
            {"ul_mcs_capped", info.catM1UlMcsCapped},
            {"ul_tb_capped", info.catM1UlTbCapped},
            {"dl_tbs", info.catM1DlTbs},
            {"dl_tb_capped", info.catM1DlTbCapped},
            {"ul_sinr_capped", info.catM1UlSinrCapped},
            {"dl_cqi_capped", info.catM1DlCqiCapped},
            {"hd_deferrals", info.catM1HdDeferrals},
            {"bsr_restored_bytes", info.catM1BsrRestoredBytes}}}}},
    };
}

bool
WriteResultFile(const nlohmann::json& result, const std::string& path)
{
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp);
        out << result.dump(1) << "\n";
        if (!out)
        {
            return false;
        }
    }
    return std::rename(tmp.c_str(), path.c_str()) == 0;
}

} // namespace gaidt
