/*
 * iot-city: the physical twin of GAIDT, a packet-level ns-3 LTE-M/LTE city.
 *
 *   sensor (UE) ...                                   city server
 *   sensor (UE) ~~~ radio ~~~ gateway (eNB) ==S1==+        |
 *   sensor (UE) ...                               EPC (SGW/PGW) == 10 Gb/s, 1 ms
 *   sensor (UE) ~~~ radio ~~~ gateway (eNB) ==S1==+
 *
 * Static sensors, each attached to one gateway for the whole run (no
 * handover), send UL reports to the city server; TIC requests are echoed
 * back. Driven by one resolved JSON config (scenario.schema.json), writes one
 * result JSON (result.schema.json). With --bridge-pub it publishes twin
 * snapshots over ZeroMQ and polls twin commands (gaidt_bridge/PROTOCOL.md).
 *
 * Usage: gaidt-iot-city --config=resolved.json --out=result.json
 *                       [--bridge-pub=ENDPOINT --bridge-cmd=ENDPOINT [--bridge-hold=true]]
 * The city is built by gaidt::IotCityHelper (helper/iot-city-helper.h).
 *
 * Exit codes: 0 ok, 2 config error, 3 sensors failed to attach, 4 bridge error.
 */

#include "helper/iot-city-helper.h"
#include "helper/parent-watch.h"
#include "helper/result-writer.h"
#include "helper/scenario-config.h"

#include "ns3/command-line.h"

#include <chrono>
#include <iostream>

using namespace ns3;
using namespace gaidt;

int
main(int argc, char* argv[])
{
    gaidt::DieWithParent(); // first: an orphan must not start simulating
    const auto programStart = std::chrono::steady_clock::now();
    std::string configPath;
    std::string outPath;
    IotCityBridgeOptions bridge{"", "", "run", false, false, 300};
    CommandLine cmd(__FILE__);
    cmd.AddValue("config", "resolved scenario config (JSON)", configPath);
    cmd.AddValue("out", "where to write result.json", outPath);
    cmd.AddValue("bridge-pub",
                 "ZeroMQ endpoint to bind the twin PUB socket on (empty: no bridge)",
                 bridge.pub);
    cmd.AddValue("bridge-cmd",
                 "ZeroMQ endpoint to bind the twin command (ROUTER) socket on",
                 bridge.cmd);
    cmd.AddValue("run-id", "run identifier carried in every bridge message", bridge.runId);
    cmd.AddValue("bridge-truth",
                 "also publish every node's state each round (gaidt.truth, for evaluation)",
                 bridge.truth);
    cmd.AddValue("bridge-hold",
                 "start paused (round 0) until a client sends resume on --bridge-cmd",
                 bridge.hold);
    cmd.AddValue("bridge-hold-timeout-s",
                 "wall seconds a --bridge-hold waits for resume, then starts anyway",
                 bridge.holdTimeoutS);
    // The scenario's ns-3 defaults come from the config (one source of truth: scenario.schema.json)
    // and are set after it is read; a --ns3::Class::Attribute flag would be silently overridden.
    for (int i = 1; i < argc; ++i)
    {
        const std::string a = argv[i];
        if (a.rfind("--ns3::", 0) == 0)
        {
            std::cerr << "gaidt-iot-city: " << a.substr(0, a.find('='))
                      << ": ns-3 attribute flags are not taken; set the config field instead "
                         "(ns3-scenarios/scenario.schema.json; `run.py config resolve` prints them "
                         "all)\n";
            return 2;
        }
    }
    cmd.Parse(argc, argv);
    if (configPath.empty() || outPath.empty())
    {
        std::cerr << "gaidt-iot-city: --config and --out are required\n";
        return 2;
    }
    if (bridge.hold && (bridge.pub.empty() || bridge.cmd.empty()))
    {
        std::cerr << "gaidt-iot-city: --bridge-hold = true needs --bridge-pub and --bridge-cmd (a "
                     "client resumes the run)\n";
        return 2;
    }
    if (!(bridge.holdTimeoutS > 0))
    {
        std::cerr << "gaidt-iot-city: --bridge-hold-timeout-s = " << bridge.holdTimeoutS
                  << ": allowed: > 0 s\n";
        return 2;
    }

    std::unique_ptr<IotCityHelper> city;
    try
    {
        city = std::make_unique<IotCityHelper>(LoadScenarioConfig(configPath));
        city->Build();
    }
    catch (const ConfigError& e)
    {
        std::cerr << "gaidt-iot-city: " << e.what() << "\n";
        return 2;
    }
    catch (const nlohmann::json::exception& e)
    {
        // a value of a type the loader does not check (the schema's job): still one line, exit 2
        std::cerr << "gaidt-iot-city: config file '" << configPath << "': " << e.what() << "\n";
        return 2;
    }
    if (!bridge.pub.empty())
    {
        try
        {
            city->InstallBridge(bridge);
        }
        catch (const std::exception& e)
        {
            std::cerr << "gaidt-iot-city: bridge error: " << e.what() << "\n";
            return 4;
        }
    }

    const RunInfo info = city->Run(programStart);
    std::vector<uint32_t> unattached;
    const nlohmann::json result = city->Finish(info, unattached);
    const ScenarioConfig& cfg = city->GetConfig();
    if (!unattached.empty())
    {
        std::cerr << "gaidt-iot-city: " << unattached.size() << " of " << cfg.sensors
                  << " sensors never attached (first ids:";
        for (std::size_t k = 0; k < std::min<std::size_t>(unattached.size(), 10); ++k)
        {
            std::cerr << " " << unattached[k];
        }
        std::cerr << "). Check sim.srs_periodicity (= " << cfg.srsPeriodicity
                  << "; a cell admits at most that many UEs), sim.warmup_s (= " << cfg.warmupS
                  << ") and the gateways' coverage (radio_params, topology.area_m).\n";
        return 3;
    }
    if (!WriteResultFile(result, outPath))
    {
        std::cerr << "gaidt-iot-city: cannot write " << outPath << ".tmp\n";
        return 1;
    }
    return 0;
}
