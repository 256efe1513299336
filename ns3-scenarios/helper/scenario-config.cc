#include "helper/scenario-config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gaidt
{
namespace
{

using nlohmann::json;

/** A value for an error message: JSON text (invalid UTF-8 replaced), cut to 80 characters. */
std::string
Shown(const json& v)
{
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() <= 80 ? s : s.substr(0, 77) + "...";
}

const json&
At(const json& obj, const std::string& section, const std::string& key)
{
    const std::string field = section.empty() ? key : section + "." + key;
    const json& parent = section.empty() ? obj : obj.at(section);
    if (!parent.contains(key))
    {
        throw ConfigError("config field '" + field +
                          "' is missing (run the config through experiments/run.py, which "
                          "fills schema defaults)");
    }
    return parent.at(key);
}

template <typename T>
T
Get(const json& obj, const std::string& section, const std::string& key)
{
    const json& v = At(obj, section, key);
    try
    {
        return v.get<T>();
    }
    catch (const json::exception&)
    {
        throw ConfigError("config field '" + (section.empty() ? key : section + "." + key) +
                          "' has the wrong type: " + Shown(v));
    }
}

void
Require(bool ok, const std::string& field, const std::string& value, const std::string& allowed)
{
    if (!ok)
    {
        throw ConfigError("config field '" + field + "' = " + value + ": " + allowed);
    }
}

/** Require a whole-number field in [lo, hi]; hi = 0: no upper bound. */
void
RequireRange(uint32_t value, const std::string& field, uint32_t lo, uint32_t hi = 0)
{
    Require(value >= lo && (hi == 0 || value <= hi),
            field,
            std::to_string(value),
            hi == 0 ? "must be >= " + std::to_string(lo)
                    : "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
}

} // namespace

ScenarioConfig
LoadScenarioConfig(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
    {
        throw ConfigError("cannot open config file '" + path + "'");
    }
    json j;
    try
    {
        j = json::parse(in);
    }
    catch (const json::parse_error& e)
    {
        throw ConfigError("config file '" + path + "' is not valid JSON: " + e.what());
    }
    for (const char* section :
         {"radio_params", "topology", "traffic", "network", "twin", "sim", "power"})
    {
        if (!j.contains(section) || !j.at(section).is_object())
        {
            throw ConfigError(std::string("config section '") + section + "' is missing");
        }
    }

    ScenarioConfig c;
    c.name = j.contains("name") ? Get<std::string>(j, "", "name") : std::string("scenario");
    c.seed = Get<uint32_t>(j, "", "seed");
    c.durationS = Get<double>(j, "", "duration_s");
    c.radio = Get<std::string>(j, "", "radio");

    c.resourceBlocks = Get<uint32_t>(j, "radio_params", "resource_blocks");
    c.catM1 = Get<bool>(j, "radio_params", "catm1");
    c.pucchRbs = Get<uint32_t>(j, "radio_params", "pucch_rbs");
    c.halfDuplexFdd = Get<bool>(j, "radio_params", "half_duplex_fdd");
    c.ueTxPowerDbm = Get<double>(j, "radio_params", "ue_tx_power_dbm");
    c.enbTxPowerDbm = Get<double>(j, "radio_params", "enb_tx_power_dbm");
    c.pathlossExponent = Get<double>(j, "radio_params", "pathloss_exponent");
    c.referenceLossDb = Get<double>(j, "radio_params", "reference_loss_db");
    c.dlEarfcn = Get<uint32_t>(j, "radio_params", "dl_earfcn");
    c.ulEarfcn = Get<uint32_t>(j, "radio_params", "ul_earfcn");

    c.sensors = Get<uint32_t>(j, "topology", "sensors");
    c.gateways = Get<uint32_t>(j, "topology", "gateways");
    c.areaM = Get<double>(j, "topology", "area_m");
    c.placement = Get<std::string>(j, "topology", "placement");
    c.gatewayPlacement = Get<std::string>(j, "topology", "gateway_placement");
    for (auto [key, out] : {std::pair{"sensor_positions_m", &c.sensorPositionsM},
                            std::pair{"gateway_positions_m", &c.gatewayPositionsM}})
    {
        if (j.at("topology").contains(key))
        {
            for (const json& xy : j.at("topology").at(key))
            {
                out->emplace_back(xy.at(0).get<double>(), xy.at(1).get<double>());
            }
        }
    }

    c.service = Get<std::string>(j, "traffic", "service");
    c.ulActivity = Get<double>(j, "traffic", "ul_activity");
    const json& payload = At(j, "traffic", "payload_bytes");
    c.payloadMinBytes = Get<uint32_t>(payload, "", "min");
    c.payloadMaxBytes = Get<uint32_t>(payload, "", "max");
    c.reportPeriodS = Get<double>(j, "traffic", "report_period_s");
    c.eventRateHz = Get<double>(j, "traffic", "event_rate_hz");
    c.accessSpreadS = Get<double>(j, "traffic", "access_spread_s");
    c.synchronizedPeriods = Get<bool>(j, "traffic", "synchronized_periods");
    c.onMeanS = Get<double>(j, "traffic", "on_mean_s");
    c.paretoShape = Get<double>(j, "traffic", "pareto_shape");

    c.bufferBytes = Get<uint32_t>(j, "network", "buffer_bytes");
    c.deadlineMs = Get<double>(j, "network", "deadline_ms");
    c.scheduler = Get<std::string>(j, "network", "scheduler");
    c.association = Get<std::string>(j, "network", "association");

    c.twinningRate = Get<double>(j, "twin", "twinning_rate");
    c.periodS = Get<double>(j, "twin", "period_s");

    c.warmupS = Get<double>(j, "sim", "warmup_s");
    c.drainS = Get<double>(j, "sim", "drain_s");
    c.maxLossDb = Get<double>(j, "sim", "max_loss_db");
    c.srsPeriodicity = Get<uint32_t>(j, "sim", "srs_periodicity");
    c.rsrpSinrSamplePeriodMs = Get<uint32_t>(j, "sim", "rsrp_sinr_sample_period_ms");
    c.rlfDetection = Get<bool>(j, "sim", "rlf_detection");
    c.eventScheduler = Get<std::string>(j, "sim", "event_scheduler");
    c.ctrlErrorModel = Get<bool>(j, "sim", "ctrl_error_model");
    c.dlCtrlInterference = Get<std::string>(j, "sim", "dl_ctrl_interference");
    c.spectrumChannel = Get<std::string>(j, "sim", "spectrum_channel");
    c.cqiPeriodMs = Get<uint32_t>(j, "sim", "cqi_period_ms");
    c.throughputWindowS = Get<double>(j, "sim", "throughput_window_s");
    c.srsPlan = Get<std::string>(j, "sim", "srs_plan");
    c.ulGrantGuard = Get<bool>(j, "sim", "ul_grant_guard");
    c.srsPowerScaling = Get<bool>(j, "sim", "srs_power_scaling");
    c.ulCqi = Get<std::string>(j, "sim", "ul_cqi");
    c.uePcmax = Get<std::string>(j, "sim", "ue_pcmax");
    c.ueClockGate = Get<bool>(j, "sim", "ue_clock_gate");
    c.pfIdleTti = Get<bool>(j, "sim", "pf_idle_tti");

    c.powerMode = Get<std::string>(j, "power", "mode");
    c.drxCycleMs = Get<uint32_t>(j, "power", "drx_cycle_ms");
    c.onDurationMs = Get<uint32_t>(j, "power", "on_duration_ms");
    c.inactivityTimerMs = Get<uint32_t>(j, "power", "inactivity_timer_ms");
    c.rrcReleaseS = Get<double>(j, "power", "rrc_release_s");
    c.edrxCycleS = Get<double>(j, "power", "edrx_cycle_s");
    c.pagingWindowMs = Get<double>(j, "power", "paging_window_ms");
    c.t3324S = Get<double>(j, "power", "t3324_s");
    c.t3412S = Get<double>(j, "power", "t3412_s");
    c.connectionSetupMs = Get<double>(j, "power", "connection_setup_ms");
    c.rxPowerMw = Get<double>(j, "power", "rx_power_mw");
    c.lightSleepPowerMw = Get<double>(j, "power", "light_sleep_power_mw");
    c.deepSleepPowerMw = Get<double>(j, "power", "deep_sleep_power_mw");
    c.txPaEfficiency = Get<double>(j, "power", "tx_pa_efficiency");
    c.txCircuitPowerMw = Get<double>(j, "power", "tx_circuit_power_mw");
    c.batteryWh = Get<double>(j, "power", "battery_wh");
    {
        const json& power = j.at("power");
        if (!power.contains("random_access") || !power.at("random_access").is_object())
        {
            throw ConfigError("config section 'power.random_access' is missing (run the config "
                              "through experiments/run.py, which fills schema defaults)");
        }
        const json& ra = power.at("random_access");
        const std::string sec = "power.random_access";
        auto get = [&ra, &sec](const std::string& key) {
            if (!ra.contains(key))
            {
                throw ConfigError("config field '" + sec + "." + key + "' is missing");
            }
            return ra.at(key);
        };
        auto u32 = [&get, &sec](const std::string& key) {
            const json v = get(key);
            if (!v.is_number_unsigned())
            {
                throw ConfigError("config field '" + sec + "." + key +
                                  "' has the wrong type: " + Shown(v));
            }
            return v.get<uint32_t>();
        };
        const json model = get("model");
        if (!model.is_string())
        {
            throw ConfigError("config field '" + sec +
                              ".model' has the wrong type: " + Shown(model));
        }
        c.raModel = model.get<std::string>();
        c.raPrachPeriodMs = u32("prach_period_ms");
        c.raPreambles = u32("preambles");
        c.raPreambleTransMax = u32("preamble_trans_max");
        c.raResponseWindowMs = u32("response_window_ms");
        c.raRarGrantsPerSubframe = u32("rar_grants_per_subframe");
        c.raContentionResolutionTimerMs = u32("contention_resolution_timer_ms");
        c.raMsg4DelayMs = u32("msg4_delay_ms");
        c.raBackoffMs = u32("backoff_ms");
    }

    // Cross-field and range rules (the schema holds the per-field ranges; these
    // are repeated cheaply so that the binary is safe when run by hand).
    Require(c.sensors >= 1, "topology.sensors", std::to_string(c.sensors), "must be >= 1");
    Require(c.sensorPositionsM.empty() || c.sensorPositionsM.size() == c.sensors,
            "topology.sensor_positions_m",
            std::to_string(c.sensorPositionsM.size()) + " positions",
            "one per sensor");
    Require(c.gatewayPositionsM.empty() || c.gatewayPositionsM.size() == c.gateways,
            "topology.gateway_positions_m",
            std::to_string(c.gatewayPositionsM.size()) + " positions",
            "one per gateway");
    Require(c.gateways >= 1 && c.gateways <= c.sensors,
            "topology.gateways",
            std::to_string(c.gateways),
            "must be between 1 and topology.sensors (" + std::to_string(c.sensors) + ")");
    Require(c.durationS > 0, "duration_s", std::to_string(c.durationS), "must be > 0");
    Require(c.ulActivity > 0 && c.ulActivity <= 1,
            "traffic.ul_activity",
            std::to_string(c.ulActivity),
            "must be in (0, 1]");
    Require(c.payloadMinBytes <= c.payloadMaxBytes,
            "traffic.payload_bytes.min",
            std::to_string(c.payloadMinBytes),
            "must be <= traffic.payload_bytes.max (" + std::to_string(c.payloadMaxBytes) + ")");
    Require(c.payloadMinBytes >= 24,
            "traffic.payload_bytes.min",
            std::to_string(c.payloadMinBytes),
            "must be >= 24 (the application header)");
    Require(c.twinningRate > 0 && c.twinningRate <= 1,
            "twin.twinning_rate",
            std::to_string(c.twinningRate),
            "must be in (0, 1]");
    Require(c.periodS > 0, "twin.period_s", std::to_string(c.periodS), "must be > 0");
    Require(c.dlCtrlInterference == "per_cell" || c.dlCtrlInterference == "aggregate_keep_pss" ||
                c.dlCtrlInterference == "aggregate",
            "sim.dl_ctrl_interference",
            "\"" + c.dlCtrlInterference + "\"",
            "allowed: per_cell, aggregate_keep_pss, aggregate");
    Require(c.spectrumChannel == "multi_model" || c.spectrumChannel == "cell_scoped",
            "sim.spectrum_channel",
            "\"" + c.spectrumChannel + "\"",
            "allowed: multi_model, cell_scoped");
    Require(c.gatewayPlacement == "grid" || c.gatewayPlacement == "sensor_centroids",
            "topology.gateway_placement",
            "\"" + c.gatewayPlacement + "\"",
            "allowed: grid, sensor_centroids");
    Require(c.srsPlan == "per_gateway" || c.srsPlan == "ns3",
            "sim.srs_plan",
            "\"" + c.srsPlan + "\"",
            "allowed: per_gateway, ns3");
    Require(c.ulCqi == "srs" || c.ulCqi == "pusch",
            "sim.ul_cqi",
            "\"" + c.ulCqi + "\"",
            "allowed: srs, pusch");
    Require(c.uePcmax == "radio" || c.uePcmax == "ns3",
            "sim.ue_pcmax",
            "\"" + c.uePcmax + "\"",
            "allowed: radio, ns3");
    Require(c.powerMode == "always_on" || c.powerMode == "drx" || c.powerMode == "edrx" ||
                c.powerMode == "psm",
            "power.mode",
            "\"" + c.powerMode + "\"",
            "allowed: always_on, drx, edrx, psm");
    Require(c.onDurationMs < c.drxCycleMs,
            "power.on_duration_ms",
            std::to_string(c.onDurationMs),
            "must be < power.drx_cycle_ms (" + std::to_string(c.drxCycleMs) + ")");
    Require(c.powerMode == "always_on" || !c.rlfDetection,
            "sim.rlf_detection",
            "true",
            "power.mode \"" + c.powerMode +
                "\" needs false (a sleeping sensor hears no control channel; ns-3 would declare "
                "radio link failure)");
    Require(c.raModel == "contention" || c.raModel == "fixed",
            "power.random_access.model",
            "\"" + c.raModel + "\"",
            "allowed: contention, fixed");
    RequireRange(c.raPrachPeriodMs, "power.random_access.prach_period_ms", 1);
    RequireRange(c.raPreambles, "power.random_access.preambles", 1, 64);
    RequireRange(c.raPreambleTransMax, "power.random_access.preamble_trans_max", 1);
    RequireRange(c.raResponseWindowMs, "power.random_access.response_window_ms", 1, 10);
    RequireRange(c.raRarGrantsPerSubframe, "power.random_access.rar_grants_per_subframe", 1);
    RequireRange(c.raContentionResolutionTimerMs,
                 "power.random_access.contention_resolution_timer_ms",
                 1);
    RequireRange(c.raMsg4DelayMs, "power.random_access.msg4_delay_ms", 1);
    {
        // RAR 3 ms after the preamble, Msg3 6 ms after the RAR, Msg4 msg4_delay_ms after Msg3
        const double procedureMs = 9.0 + c.raMsg4DelayMs;
        Require(c.raModel == "fixed" || c.connectionSetupMs >= procedureMs,
                "power.connection_setup_ms",
                std::to_string(c.connectionSetupMs),
                "must be >= the random-access procedure without contention (" +
                    std::to_string(static_cast<int>(procedureMs)) +
                    " ms: 9 + power.random_access.msg4_delay_ms), or set "
                    "power.random_access.model \"fixed\"");
    }
    if (c.radio == "lte-m")
    {
        Require(c.resourceBlocks == 6,
                "radio_params.resource_blocks",
                std::to_string(c.resourceBlocks),
                "radio 'lte-m' uses 6 resource blocks (1.4 MHz)");
    }
    else if (c.radio == "lte")
    {
        Require(c.resourceBlocks >= 25,
                "radio_params.resource_blocks",
                std::to_string(c.resourceBlocks),
                "radio 'lte' needs >= 25 resource blocks");
    }
    else if (c.radio != "nr")
    {
        Require(false, "radio", "\"" + c.radio + "\"", "allowed: lte-m, lte, nr");
    }
    Require(!c.catM1 || c.radio == "lte-m",
            "radio_params.catm1",
            "true",
            "the Cat-M1 limits belong to radio 'lte-m'");
    Require(c.pucchRbs == 0 || (c.catM1 && c.scheduler == "pf"),
            "radio_params.pucch_rbs",
            std::to_string(c.pucchRbs),
            "PUCCH RBs are modelled with radio_params.catm1 and network.scheduler \"pf\" only; "
            "allowed otherwise: 0");
    return c;
}

} // namespace gaidt
