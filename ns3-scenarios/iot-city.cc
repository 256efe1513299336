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
 * Exit codes: 0 ok, 2 config error, 3 sensors failed to attach, 4 bridge error.
 */

#include "cell-scoped-spectrum-channel.h"
#include "dl-ctrl-aggregator.h"
#include "iot-apps.h"
#include "iot-city-twin.h"
#include "iot-stats.h"
#include "lte-private-access.h"
#include "max-loss-filter.h"
#include "parent-watch.h"
#include "random-access.h"
#include "result-writer.h"
#include "scenario-config.h"
#include "sensor-power.h"
#include "srs-plan.h"
#include "topology.h"
#include "ue-clock-gate.h"
#include "ul-ctrl-scope.h"
#include "ul-grant-guard-scheduler.h"
#include "uplink-monitor.h"

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/lte-module.h"
#include "ns3/mobility-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/spectrum-channel.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

using namespace ns3;
using namespace gaidt;

namespace
{

constexpr uint16_t kServerPort = 9000;
// first ns-3 random stream of the random-access channels (one per gateway cell)
constexpr int64_t kRandomAccessStreamBase = 1 << 20;

struct SensorCtx
{
    uint32_t index;
    uint32_t nodeId;
    IotStats* stats;
    const std::map<uint16_t, uint32_t>* cellToGateway;
    UplinkMonitor* monitor;
    uint16_t rnti = 0; // set on connection
};

/**
 * Give a gateway's connected sensors SRS configuration indices from their
 * planned block (srs-plan.h). ns-3's own allocation cannot be steered: every
 * gateway that hears a sensor's RACH preamble, also its neighbours' sensors',
 * creates a UE context with an SRS index. The eNB RRC's public
 * UeManager::SetSrsConfigurationIndex reconfigures a sensor (RRC Connection
 * Reconfiguration), as a real eNB would; MoveSrsConfigIndex keeps the RRC's
 * own record of used indices true, so it never hands a planned index to a
 * later UE. No sensor is moved onto an index that any context of the cell
 * holds now: a sensor whose index is in the block keeps it, the others take
 * the block's free indices. So two sensors of one cell never sound in the same
 * subframe while reconfigurations are under way (ns-3 aborts on that).
 * Sensors not connected yet are retried every 20 ms.
 */
void
ApplySrsPlan(Ptr<LteEnbRrc> rrc,
             std::vector<SensorCtx*> sensors,
             std::vector<uint16_t> block,
             int retries)
{
    // the indices every context of the cell holds: its UE map (the RRC's "UeMap" attribute), not a
    // probe of all 65535 RNTIs (200 gateways x 65535 lookups per retry at city scale)
    std::set<uint16_t> held;
    ObjectMapValue ueMap;
    rrc->GetAttribute("UeMap", ueMap);
    for (auto it = ueMap.Begin(); it != ueMap.End(); ++it)
    {
        held.insert(DynamicCast<UeManager>(it->second)->GetSrsConfigurationIndex());
    }
    std::vector<Ptr<UeManager>> movers;
    std::set<uint16_t> inBlock(block.begin(), block.end());
    bool waiting = false;
    for (SensorCtx* ctx : sensors)
    {
        if (ctx->rnti == 0 || !rrc->HasUeManager(ctx->rnti) ||
            rrc->GetUeManager(ctx->rnti)->GetState() != UeManager::CONNECTED_NORMALLY)
        {
            waiting = true;
            continue;
        }
        Ptr<UeManager> ue = rrc->GetUeManager(ctx->rnti);
        if (!inBlock.count(ue->GetSrsConfigurationIndex()))
        {
            movers.push_back(ue);
        }
    }
    auto it = movers.begin();
    for (uint16_t index : block)
    {
        if (it == movers.end())
        {
            break;
        }
        if (!held.count(index))
        {
            MoveSrsConfigIndex(rrc, *it++, index);
        }
    }
    if (waiting && retries > 0)
    {
        Simulator::Schedule(MilliSeconds(20), &ApplySrsPlan, rrc, sensors, block, retries - 1);
    }
}

void
OnConnectionEstablished(SensorCtx* ctx, uint64_t /*imsi*/, uint16_t cellId, uint16_t rnti)
{
    ctx->monitor->Register(ctx->index, cellId, rnti);
    ctx->rnti = rnti;
    SensorStats& s = ctx->stats->sensors[ctx->index];
    auto it = ctx->cellToGateway->find(cellId);
    const int32_t gw = it == ctx->cellToGateway->end() ? -1 : static_cast<int32_t>(it->second);
    if (!s.attached)
    {
        s.attachTimeS = Simulator::Now().GetSeconds();
        ctx->stats->events.push_back({"attach", ctx->index, gw, Simulator::Now().GetSeconds()});
    }
    else if (s.attachedGateway != gw)
    {
        ctx->stats->events.push_back({"reattach", ctx->index, gw, Simulator::Now().GetSeconds()});
    }
    s.attached = true;
    s.attachedGateway = gw;
}

void
OnRsrpSinr(SensorCtx* ctx, uint16_t, uint16_t, double rsrpW, double sinrLinear, uint8_t)
{
    SensorStats& s = ctx->stats->sensors[ctx->index];
    s.rsrpDbm = 10 * std::log10(std::max(rsrpW, 1e-30)) + 30;
    s.sinrDb = 10 * std::log10(std::max(sinrLinear, 1e-30));
}

/** RLC TxDrop of one sensor's bearer. */
void
OnRlcTxDrop(IotStats* stats, uint32_t sensor, Ptr<const Packet>)
{
    stats->sensors[sensor].bufferDrops++;
}

void
OnDrbCreated(SensorCtx* ctx, Ptr<LteUeRrc> rrc, uint64_t, uint16_t, uint16_t, uint8_t)
{
    IotStats* stats = ctx->stats;
    const uint32_t sensor = ctx->index;
    // The DRB enters the RRC's map right after this trace fires: connect on the next event.
    // Every DRB of the sensor's RRC, as the Config path .../DataRadioBearerMap/*/LteRlc/TxDrop did;
    // reached through the RRC's attributes directly, because resolving a /NodeList/<n> path copies
    // the whole node list (O(nodes) per sensor: minutes at 10,000 sensors).
    Simulator::ScheduleNow([rrc, stats, sensor]() {
        ObjectMapValue drbs;
        rrc->GetAttribute("DataRadioBearerMap", drbs);
        for (auto it = drbs.Begin(); it != drbs.End(); ++it)
        {
            PointerValue rlc;
            it->second->GetAttribute("LteRlc", rlc);
            rlc.Get<LteRlc>()->TraceConnectWithoutContext(
                "TxDrop",
                MakeBoundCallback(&OnRlcTxDrop, stats, sensor));
        }
    });
}

std::string
SchedulerTypeId(const std::string& name)
{
    static const std::map<std::string, std::string> kSchedulers = {
        {"pf", "ns3::PfFfMacScheduler"},
        {"rr", "ns3::RrFfMacScheduler"},
        {"tdmt", "ns3::TdMtFfMacScheduler"},
        {"fdmt", "ns3::FdMtFfMacScheduler"},
        {"tta", "ns3::TtaFfMacScheduler"},
        {"pss", "ns3::PssFfMacScheduler"},
        {"cqa", "ns3::CqaFfMacScheduler"},
        {"tdbet", "ns3::TdBetFfMacScheduler"},
        {"fdbet", "ns3::FdBetFfMacScheduler"},
    };
    auto it = kSchedulers.find(name);
    if (it == kSchedulers.end())
    {
        throw ConfigError("config field 'network.scheduler' = \"" + name +
                          "\": allowed: pf, rr, tdmt, fdmt, tta, pss, cqa, tdbet, fdbet");
    }
    return it->second;
}

ServiceKind
ParseService(const std::string& s)
{
    if (s == "mmtc")
    {
        return ServiceKind::Mmtc;
    }
    if (s == "tic")
    {
        return ServiceKind::Tic;
    }
    if (s == "self_similar")
    {
        return ServiceKind::SelfSimilar;
    }
    throw ConfigError("config field 'traffic.service' = \"" + s +
                      "\": allowed: mmtc, tic, self_similar");
}

} // namespace

int
main(int argc, char* argv[])
{
    gaidt::DieWithParent(); // first: an orphan must not start simulating
    const auto programStart = std::chrono::steady_clock::now();
    std::string configPath;
    std::string outPath;
    std::string bridgePub;
    std::string bridgeCmd;
    std::string runId = "run";
    bool bridgeTruth = false;
    bool bridgeHold = false;
    double bridgeHoldTimeoutS = 300;
    CommandLine cmd(__FILE__);
    cmd.AddValue("config", "resolved scenario config (JSON)", configPath);
    cmd.AddValue("out", "where to write result.json", outPath);
    cmd.AddValue("bridge-pub",
                 "ZeroMQ endpoint to bind the twin PUB socket on (empty: no bridge)",
                 bridgePub);
    cmd.AddValue("bridge-cmd",
                 "ZeroMQ endpoint to bind the twin command (ROUTER) socket on",
                 bridgeCmd);
    cmd.AddValue("run-id", "run identifier carried in every bridge message", runId);
    cmd.AddValue("bridge-truth",
                 "also publish every node's state each round (gaidt.truth, for evaluation)",
                 bridgeTruth);
    cmd.AddValue("bridge-hold",
                 "start paused (round 0) until a client sends resume on --bridge-cmd",
                 bridgeHold);
    cmd.AddValue("bridge-hold-timeout-s",
                 "wall seconds a --bridge-hold waits for resume, then starts anyway",
                 bridgeHoldTimeoutS);
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
    if (bridgeHold && (bridgePub.empty() || bridgeCmd.empty()))
    {
        std::cerr << "gaidt-iot-city: --bridge-hold = true needs --bridge-pub and --bridge-cmd (a "
                     "client resumes the run)\n";
        return 2;
    }
    if (!(bridgeHoldTimeoutS > 0))
    {
        std::cerr << "gaidt-iot-city: --bridge-hold-timeout-s = " << bridgeHoldTimeoutS
                  << ": allowed: > 0 s\n";
        return 2;
    }

    ScenarioConfig cfg;
    TrafficParams traffic;
    std::string schedulerTid;
    try
    {
        cfg = LoadScenarioConfig(configPath);
        schedulerTid = SchedulerTypeId(cfg.scheduler);
        traffic.service = ParseService(cfg.service);
        if (cfg.radio == "nr")
        {
            throw ConfigError(
#ifdef GAIDT_HAVE_NR
                "config field 'radio' = \"nr\": the 5G-LENA nr module was found, but this build's "
                "NR "
                "scenario builder is not implemented yet; use \"lte-m\" or \"lte\""
#else
                "config field 'radio' = \"nr\": this ns-3 has no 5G-LENA nr module (the PyPI ns3 "
                "wheel "
                "ships none); use \"lte-m\" or \"lte\", or build ns-3 with contrib/nr"
#endif
            );
        }
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

    // the config's seed is ns-3's seed; the run number stays ns-3's own (--RngRun, default 1), so
    // replications of one config differ in every ns-3 random stream
    RngSeedManager::SetSeed(cfg.seed);
    std::mt19937_64 placementRng(cfg.seed);

    // ---- speed knobs that do not change results: the event scheduler only
    // changes how the event queue is stored (events still run in (time, uid) order).
    // With quad_heap, events beyond the run's end may be released at once (its Horizon):
    // the UE clock gate then parks any idle sensor (ue-clock-gate.h).
    const bool parkWhileAwake =
        cfg.eventScheduler == "quad_heap" &&
        cfg.warmupS + cfg.durationS + cfg.drainS < UeClockGate::ParkingHorizon().GetSeconds();
    {
        static const std::map<std::string, std::string> kSchedulers = {
            {"map", "ns3::MapScheduler"},
            {"heap", "ns3::HeapScheduler"},
            {"calendar", "ns3::CalendarScheduler"},
            {"priority_queue", "ns3::PriorityQueueScheduler"},
            {"quad_heap", "gaidt::QuadHeapScheduler"},
        };
        ObjectFactory factory;
        factory.SetTypeId(kSchedulers.at(cfg.eventScheduler));
        if (parkWhileAwake)
        {
            // the UE PHY clocks a UeClockGate parks are never to run: released, not queued
            factory.Set("Horizon", TimeValue(UeClockGate::ParkingHorizon()));
        }
        Simulator::SetScheduler(factory);
    }

    // ---- modeling knobs (documented in ns3-scenarios/README.md)
    Config::SetDefault("ns3::LteSpectrumPhy::CtrlErrorModelEnabled",
                       BooleanValue(cfg.ctrlErrorModel));
    Config::SetDefault("ns3::LteRlcUm::MaxTxBufferSize", UintegerValue(cfg.bufferBytes));
    Config::SetDefault("ns3::LteEnbRrc::SrsPeriodicity", UintegerValue(cfg.srsPeriodicity));
    Config::SetDefault("ns3::LteEnbRrc::EpsBearerToRlcMapping",
                       EnumValue(LteEnbRrc::RLC_UM_ALWAYS));
    Config::SetDefault("ns3::LteUePhy::TxPower", DoubleValue(cfg.ueTxPowerDbm));
    // ns-3 uses LteUePhy::TxPower only with UL power control off; with it on
    // (the default) the UE's cap is LteUePowerControl::Pcmax, 23 dBm by default.
    const double uePcmaxDbm = cfg.uePcmax == "radio" ? cfg.ueTxPowerDbm : 23.0;
    Config::SetDefault("ns3::LteUePowerControl::Pcmax", DoubleValue(uePcmaxDbm));
    Config::SetDefault("ns3::LteEnbPhy::TxPower", DoubleValue(cfg.enbTxPowerDbm));
    Config::SetDefault("ns3::LteUePhy::RsrpSinrSamplePeriod",
                       UintegerValue(cfg.rsrpSinrSamplePeriodMs));
    Config::SetDefault("ns3::LteUePhy::EnableRlfDetection", BooleanValue(cfg.rlfDetection));
    if (cfg.maxLossDb > 0)
    {
        Config::SetDefault("ns3::SpectrumChannel::MaxLossDb", DoubleValue(cfg.maxLossDb));
    }

    Ptr<LteHelper> lte = CreateObject<LteHelper>();
    // Both channels; only the DL one gets a receiver selector (the control-frame aggregator).
    lte->SetSpectrumChannelType(cfg.spectrumChannel == "cell_scoped"
                                    ? "gaidt::CellScopedSpectrumChannel"
                                    : "ns3::MultiModelSpectrumChannel");
    Ptr<PointToPointEpcHelper> epc = CreateObject<PointToPointEpcHelper>();
    lte->SetEpcHelper(epc);
    lte->SetPathlossModelType(LogDistancePropagationLossModel::GetTypeId());
    lte->SetPathlossModelAttribute("Exponent", DoubleValue(cfg.pathlossExponent));
    lte->SetPathlossModelAttribute("ReferenceDistance", DoubleValue(1.0));
    lte->SetPathlossModelAttribute("ReferenceLoss", DoubleValue(cfg.referenceLossDb));
    // The wrapper always counts BSRs; it changes grants only with ul_grant_guard or
    // srs_power_scaling (both off: a pure pass-through, measured bit-identical).
    lte->SetSchedulerType("gaidt::UlGrantGuardScheduler");
    lte->SetSchedulerAttribute("InnerType", StringValue(schedulerTid));
    lte->SetSchedulerAttribute("MinUsefulUlTbBytes", UintegerValue(cfg.ulGrantGuard ? 8 : 0));
    // PUSCH UL-CQI is measured at the PUSCH's own PSD: nothing to scale.
    lte->SetSchedulerAttribute("SrsPowerScaling",
                               BooleanValue(cfg.srsPowerScaling && cfg.ulCqi == "srs"));
    lte->SetSchedulerAttribute("UlBandwidth", UintegerValue(cfg.resourceBlocks));
    // PF's idle TTIs without its search, bookkeeping batched (pf-idle-tti.h): needs an FFR without
    // side effects, and this scenario installs none, so ns-3's LteFrNoOpAlgorithm runs.
    lte->SetSchedulerAttribute("BatchIdlePfTtis", BooleanValue(cfg.pfIdleTti));
    // lte-m: the Cat-M1 limits (catm1-limits.h); lte: ns-3's LTE MAC as is
    lte->SetSchedulerAttribute("CatM1", BooleanValue(cfg.catM1));
    lte->SetSchedulerAttribute("PucchRbs", UintegerValue(cfg.pucchRbs));
    lte->SetSchedulerAttribute("HalfDuplexFdd", BooleanValue(cfg.halfDuplexFdd));
    lte->SetSchedulerAttribute("UlCqiFilter",
                               EnumValue(cfg.ulCqi == "pusch" ? FfMacScheduler::PUSCH_UL_CQI
                                                              : FfMacScheduler::SRS_UL_CQI));
    lte->SetHandoverAlgorithmType("ns3::NoOpHandoverAlgorithm");
    lte->SetEnbDeviceAttribute("DlBandwidth", UintegerValue(cfg.resourceBlocks));
    lte->SetEnbDeviceAttribute("UlBandwidth", UintegerValue(cfg.resourceBlocks));
    lte->SetEnbDeviceAttribute("DlEarfcn", UintegerValue(cfg.dlEarfcn));
    lte->SetEnbDeviceAttribute("UlEarfcn", UintegerValue(cfg.ulEarfcn));

    // ---- city server behind the PGW
    Ptr<Node> pgw = epc->GetPgwNode();
    NodeContainer serverNodes;
    serverNodes.Create(1);
    InternetStackHelper internet;
    internet.Install(serverNodes);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate("10Gb/s")));
    p2p.SetDeviceAttribute("Mtu", UintegerValue(1500));
    p2p.SetChannelAttribute("Delay", TimeValue(MilliSeconds(1)));
    NetDeviceContainer coreDevs = p2p.Install(pgw, serverNodes.Get(0));
    Ipv4AddressHelper ipv4;
    ipv4.SetBase("1.0.0.0", "255.0.0.0");
    Ipv4InterfaceContainer coreIfs = ipv4.Assign(coreDevs);
    const Ipv4Address serverAddr = coreIfs.GetAddress(1);
    Ipv4StaticRoutingHelper routing;
    routing.GetStaticRouting(serverNodes.Get(0)->GetObject<Ipv4>())
        ->AddNetworkRouteTo(Ipv4Address("7.0.0.0"), Ipv4Mask("255.0.0.0"), 1);

    // ---- geometry
    std::vector<Point> sensorPos =
        PlaceSensors(cfg.sensors, cfg.areaM, cfg.placement, placementRng);
    for (std::size_t i = 0; i < cfg.sensorPositionsM.size(); ++i)
    {
        sensorPos[i] = Point{cfg.sensorPositionsM[i].first, cfg.sensorPositionsM[i].second};
    }
    std::vector<Point> gwPos =
        cfg.gatewayPlacement == "sensor_centroids"
            ? PlaceGatewaysAtSensorCentroids(cfg.gateways, cfg.areaM, sensorPos)
            : PlaceGateways(cfg.gateways, cfg.areaM);
    for (std::size_t g = 0; g < cfg.gatewayPositionsM.size(); ++g)
    {
        gwPos[g] = Point{cfg.gatewayPositionsM[g].first, cfg.gatewayPositionsM[g].second};
    }
    const LinkBudgetModel budget = MakeLinkBudgetModel(cfg, uePcmaxDbm);
    const std::vector<uint32_t> planned =
        Associate(sensorPos, gwPos, cfg.association, budget.reachM);

    NodeContainer enbNodes;
    enbNodes.Create(cfg.gateways);
    NodeContainer ueNodes;
    ueNodes.Create(cfg.sensors);
    Ptr<ListPositionAllocator> enbAlloc = CreateObject<ListPositionAllocator>();
    for (const Point& p : gwPos)
    {
        enbAlloc->Add(Vector(p.xM, p.yM, kGatewayHeightM));
    }
    Ptr<ListPositionAllocator> ueAlloc = CreateObject<ListPositionAllocator>();
    for (const Point& p : sensorPos)
    {
        ueAlloc->Add(Vector(p.xM, p.yM, kSensorHeightM));
    }
    MobilityHelper mobility;
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    mobility.SetPositionAllocator(enbAlloc);
    mobility.Install(enbNodes);
    mobility.SetPositionAllocator(ueAlloc);
    mobility.Install(ueNodes);

    NetDeviceContainer enbDevs = lte->InstallEnbDevice(enbNodes);
    // Coverage (sensor-status.h): ns-3 models no CE repetitions, so a sensor whose coupling loss
    // to every gateway exceeds the no-repetition link budget (budget.maxPathlossDb, the maximum
    // coupling loss) never attaches: it is reported unreachable and the run goes on.
    std::vector<bool> inCoverage(cfg.sensors, true);
    uint32_t covered = 0;
    double nearestLossDb = INFINITY;
    {
        Ptr<PropagationLossModel> loss =
            lte->GetDownlinkSpectrumChannel()->GetPropagationLossModel();
        for (uint32_t i = 0; i < cfg.sensors; ++i)
        {
            double best = INFINITY;
            for (uint32_t g = 0; g < cfg.gateways; ++g)
            {
                best = std::min(best,
                                -loss->CalcRxPower(0,
                                                   enbNodes.Get(g)->GetObject<MobilityModel>(),
                                                   ueNodes.Get(i)->GetObject<MobilityModel>()));
            }
            inCoverage[i] = best <= budget.maxPathlossDb;
            covered += inCoverage[i];
            nearestLossDb = std::min(nearestLossDb, best);
        }
    }
    if (covered == 0)
    {
        std::cerr << "gaidt-iot-city: no sensor is within reach of a gateway: the smallest "
                     "coupling loss is "
                  << nearestLossDb << " dB, above the maximum coupling loss "
                  << budget.maxPathlossDb << " dB (" << budget.reachM
                  << " m); check topology.area_m, topology.gateways and radio_params\n";
        return 2;
    }
    // Per-gateway SRS plan: gateway g's sensors sound in subframes offset[g],
    // offset[g] + 1, ... (ApplySrsPlan, near the end of the attach phase).
    std::vector<std::vector<uint16_t>> srsBlock(cfg.gateways);
    if (cfg.srsPlan == "per_gateway")
    {
        std::vector<uint32_t> loads(cfg.gateways, 0);
        for (uint32_t g : planned)
        {
            loads[g]++;
        }
        const auto offsets = PlanSrsOffsets(gwPos, loads, cfg.srsPeriodicity, cfg.pathlossExponent);
        const auto low = SrsConfigIndexLow(cfg.srsPeriodicity);
        for (uint32_t g = 0; g < cfg.gateways; ++g)
        {
            for (uint32_t k = 0; k < std::min(loads[g], cfg.srsPeriodicity); ++k)
            {
                srsBlock[g].push_back(
                    static_cast<uint16_t>(low + (offsets[g] + k) % cfg.srsPeriodicity));
            }
        }
    }
    if (cfg.maxLossDb > 0)
    {
        for (Ptr<SpectrumChannel> ch :
             {lte->GetDownlinkSpectrumChannel(), lte->GetUplinkSpectrumChannel()})
        {
            ch->AddSpectrumTransmitFilter(
                Create<MaxLossFilter>(ch->GetPropagationLossModel(), cfg.maxLossDb));
        }
    }
    // sim.spectrum_channel cell_scoped: an uplink control-only frame goes to its own gateway
    // (ul-ctrl-scope.h), not to every gateway in range
    if (auto scoped = DynamicCast<CellScopedSpectrumChannel>(lte->GetUplinkSpectrumChannel()))
    {
        auto scope = CreateObject<UlCtrlScope>(lte->GetUplinkSpectrumChannel(), enbDevs);
        scoped->SetReceiverSelector(PeekPointer(scope), scope);
    }
    NetDeviceContainer ueDevs = lte->InstallUeDevice(ueNodes);
    internet.Install(ueNodes);
    epc->AssignUeIpv4Address(ueDevs);
    for (uint32_t i = 0; i < ueNodes.GetN(); ++i)
    {
        routing.GetStaticRouting(ueNodes.Get(i)->GetObject<Ipv4>())
            ->SetDefaultRoute(epc->GetUeDefaultGatewayAddress(), 1);
    }

    // ---- statistics shared by apps, result writer and bridge
    auto stats = std::make_shared<IotStats>();
    stats->windowS = cfg.throughputWindowS;
    stats->trafficStartS = cfg.warmupS;
    stats->rxBytesPerWindow.assign(
        static_cast<std::size_t>(std::ceil(cfg.durationS / cfg.throughputWindowS - 1e-9)),
        0);
    std::map<uint16_t, uint32_t> cellToGateway;
    for (uint32_t g = 0; g < cfg.gateways; ++g)
    {
        GatewayStats gs;
        gs.id = g;
        gs.cellId = DynamicCast<LteEnbNetDevice>(enbDevs.Get(g))->GetCellId();
        gs.xM = gwPos[g].xM;
        gs.yM = gwPos[g].yM;
        cellToGateway[gs.cellId] = g;
        stats->gateways.push_back(gs);
    }
    UplinkMonitor monitor(stats.get(), enbDevs);
    std::vector<SensorCtx> ctx(cfg.sensors);
    for (uint32_t i = 0; i < cfg.sensors; ++i)
    {
        SensorStats s;
        s.id = i;
        s.plannedGateway = static_cast<int32_t>(planned[i]);
        s.inCoverage = inCoverage[i];
        s.xM = sensorPos[i].xM;
        s.yM = sensorPos[i].yM;
        stats->sensors.push_back(s);
        ctx[i] = SensorCtx{i, ueNodes.Get(i)->GetId(), stats.get(), &cellToGateway, &monitor};
    }
    for (uint32_t i = 0; i < cfg.sensors; ++i)
    {
        Ptr<LteUeNetDevice> dev = DynamicCast<LteUeNetDevice>(ueDevs.Get(i));
        dev->GetRrc()->TraceConnectWithoutContext(
            "ConnectionEstablished",
            MakeBoundCallback(&OnConnectionEstablished, &ctx[i]));
        dev->GetPhy()->TraceConnectWithoutContext("ReportCurrentCellRsrpSinr",
                                                  MakeBoundCallback(&OnRsrpSinr, &ctx[i]));
        SetDownlinkCqiPeriodicity(dev->GetPhy(), MilliSeconds(cfg.cqiPeriodMs));
        if (inCoverage[i])
        {
            lte->Attach(dev, enbDevs.Get(planned[i]));
        }
    }

    monitor.ComputeLinkBudgets(lte->GetDownlinkSpectrumChannel()->GetPropagationLossModel(),
                               ueDevs,
                               budget);

    if (cfg.dlCtrlInterference != "per_cell")
    {
        // Installed last, so it runs first in the channel's filter chain (ns-3 prepends).
        auto aggregator = Create<DlCtrlAggregator>(lte->GetDownlinkSpectrumChannel(),
                                                   enbDevs,
                                                   ueDevs,
                                                   cfg.dlCtrlInterference == "aggregate_keep_pss");
        lte->GetDownlinkSpectrumChannel()->AddSpectrumTransmitFilter(aggregator);
        // sim.spectrum_channel cell_scoped: a control frame visits its own cell's sensors only
        if (auto scoped = DynamicCast<CellScopedSpectrumChannel>(lte->GetDownlinkSpectrumChannel()))
        {
            scoped->SetReceiverSelector(PeekPointer(aggregator), aggregator);
        }
    }

    // ---- sleeping sensors and energy (sensor-power.h). Always created, for the energy
    // account; the filter and the uplink gate only when sensors sleep (always_on: ns-3 as is).
    SensorPowerHelper powerHelper;
    powerHelper.SetModelAttribute("Mode", StringValue(cfg.powerMode));
    powerHelper.SetModelAttribute("DrxCycle", TimeValue(MilliSeconds(cfg.drxCycleMs)));
    powerHelper.SetModelAttribute("OnDuration", TimeValue(MilliSeconds(cfg.onDurationMs)));
    powerHelper.SetModelAttribute("InactivityTimer",
                                  TimeValue(MilliSeconds(cfg.inactivityTimerMs)));
    powerHelper.SetModelAttribute("RrcReleaseTimer", TimeValue(Seconds(cfg.rrcReleaseS)));
    powerHelper.SetModelAttribute("EdrxCycle", TimeValue(Seconds(cfg.edrxCycleS)));
    powerHelper.SetModelAttribute("PagingWindow",
                                  TimeValue(MicroSeconds(std::llround(cfg.pagingWindowMs * 1000))));
    powerHelper.SetModelAttribute("T3324", TimeValue(Seconds(cfg.t3324S)));
    powerHelper.SetModelAttribute("T3412", TimeValue(Seconds(cfg.t3412S)));
    powerHelper.SetModelAttribute(
        "ConnectionSetup",
        TimeValue(MicroSeconds(std::llround(cfg.connectionSetupMs * 1000))));
    powerHelper.SetModelAttribute("AccountingStart", TimeValue(Seconds(cfg.warmupS)));
    powerHelper.SetModelAttribute("RxPower", DoubleValue(cfg.rxPowerMw / 1000));
    powerHelper.SetModelAttribute("LightSleepPower", DoubleValue(cfg.lightSleepPowerMw / 1000));
    powerHelper.SetModelAttribute("DeepSleepPower", DoubleValue(cfg.deepSleepPowerMw / 1000));
    powerHelper.SetModelAttribute("TxPaEfficiency", DoubleValue(cfg.txPaEfficiency));
    powerHelper.SetModelAttribute("TxCircuitPower", DoubleValue(cfg.txCircuitPowerMw / 1000));
    powerHelper.SetModelAttribute("PreambleTxPower", DoubleValue(uePcmaxDbm));
    const std::vector<Ptr<SensorPowerModel>> powerModels = powerHelper.Install(ueDevs);
    // Random access on wake-ups from idle/PSM (random-access.h): one PRACH per gateway cell.
    // Only modes that leave the connection use it, so always_on and drx create no random
    // variables (always_on stays bit-identical).
    std::vector<Ptr<RandomAccessChannel>> raChannels;
    if ((cfg.powerMode == "edrx" || cfg.powerMode == "psm") && cfg.raModel == "contention")
    {
        RandomAccessHelper raHelper;
        raHelper.SetChannelAttribute("PrachPeriod", TimeValue(MilliSeconds(cfg.raPrachPeriodMs)));
        raHelper.SetChannelAttribute("NumberOfRaPreambles", UintegerValue(cfg.raPreambles));
        raHelper.SetChannelAttribute("PreambleTransMax", UintegerValue(cfg.raPreambleTransMax));
        raHelper.SetChannelAttribute("RaResponseWindowSize", UintegerValue(cfg.raResponseWindowMs));
        raHelper.SetChannelAttribute("RarGrantsPerSubframe",
                                     UintegerValue(cfg.raRarGrantsPerSubframe));
        raHelper.SetChannelAttribute("ContentionResolutionTimer",
                                     TimeValue(MilliSeconds(cfg.raContentionResolutionTimerMs)));
        raHelper.SetChannelAttribute("Msg4Delay", TimeValue(MilliSeconds(cfg.raMsg4DelayMs)));
        raHelper.SetChannelAttribute("Backoff", TimeValue(MilliSeconds(cfg.raBackoffMs)));
        raChannels = raHelper.Install(enbDevs);
        // fixed streams, far from any other (nothing else in the scenario assigns streams):
        // a cell's preamble choices and backoffs depend only on the seed and its sensors
        raHelper.AssignStreams(raChannels, kRandomAccessStreamBase);
        powerHelper.SetRandomAccess(powerModels, raChannels, planned);
    }
    stats->energySoFarJ = [&powerModels](uint32_t i) { return powerModels[i]->EnergySoFarJ(); };
    const bool sleeping = cfg.powerMode != "always_on";
    if (sleeping)
    {
        // Installed after the control-frame aggregator, so it runs first (ns-3 prepends):
        // nothing else does work for a sleeping sensor.
        powerHelper.InstallFilter(lte->GetDownlinkSpectrumChannel(), ueDevs, powerModels);
        // and the SRS gate: a sleeping sensor sounds no SRS (TS 36.321 5.7)
        powerHelper.InstallUplinkFilter(lte->GetUplinkSpectrumChannel(), ueDevs, powerModels);
    }
    // and their UE subframe clocks rest while there is nothing to do (ue-clock-gate.h)
    // (any sensor between two busy subframes, when the event queue releases parked clocks' events)
    std::vector<Ptr<UeClockGate>> clockGates;
    if (cfg.ueClockGate && (sleeping || parkWhileAwake))
    {
        clockGates = UeClockGateHelper().Install(ueDevs, powerModels, parkWhileAwake);
    }

    // The SRS plan is applied to all sensors at once, near the end of the attach
    // phase: while sensors attach, every gateway that hears a RACH preamble takes
    // SRS indices for it, and would overwrite a planned index given earlier.
    if (cfg.srsPlan == "per_gateway")
    {
        const Time at = Seconds(std::max(cfg.warmupS / 2, cfg.warmupS - 0.1));
        std::vector<std::vector<SensorCtx*>> byGateway(cfg.gateways);
        for (uint32_t i = 0; i < cfg.sensors; ++i)
        {
            byGateway[planned[i]].push_back(&ctx[i]);
        }
        for (uint32_t g = 0; g < cfg.gateways; ++g)
        {
            Simulator::Schedule(at,
                                &ApplySrsPlan,
                                DynamicCast<LteEnbNetDevice>(enbDevs.Get(g))->GetRrc(),
                                byGateway[g],
                                srsBlock[g],
                                100);
        }
    }

    // RLC entities exist only once a data radio bearer is set up: connect each
    // sensor's RLC drop trace when its DRB is created.
    for (uint32_t i = 0; i < cfg.sensors; ++i)
    {
        DynamicCast<LteUeNetDevice>(ueDevs.Get(i))
            ->GetRrc()
            ->TraceConnectWithoutContext(
                "DrbCreated",
                MakeBoundCallback(&OnDrbCreated,
                                  &ctx[i],
                                  DynamicCast<LteUeNetDevice>(ueDevs.Get(i))->GetRrc()));
    }

    // ---- applications
    traffic.ulActivity = cfg.ulActivity;
    traffic.reportPeriodS = cfg.reportPeriodS;
    traffic.eventRateHz = cfg.eventRateHz;
    traffic.accessSpreadS = cfg.accessSpreadS;
    traffic.synchronizedPeriods = cfg.synchronizedPeriods;
    traffic.onMeanS = cfg.onMeanS;
    traffic.paretoShape = cfg.paretoShape;
    traffic.payloadMinBytes = cfg.payloadMinBytes;
    traffic.payloadMaxBytes = cfg.payloadMaxBytes;
    traffic.deadlineMs = cfg.deadlineMs;
    traffic.stopS = cfg.warmupS + cfg.durationS;
    const double endS = cfg.warmupS + cfg.durationS + cfg.drainS;

    Ptr<CityServerApp> server = CreateObject<CityServerApp>();
    server->Setup(kServerPort, traffic, stats);
    serverNodes.Get(0)->AddApplication(server);
    server->SetStartTime(Seconds(0));
    server->SetStopTime(Seconds(endS));
    for (uint32_t i = 0; i < cfg.sensors; ++i)
    {
        if (!inCoverage[i])
        {
            continue; // out of coverage: never attached, sends nothing (reported unreachable)
        }
        Ptr<SensorApp> app = CreateObject<SensorApp>();
        app->Setup(i, InetSocketAddress(serverAddr, kServerPort), traffic, stats);
        if (sleeping)
        {
            Ptr<SensorPowerModel> model = powerModels[i];
            app->SetUplinkGate([model](std::function<void(bool)> resume) {
                return model->RequestUplink(std::move(resume));
            });
        }
        ueNodes.Get(i)->AddApplication(app);
        app->SetStartTime(Seconds(cfg.warmupS));
        app->SetStopTime(Seconds(endS));
    }

    // ---- twin bridge (optional)
    Ptr<TwinBridge> bridge;
    if (!bridgePub.empty())
    {
        try
        {
            TwinBridgeHelper bridgeHelper;
            bridgeHelper.SetAttribute("Period", TimeValue(Seconds(cfg.periodS)));
            bridgeHelper.SetAttribute("TwinningRate", DoubleValue(cfg.twinningRate));
            bridgeHelper.SetAttribute("SampleSeed", UintegerValue(cfg.seed));
            bridgeHelper.SetAttribute("PublishTruth", BooleanValue(bridgeTruth));
            bridgeHelper.SetAttribute("Hold", BooleanValue(bridgeHold));
            bridgeHelper.SetAttribute("HoldTimeout", DoubleValue(bridgeHoldTimeoutS));
            bridge = bridgeHelper.Create(bridgePub, bridgeCmd, runId);
            InstallIotCityTwin(*bridge, cfg, stats, enbDevs);
            bridge->Start(Seconds(endS));
        }
        catch (const std::exception& e)
        {
            std::cerr << "gaidt-iot-city: bridge error: " << e.what() << "\n";
            return 4;
        }
    }

    // Phase clock (result.json run.phases): a marker event at the end of the attach and of the
    // traffic phase reads the wall clock and the event count. The markers change nothing else
    // (they only read), and their own events are not counted.
    RunInfo info;
    const auto t0 = std::chrono::steady_clock::now();
    info.setupWallS = std::chrono::duration<double>(t0 - programStart).count();
    const double phaseEndS[] = {cfg.warmupS, cfg.warmupS + cfg.durationS, endS};
    const char* phaseName[] = {"attach", "traffic", "drain"};
    std::vector<std::pair<double, uint64_t>> marks; // (wall s, events before the marker)
    for (int k = 0; k < 2; ++k)
    {
        Simulator::Schedule(Seconds(phaseEndS[k]), [&marks, t0]() {
            marks.emplace_back(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                // ns-3 counts an event before it runs it: this marker and the earlier ones
                Simulator::GetEventCount() - (marks.size() + 1));
        });
    }
    Simulator::Stop(Seconds(endS));
    Simulator::Run();
    const double wallS =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    info.wallS = wallS;
    info.events = Simulator::GetEventCount() - marks.size();
    info.simulatedS = endS;
    info.ns3Version = GAIDT_NS3_VERSION;
    info.spectrumChannel = cfg.spectrumChannel;
    if (auto scoped = DynamicCast<CellScopedSpectrumChannel>(lte->GetDownlinkSpectrumChannel()))
    {
        info.scopedTransmissions = scoped->GetScopedTransmissions();
    }
    if (auto scoped = DynamicCast<CellScopedSpectrumChannel>(lte->GetUplinkSpectrumChannel()))
    {
        info.ulScopedTransmissions = scoped->GetScopedTransmissions();
    }
    info.ueClockGate = !clockGates.empty();
    for (uint32_t g = 0; g < enbDevs.GetN(); ++g)
    {
        for (const auto& guard :
             UlGrantGuardScheduler::InstalledOn(DynamicCast<LteEnbNetDevice>(enbDevs.Get(g))))
        {
            if (const CatM1Limits* c = guard->GetCatM1())
            {
                const CatM1Counters& k = c->GetCounters();
                info.catM1 = true;
                info.catM1MaxCqi = c->MaxCqi();
                info.catM1MaxUlSinrDb = c->MaxUlSinrDb();
                info.catM1PucchEnforced = c->PucchEnforced();
                info.catM1HalfDuplexEnforced = c->HalfDuplexEnforced();
                info.catM1UlNewGrants += k.ulNewGrants;
                info.catM1UlMcsRaised += k.ulMcsRaised;
                info.catM1UlMcsCapped += k.ulMcsCapped;
                info.catM1UlTbCapped += k.ulTbCapped;
                info.catM1DlTbs += k.dlTbs;
                info.catM1DlTbCapped += k.dlTbCapped;
                info.catM1UlSinrCapped += k.ulCqiRbsCapped;
                info.catM1DlCqiCapped += k.dlCqisCapped;
                info.catM1HdDeferrals += k.hdDeferrals;
                info.catM1BsrRestoredBytes += k.bsrRestoredB;
            }
            if (const PfIdleTti* idle = guard->GetPfIdle())
            {
                info.pfIdleTti = true;
                info.pfDlTriggers += idle->GetDlTriggers();
                info.pfDlIdle += idle->GetDlIdle();
                info.pfUlTriggers += idle->GetUlTriggers();
                info.pfUlIdle += idle->GetUlIdle();
                info.pfFlushes += idle->GetFlushes();
            }
        }
    }
    for (const auto& ch : raChannels)
    {
        info.raCells.push_back(ch->GetCounters());
    }
    for (const auto& gate : clockGates)
    {
        info.ueGatedSubframes += gate->GetGatedSubframes();
        info.ueClockParks += gate->GetParks();
    }
    marks.emplace_back(wallS, info.events);
    for (std::size_t k = 0; k < marks.size(); ++k)
    {
        RunPhase ph;
        ph.name = phaseName[k];
        ph.startS = k ? phaseEndS[k - 1] : 0.0;
        ph.endS = phaseEndS[k];
        ph.wallS = marks[k].first - (k ? marks[k - 1].first : 0.0);
        ph.events = marks[k].second - (k ? marks[k - 1].second : 0);
        info.phases.push_back(ph);
    }

    std::vector<uint32_t> unattached;
    for (const SensorStats& s : stats->sensors)
    {
        if (!s.attached && inCoverage[s.id])
        {
            unattached.push_back(s.id);
        }
    }
    for (uint32_t i = 0; i < cfg.sensors; ++i)
    {
        powerModels[i]->Finish(Seconds(endS), stats->sensors[i]);
    }
    nlohmann::json result = BuildResult(cfg, *stats, info, budget);
    if (bridge)
    {
        bridge->Finish(unattached.empty() ? "ok" : "attach_failed");
        result["bridge"] = bridge->Stats();
    }
    Simulator::Destroy();

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

    const std::string tmp = outPath + ".tmp";
    {
        std::ofstream out(tmp);
        out << result.dump(1) << "\n";
        if (!out)
        {
            std::cerr << "gaidt-iot-city: cannot write " << tmp << "\n";
            return 1;
        }
    }
    std::rename(tmp.c_str(), outPath.c_str());
    return 0;
}
