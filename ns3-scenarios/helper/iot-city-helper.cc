// iot-city-helper.cc: the IoT city, built in the order the results depend on (iot-city-helper.h).
#include "helper/iot-city-helper.h"

#include "helper/iot-city-twin.h"
#include "model/approx/max-loss-filter.h"
#include "model/catm1-limits.h"
#include "model/fast/cell-scoped-spectrum-channel.h"
#include "model/fast/dl-ctrl-aggregator.h"
#include "model/fast/pf-idle-tti.h"
#include "model/fast/ul-ctrl-scope.h"
#include "model/lte-private-access.h"
#include "model/srs-plan.h"
#include "model/ul-grant-guard-scheduler.h"

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/lte-module.h"
#include "ns3/mobility-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/spectrum-channel.h"

#include <cmath>
#include <set>
#include <sstream>

namespace gaidt
{

using namespace ns3;

namespace
{

constexpr uint16_t kServerPort = 9000;
// first ns-3 random stream of the random-access channels (one per gateway cell)
constexpr int64_t kRandomAccessStreamBase = 1 << 20;

/** RLC TxDrop of one sensor's bearer. */
void
OnRlcTxDrop(IotStats* stats, uint32_t sensor, Ptr<const Packet>)
{
    stats->sensors[sensor].bufferDrops++;
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
IotCityHelper::ApplySrsPlan(Ptr<LteEnbRrc> rrc,
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
IotCityHelper::OnConnectionEstablished(SensorCtx* ctx,
                                       uint64_t /*imsi*/,
                                       uint16_t cellId,
                                       uint16_t rnti)
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
IotCityHelper::OnRsrpSinr(SensorCtx* ctx,
                          uint16_t,
                          uint16_t,
                          double rsrpW,
                          double sinrLinear,
                          uint8_t)
{
    SensorStats& s = ctx->stats->sensors[ctx->index];
    s.rsrpDbm = 10 * std::log10(std::max(rsrpW, 1e-30)) + 30;
    s.sinrDb = 10 * std::log10(std::max(sinrLinear, 1e-30));
}

void
IotCityHelper::OnDrbCreated(SensorCtx* ctx,
                            Ptr<LteUeRrc> rrc,
                            uint64_t,
                            uint16_t,
                            uint16_t,
                            uint8_t)
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

IotCityHelper::IotCityHelper(const ScenarioConfig& cfg)
    : m_cfg(cfg)
{
    m_schedulerTid = SchedulerTypeId(m_cfg.scheduler);
    m_traffic.service = ParseService(m_cfg.service);
    if (m_cfg.radio == "nr")
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

const ScenarioConfig&
IotCityHelper::GetConfig() const
{
    return m_cfg;
}

void
IotCityHelper::Build()
{
    SetUpSimulator();
    CreateLte();
    CreateCityServer();
    PlaceNodes();
    InstallRadio();
    InstallPower();
    InstallApps();
}

void
IotCityHelper::SetUpSimulator()
{
    const ScenarioConfig& cfg = m_cfg;
    // the config's seed is ns-3's seed; the run number stays ns-3's own (--RngRun, default 1), so
    // replications of one config differ in every ns-3 random stream
    RngSeedManager::SetSeed(cfg.seed);

    // ---- speed knobs that do not change results: the event scheduler only
    // changes how the event queue is stored (events still run in (time, uid) order).
    // With quad_heap, events beyond the run's end may be released at once (its Horizon):
    // the UE clock gate then parks any idle sensor (ue-clock-gate.h).
    m_parkWhileAwake =
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
        if (m_parkWhileAwake)
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
    m_uePcmaxDbm = cfg.uePcmax == "radio" ? cfg.ueTxPowerDbm : 23.0;
    Config::SetDefault("ns3::LteUePowerControl::Pcmax", DoubleValue(m_uePcmaxDbm));
    Config::SetDefault("ns3::LteEnbPhy::TxPower", DoubleValue(cfg.enbTxPowerDbm));
    Config::SetDefault("ns3::LteUePhy::RsrpSinrSamplePeriod",
                       UintegerValue(cfg.rsrpSinrSamplePeriodMs));
    Config::SetDefault("ns3::LteUePhy::EnableRlfDetection", BooleanValue(cfg.rlfDetection));
    if (cfg.maxLossDb > 0)
    {
        // approximation (model/approx/max-loss-filter.h)
        Config::SetDefault("ns3::SpectrumChannel::MaxLossDb", DoubleValue(cfg.maxLossDb));
    }
}

void
IotCityHelper::CreateLte()
{
    const ScenarioConfig& cfg = m_cfg;
    m_lte = CreateObject<LteHelper>();
    // Both channels; only the DL one gets a receiver selector (the control-frame aggregator).
    m_lte->SetSpectrumChannelType(cfg.spectrumChannel == "cell_scoped"
                                      ? "gaidt::CellScopedSpectrumChannel"
                                      : "ns3::MultiModelSpectrumChannel");
    m_epc = CreateObject<PointToPointEpcHelper>();
    m_lte->SetEpcHelper(m_epc);
    m_lte->SetPathlossModelType(LogDistancePropagationLossModel::GetTypeId());
    m_lte->SetPathlossModelAttribute("Exponent", DoubleValue(cfg.pathlossExponent));
    m_lte->SetPathlossModelAttribute("ReferenceDistance", DoubleValue(1.0));
    m_lte->SetPathlossModelAttribute("ReferenceLoss", DoubleValue(cfg.referenceLossDb));
    // The wrapper always counts BSRs; it changes grants only with ul_grant_guard or
    // srs_power_scaling (both off: a pure pass-through, measured bit-identical).
    m_lte->SetSchedulerType("gaidt::UlGrantGuardScheduler");
    m_lte->SetSchedulerAttribute("InnerType", StringValue(m_schedulerTid));
    m_lte->SetSchedulerAttribute("MinUsefulUlTbBytes", UintegerValue(cfg.ulGrantGuard ? 8 : 0));
    // PUSCH UL-CQI is measured at the PUSCH's own PSD: nothing to scale.
    m_lte->SetSchedulerAttribute("SrsPowerScaling",
                                 BooleanValue(cfg.srsPowerScaling && cfg.ulCqi == "srs"));
    m_lte->SetSchedulerAttribute("UlBandwidth", UintegerValue(cfg.resourceBlocks));
    // PF's idle TTIs without its search, bookkeeping batched (pf-idle-tti.h): needs an FFR without
    // side effects, and this scenario installs none, so ns-3's LteFrNoOpAlgorithm runs.
    m_lte->SetSchedulerAttribute("BatchIdlePfTtis", BooleanValue(cfg.pfIdleTti));
    // lte-m: the Cat-M1 limits (catm1-limits.h); lte: ns-3's LTE MAC as is
    m_lte->SetSchedulerAttribute("CatM1", BooleanValue(cfg.catM1));
    m_lte->SetSchedulerAttribute("PucchRbs", UintegerValue(cfg.pucchRbs));
    m_lte->SetSchedulerAttribute("HalfDuplexFdd", BooleanValue(cfg.halfDuplexFdd));
    m_lte->SetSchedulerAttribute("UlCqiFilter",
                                 EnumValue(cfg.ulCqi == "pusch" ? FfMacScheduler::PUSCH_UL_CQI
                                                                : FfMacScheduler::SRS_UL_CQI));
    m_lte->SetHandoverAlgorithmType("ns3::NoOpHandoverAlgorithm");
    m_lte->SetEnbDeviceAttribute("DlBandwidth", UintegerValue(cfg.resourceBlocks));
    m_lte->SetEnbDeviceAttribute("UlBandwidth", UintegerValue(cfg.resourceBlocks));
    m_lte->SetEnbDeviceAttribute("DlEarfcn", UintegerValue(cfg.dlEarfcn));
    m_lte->SetEnbDeviceAttribute("UlEarfcn", UintegerValue(cfg.ulEarfcn));
}

void
IotCityHelper::CreateCityServer()
{
    Ptr<Node> pgw = m_epc->GetPgwNode();
    m_serverNodes.Create(1);
    m_internet = std::make_unique<InternetStackHelper>();
    m_internet->Install(m_serverNodes);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate("10Gb/s")));
    p2p.SetDeviceAttribute("Mtu", UintegerValue(1500));
    p2p.SetChannelAttribute("Delay", TimeValue(MilliSeconds(1)));
    NetDeviceContainer coreDevs = p2p.Install(pgw, m_serverNodes.Get(0));
    Ipv4AddressHelper ipv4;
    ipv4.SetBase("1.0.0.0", "255.0.0.0");
    Ipv4InterfaceContainer coreIfs = ipv4.Assign(coreDevs);
    m_serverAddr = coreIfs.GetAddress(1);
    Ipv4StaticRoutingHelper routing;
    routing.GetStaticRouting(m_serverNodes.Get(0)->GetObject<Ipv4>())
        ->AddNetworkRouteTo(Ipv4Address("7.0.0.0"), Ipv4Mask("255.0.0.0"), 1);
}

void
IotCityHelper::PlaceNodes()
{
    const ScenarioConfig& cfg = m_cfg;
    std::mt19937_64 placementRng(cfg.seed);
    m_sensorPos = PlaceSensors(cfg.sensors, cfg.areaM, cfg.placement, placementRng);
    for (std::size_t i = 0; i < cfg.sensorPositionsM.size(); ++i)
    {
        m_sensorPos[i] = Point{cfg.sensorPositionsM[i].first, cfg.sensorPositionsM[i].second};
    }
    m_gwPos = cfg.gatewayPlacement == "sensor_centroids"
                  ? PlaceGatewaysAtSensorCentroids(cfg.gateways, cfg.areaM, m_sensorPos)
                  : PlaceGateways(cfg.gateways, cfg.areaM);
    for (std::size_t g = 0; g < cfg.gatewayPositionsM.size(); ++g)
    {
        m_gwPos[g] = Point{cfg.gatewayPositionsM[g].first, cfg.gatewayPositionsM[g].second};
    }
    m_budget = MakeLinkBudgetModel(cfg, m_uePcmaxDbm);
    m_planned = Associate(m_sensorPos, m_gwPos, cfg.association, m_budget.reachM);

    m_enbNodes.Create(cfg.gateways);
    m_ueNodes.Create(cfg.sensors);
    Ptr<ListPositionAllocator> enbAlloc = CreateObject<ListPositionAllocator>();
    for (const Point& p : m_gwPos)
    {
        enbAlloc->Add(Vector(p.xM, p.yM, kGatewayHeightM));
    }
    Ptr<ListPositionAllocator> ueAlloc = CreateObject<ListPositionAllocator>();
    for (const Point& p : m_sensorPos)
    {
        ueAlloc->Add(Vector(p.xM, p.yM, kSensorHeightM));
    }
    MobilityHelper mobility;
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    mobility.SetPositionAllocator(enbAlloc);
    mobility.Install(m_enbNodes);
    mobility.SetPositionAllocator(ueAlloc);
    mobility.Install(m_ueNodes);
}

void
IotCityHelper::InstallRadio()
{
    const ScenarioConfig& cfg = m_cfg;
    m_enbDevs = m_lte->InstallEnbDevice(m_enbNodes);
    // Coverage (sensor-status.h): ns-3 models no CE repetitions, so a sensor whose coupling loss
    // to every gateway exceeds the no-repetition link budget (budget.maxPathlossDb, the maximum
    // coupling loss) never attaches: it is reported unreachable and the run goes on.
    m_inCoverage.assign(cfg.sensors, true);
    uint32_t covered = 0;
    double nearestLossDb = INFINITY;
    {
        Ptr<PropagationLossModel> loss =
            m_lte->GetDownlinkSpectrumChannel()->GetPropagationLossModel();
        for (uint32_t i = 0; i < cfg.sensors; ++i)
        {
            double best = INFINITY;
            for (uint32_t g = 0; g < cfg.gateways; ++g)
            {
                best = std::min(best,
                                -loss->CalcRxPower(0,
                                                   m_enbNodes.Get(g)->GetObject<MobilityModel>(),
                                                   m_ueNodes.Get(i)->GetObject<MobilityModel>()));
            }
            m_inCoverage[i] = best <= m_budget.maxPathlossDb;
            covered += m_inCoverage[i];
            nearestLossDb = std::min(nearestLossDb, best);
        }
    }
    if (covered == 0)
    {
        std::ostringstream msg;
        msg << "no sensor is within reach of a gateway: the smallest coupling loss is "
            << nearestLossDb << " dB, above the maximum coupling loss " << m_budget.maxPathlossDb
            << " dB (" << m_budget.reachM
            << " m); check topology.area_m, topology.gateways and radio_params";
        throw ConfigError(msg.str());
    }
    // Per-gateway SRS plan: gateway g's sensors sound in subframes offset[g],
    // offset[g] + 1, ... (ApplySrsPlan, near the end of the attach phase).
    m_srsBlock.assign(cfg.gateways, {});
    if (cfg.srsPlan == "per_gateway")
    {
        std::vector<uint32_t> loads(cfg.gateways, 0);
        for (uint32_t g : m_planned)
        {
            loads[g]++;
        }
        const auto offsets =
            PlanSrsOffsets(m_gwPos, loads, cfg.srsPeriodicity, cfg.pathlossExponent);
        const auto low = SrsConfigIndexLow(cfg.srsPeriodicity);
        for (uint32_t g = 0; g < cfg.gateways; ++g)
        {
            for (uint32_t k = 0; k < std::min(loads[g], cfg.srsPeriodicity); ++k)
            {
                m_srsBlock[g].push_back(
                    static_cast<uint16_t>(low + (offsets[g] + k) % cfg.srsPeriodicity));
            }
        }
    }
    if (cfg.maxLossDb > 0)
    {
        // approximation (model/approx/max-loss-filter.h)
        for (Ptr<SpectrumChannel> ch :
             {m_lte->GetDownlinkSpectrumChannel(), m_lte->GetUplinkSpectrumChannel()})
        {
            ch->AddSpectrumTransmitFilter(
                Create<MaxLossFilter>(ch->GetPropagationLossModel(), cfg.maxLossDb));
        }
    }
    // sim.spectrum_channel cell_scoped: an uplink control-only frame goes to its own gateway
    // (ul-ctrl-scope.h), not to every gateway in range
    if (auto scoped = DynamicCast<CellScopedSpectrumChannel>(m_lte->GetUplinkSpectrumChannel()))
    {
        auto scope = CreateObject<UlCtrlScope>(m_lte->GetUplinkSpectrumChannel(), m_enbDevs);
        scoped->SetReceiverSelector(PeekPointer(scope), scope);
    }
    m_ueDevs = m_lte->InstallUeDevice(m_ueNodes);
    m_internet->Install(m_ueNodes);
    m_epc->AssignUeIpv4Address(m_ueDevs);
    Ipv4StaticRoutingHelper routing;
    for (uint32_t i = 0; i < m_ueNodes.GetN(); ++i)
    {
        routing.GetStaticRouting(m_ueNodes.Get(i)->GetObject<Ipv4>())
            ->SetDefaultRoute(m_epc->GetUeDefaultGatewayAddress(), 1);
    }

    // ---- statistics shared by apps, result writer and bridge
    m_stats = std::make_shared<IotStats>();
    m_stats->windowS = cfg.throughputWindowS;
    m_stats->trafficStartS = cfg.warmupS;
    m_stats->rxBytesPerWindow.assign(
        static_cast<std::size_t>(std::ceil(cfg.durationS / cfg.throughputWindowS - 1e-9)),
        0);
    for (uint32_t g = 0; g < cfg.gateways; ++g)
    {
        GatewayStats gs;
        gs.id = g;
        gs.cellId = DynamicCast<LteEnbNetDevice>(m_enbDevs.Get(g))->GetCellId();
        gs.xM = m_gwPos[g].xM;
        gs.yM = m_gwPos[g].yM;
        m_cellToGateway[gs.cellId] = g;
        m_stats->gateways.push_back(gs);
    }
    m_monitor = std::make_unique<UplinkMonitor>(m_stats.get(), m_enbDevs);
    m_ctx.resize(cfg.sensors);
    for (uint32_t i = 0; i < cfg.sensors; ++i)
    {
        SensorStats s;
        s.id = i;
        s.plannedGateway = static_cast<int32_t>(m_planned[i]);
        s.inCoverage = m_inCoverage[i];
        s.xM = m_sensorPos[i].xM;
        s.yM = m_sensorPos[i].yM;
        m_stats->sensors.push_back(s);
        m_ctx[i] = SensorCtx{i,
                             m_ueNodes.Get(i)->GetId(),
                             m_stats.get(),
                             &m_cellToGateway,
                             m_monitor.get()};
    }
    for (uint32_t i = 0; i < cfg.sensors; ++i)
    {
        Ptr<LteUeNetDevice> dev = DynamicCast<LteUeNetDevice>(m_ueDevs.Get(i));
        dev->GetRrc()->TraceConnectWithoutContext(
            "ConnectionEstablished",
            MakeBoundCallback(&OnConnectionEstablished, &m_ctx[i]));
        dev->GetPhy()->TraceConnectWithoutContext("ReportCurrentCellRsrpSinr",
                                                  MakeBoundCallback(&OnRsrpSinr, &m_ctx[i]));
        // sim.cqi_period_ms, an approximation held to a tolerance (ns3-scenarios/README.md)
        dev->GetPhy()->SetAttribute("DownlinkCqiPeriodicity",
                                    TimeValue(MilliSeconds(cfg.cqiPeriodMs)));
        if (m_inCoverage[i])
        {
            m_lte->Attach(dev, m_enbDevs.Get(m_planned[i]));
        }
    }

    m_monitor->ComputeLinkBudgets(m_lte->GetDownlinkSpectrumChannel()->GetPropagationLossModel(),
                                  m_ueDevs,
                                  m_budget);

    if (cfg.dlCtrlInterference != "per_cell")
    {
        // Installed last, so it runs first in the channel's filter chain (ns-3 prepends).
        auto aggregator = Create<DlCtrlAggregator>(m_lte->GetDownlinkSpectrumChannel(),
                                                   m_enbDevs,
                                                   m_ueDevs,
                                                   cfg.dlCtrlInterference == "aggregate_keep_pss");
        m_lte->GetDownlinkSpectrumChannel()->AddSpectrumTransmitFilter(aggregator);
        // sim.spectrum_channel cell_scoped: a control frame visits its own cell's sensors only
        if (auto scoped =
                DynamicCast<CellScopedSpectrumChannel>(m_lte->GetDownlinkSpectrumChannel()))
        {
            scoped->SetReceiverSelector(PeekPointer(aggregator), aggregator);
        }
    }
}

void
IotCityHelper::InstallPower()
{
    const ScenarioConfig& cfg = m_cfg;
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
    powerHelper.SetModelAttribute("PreambleTxPower", DoubleValue(m_uePcmaxDbm));
    m_powerModels = powerHelper.Install(m_ueDevs);
    // Random access on wake-ups from idle/PSM (random-access.h): one PRACH per gateway cell.
    // Only modes that leave the connection use it, so always_on and drx create no random
    // variables (always_on stays bit-identical).
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
        m_raChannels = raHelper.Install(m_enbDevs);
        // fixed streams, far from any other (nothing else in the scenario assigns streams):
        // a cell's preamble choices and backoffs depend only on the seed and its sensors
        raHelper.AssignStreams(m_raChannels, kRandomAccessStreamBase);
        powerHelper.SetRandomAccess(m_powerModels, m_raChannels, m_planned);
    }
    m_stats->energySoFarJ = [this](uint32_t i) { return m_powerModels[i]->EnergySoFarJ(); };
    m_sleeping = cfg.powerMode != "always_on";
    if (m_sleeping)
    {
        // Installed after the control-frame aggregator, so it runs first (ns-3 prepends):
        // nothing else does work for a sleeping sensor.
        powerHelper.InstallFilter(m_lte->GetDownlinkSpectrumChannel(), m_ueDevs, m_powerModels);
        // and the SRS gate: a sleeping sensor sounds no SRS (TS 36.321 5.7)
        powerHelper.InstallUplinkFilter(m_lte->GetUplinkSpectrumChannel(), m_ueDevs, m_powerModels);
    }
    // and their UE subframe clocks rest while there is nothing to do (ue-clock-gate.h)
    // (any sensor between two busy subframes, when the event queue releases parked clocks' events)
    if (cfg.ueClockGate && (m_sleeping || m_parkWhileAwake))
    {
        m_clockGates = UeClockGateHelper().Install(m_ueDevs, m_powerModels, m_parkWhileAwake);
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
            byGateway[m_planned[i]].push_back(&m_ctx[i]);
        }
        for (uint32_t g = 0; g < cfg.gateways; ++g)
        {
            Simulator::Schedule(at,
                                &ApplySrsPlan,
                                DynamicCast<LteEnbNetDevice>(m_enbDevs.Get(g))->GetRrc(),
                                byGateway[g],
                                m_srsBlock[g],
                                100);
        }
    }

    // RLC entities exist only once a data radio bearer is set up: connect each
    // sensor's RLC drop trace when its DRB is created.
    for (uint32_t i = 0; i < cfg.sensors; ++i)
    {
        DynamicCast<LteUeNetDevice>(m_ueDevs.Get(i))
            ->GetRrc()
            ->TraceConnectWithoutContext(
                "DrbCreated",
                MakeBoundCallback(&OnDrbCreated,
                                  &m_ctx[i],
                                  DynamicCast<LteUeNetDevice>(m_ueDevs.Get(i))->GetRrc()));
    }
}

void
IotCityHelper::InstallApps()
{
    const ScenarioConfig& cfg = m_cfg;
    m_traffic.ulActivity = cfg.ulActivity;
    m_traffic.reportPeriodS = cfg.reportPeriodS;
    m_traffic.eventRateHz = cfg.eventRateHz;
    m_traffic.accessSpreadS = cfg.accessSpreadS;
    m_traffic.synchronizedPeriods = cfg.synchronizedPeriods;
    m_traffic.onMeanS = cfg.onMeanS;
    m_traffic.paretoShape = cfg.paretoShape;
    m_traffic.payloadMinBytes = cfg.payloadMinBytes;
    m_traffic.payloadMaxBytes = cfg.payloadMaxBytes;
    m_traffic.deadlineMs = cfg.deadlineMs;
    m_traffic.stopS = cfg.warmupS + cfg.durationS;
    m_endS = cfg.warmupS + cfg.durationS + cfg.drainS;

    Ptr<CityServerApp> server = CreateObject<CityServerApp>();
    server->Setup(kServerPort, m_traffic, m_stats);
    m_serverNodes.Get(0)->AddApplication(server);
    server->SetStartTime(Seconds(0));
    server->SetStopTime(Seconds(m_endS));
    for (uint32_t i = 0; i < cfg.sensors; ++i)
    {
        if (!m_inCoverage[i])
        {
            continue; // out of coverage: never attached, sends nothing (reported unreachable)
        }
        Ptr<SensorApp> app = CreateObject<SensorApp>();
        app->Setup(i, InetSocketAddress(m_serverAddr, kServerPort), m_traffic, m_stats);
        if (m_sleeping)
        {
            Ptr<SensorPowerModel> model = m_powerModels[i];
            app->SetUplinkGate([model](std::function<void(bool)> resume) {
                return model->RequestUplink(std::move(resume));
            });
        }
        m_ueNodes.Get(i)->AddApplication(app);
        app->SetStartTime(Seconds(cfg.warmupS));
        app->SetStopTime(Seconds(m_endS));
    }
}

void
IotCityHelper::InstallBridge(const IotCityBridgeOptions& options)
{
    TwinBridgeHelper bridgeHelper;
    bridgeHelper.SetAttribute("Period", TimeValue(Seconds(m_cfg.periodS)));
    bridgeHelper.SetAttribute("TwinningRate", DoubleValue(m_cfg.twinningRate));
    bridgeHelper.SetAttribute("SampleSeed", UintegerValue(m_cfg.seed));
    bridgeHelper.SetAttribute("PublishTruth", BooleanValue(options.truth));
    bridgeHelper.SetAttribute("Hold", BooleanValue(options.hold));
    bridgeHelper.SetAttribute("HoldTimeout", DoubleValue(options.holdTimeoutS));
    m_bridge = bridgeHelper.Create(options.pub, options.cmd, options.runId);
    InstallIotCityTwin(*m_bridge, m_cfg, m_stats, m_enbDevs);
    m_bridge->Start(Seconds(m_endS));
}

RunInfo
IotCityHelper::Run(std::chrono::steady_clock::time_point programStart)
{
    const ScenarioConfig& cfg = m_cfg;
    // Phase clock (result.json run.phases): a marker event at the end of the attach and of the
    // traffic phase reads the wall clock and the event count. The markers change nothing else
    // (they only read), and their own events are not counted.
    RunInfo info;
    const auto t0 = std::chrono::steady_clock::now();
    info.setupWallS = std::chrono::duration<double>(t0 - programStart).count();
    const double phaseEndS[] = {cfg.warmupS, cfg.warmupS + cfg.durationS, m_endS};
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
    Simulator::Stop(Seconds(m_endS));
    Simulator::Run();
    const double wallS =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    info.wallS = wallS;
    info.events = Simulator::GetEventCount() - marks.size();
    info.simulatedS = m_endS;
    info.ns3Version = GAIDT_NS3_VERSION;
    info.spectrumChannel = cfg.spectrumChannel;
    AddRunCounters(info);
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
    return info;
}

void
IotCityHelper::AddRunCounters(RunInfo& info) const
{
    if (auto scoped = DynamicCast<CellScopedSpectrumChannel>(m_lte->GetDownlinkSpectrumChannel()))
    {
        info.scopedTransmissions = scoped->GetScopedTransmissions();
    }
    if (auto scoped = DynamicCast<CellScopedSpectrumChannel>(m_lte->GetUplinkSpectrumChannel()))
    {
        info.ulScopedTransmissions = scoped->GetScopedTransmissions();
    }
    info.ueClockGate = !m_clockGates.empty();
    for (uint32_t g = 0; g < m_enbDevs.GetN(); ++g)
    {
        for (const auto& guard :
             UlGrantGuardScheduler::InstalledOn(DynamicCast<LteEnbNetDevice>(m_enbDevs.Get(g))))
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
    for (const auto& ch : m_raChannels)
    {
        info.raCells.push_back(ch->GetCounters());
    }
    for (const auto& gate : m_clockGates)
    {
        info.ueGatedSubframes += gate->GetGatedSubframes();
        info.ueClockParks += gate->GetParks();
    }
}

nlohmann::json
IotCityHelper::Finish(const RunInfo& info, std::vector<uint32_t>& unattached)
{
    unattached.clear();
    for (const SensorStats& s : m_stats->sensors)
    {
        if (!s.attached && m_inCoverage[s.id])
        {
            unattached.push_back(s.id);
        }
    }
    for (uint32_t i = 0; i < m_cfg.sensors; ++i)
    {
        m_powerModels[i]->Finish(Seconds(m_endS), m_stats->sensors[i]);
    }
    nlohmann::json result = BuildResult(m_cfg, *m_stats, info, m_budget);
    if (m_bridge)
    {
        m_bridge->Finish(unattached.empty() ? "ok" : "attach_failed");
        result["bridge"] = m_bridge->Stats();
    }
    Simulator::Destroy();
    return result;
}

} // namespace gaidt
