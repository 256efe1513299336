// iot-city-helper.h: builds the IoT city of one resolved scenario config on ns-3, runs it and
// collects its result.
//
// The order in which Build() creates ns-3 objects, sets defaults and connects traces is part of
// the results (ns-3's random streams and same-time event order follow it): the always_on golden
// test (tests/test_power_saving.py) and the identity tests hold it bit for bit.
#ifndef GAIDT_IOT_CITY_HELPER_H
#define GAIDT_IOT_CITY_HELPER_H

#include "gaidt-bridge/twin-bridge.h"
#include "helper/result-writer.h"
#include "helper/scenario-config.h"
#include "model/fast/ue-clock-gate.h"
#include "model/iot-apps.h"
#include "model/iot-stats.h"
#include "model/random-access.h"
#include "model/sensor-power.h"
#include "model/sensor-status.h"
#include "model/topology.h"
#include "model/uplink-monitor.h"

#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address.h"
#include "ns3/lte-enb-rrc.h"
#include "ns3/lte-helper.h"
#include "ns3/lte-ue-rrc.h"
#include "ns3/net-device-container.h"
#include "ns3/node-container.h"
#include "ns3/point-to-point-epc-helper.h"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gaidt
{

/** Options of the twin bridge (gaidt_bridge/PROTOCOL.md); an empty pub endpoint: no bridge. */
struct IotCityBridgeOptions
{
    std::string pub;        ///< endpoint the twin PUB socket binds
    std::string cmd;        ///< endpoint the twin command (ROUTER) socket binds
    std::string runId;      ///< run identifier carried in every bridge message
    bool truth = false;     ///< also publish every node's state each round
    bool hold = false;      ///< start paused until a client resumes
    double holdTimeoutS{0}; ///< wall seconds a hold waits for resume
};

/**
 * Builds, runs and reports one IoT city (ns3-scenarios/README.md): gateways (eNBs) and sensors
 * (UEs) on an ns-3 LTE+EPC network, a city server behind the PGW, sensor and server
 * applications, the energy model, and optionally the twin bridge.
 *
 * Use once per process: Build(), then optionally InstallBridge(), Run(), Finish().
 * The helper owns what the simulation's callbacks point to, so it must outlive the run and is
 * neither copied nor moved.
 */
class IotCityHelper
{
  public:
    /**
     * Checks the config fields the scenario maps to ns-3 types (network.scheduler,
     * traffic.service, radio). Creates no ns-3 object.
     * \throws ConfigError naming the field, its value and what is allowed
     */
    explicit IotCityHelper(const ScenarioConfig& cfg);
    IotCityHelper(const IotCityHelper&) = delete;
    IotCityHelper& operator=(const IotCityHelper&) = delete;

    /**
     * Seeds ns-3, picks the event queue, sets the ns-3 defaults of the config, and creates the
     * whole city up to its applications.
     * \throws ConfigError when no sensor is within reach of any gateway
     */
    void Build();

    /**
     * Creates the twin bridge on the built city; it runs until the end of the run.
     * \throws std::exception on a bridge error (e.g. an endpoint that cannot be bound)
     */
    void InstallBridge(const IotCityBridgeOptions& options);

    /**
     * Runs the simulation to its end (warm-up + duration + drain) and returns the run's facts
     * (wall time per phase, events, acceleration and Cat-M1 counters).
     * \param programStart when the program started (for the set-up wall time)
     */
    RunInfo Run(std::chrono::steady_clock::time_point programStart);

    /**
     * Closes the energy accounts, builds result.json, finishes the bridge and destroys the
     * simulator.
     * \param info what Run() returned
     * \param[out] unattached the in-coverage sensors that never attached (a failed run)
     */
    nlohmann::json Finish(const RunInfo& info, std::vector<uint32_t>& unattached);

    /** The resolved config this city was built from. */
    const ScenarioConfig& GetConfig() const;

  private:
    /** Per-sensor context handed to the sensor's trace callbacks. */
    struct SensorCtx
    {
        uint32_t index;
        uint32_t nodeId;
        IotStats* stats;
        const std::map<uint16_t, uint32_t>* cellToGateway;
        UplinkMonitor* monitor;
        uint16_t rnti = 0; // set on connection
    };

    static void ApplySrsPlan(ns3::Ptr<ns3::LteEnbRrc> rrc,
                             std::vector<SensorCtx*> sensors,
                             std::vector<uint16_t> block,
                             int retries);
    static void OnConnectionEstablished(SensorCtx* ctx,
                                        uint64_t imsi,
                                        uint16_t cellId,
                                        uint16_t rnti);
    static void OnRsrpSinr(SensorCtx* ctx,
                           uint16_t cellId,
                           uint16_t rnti,
                           double rsrpW,
                           double sinrLinear,
                           uint8_t componentCarrierId);
    static void OnDrbCreated(SensorCtx* ctx,
                             ns3::Ptr<ns3::LteUeRrc> rrc,
                             uint64_t imsi,
                             uint16_t cellId,
                             uint16_t rnti,
                             uint8_t lcid);

    void SetUpSimulator();   // seed, event queue, ns-3 defaults
    void CreateLte();        // LteHelper, EPC, pathloss, MAC scheduler, eNB attributes
    void CreateCityServer(); // the server behind the PGW
    void PlaceNodes();       // positions, nodes, mobility
    void InstallRadio();     // eNB/UE devices, coverage, SRS plan, spectrum filters, attach
    void InstallPower();     // sensor power models, random access, clock gates, SRS plan events
    void InstallApps();      // sensor and server applications
    void AddRunCounters(RunInfo& info) const;

    ScenarioConfig m_cfg;
    std::string m_schedulerTid;
    TrafficParams m_traffic;
    bool m_parkWhileAwake = false;
    double m_uePcmaxDbm = 0;
    double m_endS = 0;

    ns3::Ptr<ns3::LteHelper> m_lte;
    ns3::Ptr<ns3::PointToPointEpcHelper> m_epc;
    ns3::NodeContainer m_serverNodes;
    ns3::NodeContainer m_enbNodes;
    ns3::NodeContainer m_ueNodes;
    ns3::NetDeviceContainer m_enbDevs;
    ns3::NetDeviceContainer m_ueDevs;
    ns3::Ipv4Address m_serverAddr;
    std::unique_ptr<ns3::InternetStackHelper> m_internet; // made where the scenario always made it

    std::vector<Point> m_sensorPos;
    std::vector<Point> m_gwPos;
    LinkBudgetModel m_budget;
    std::vector<uint32_t> m_planned;
    std::vector<bool> m_inCoverage;
    std::vector<std::vector<uint16_t>> m_srsBlock;

    std::shared_ptr<IotStats> m_stats;
    std::map<uint16_t, uint32_t> m_cellToGateway;
    std::unique_ptr<UplinkMonitor> m_monitor;
    std::vector<SensorCtx> m_ctx;

    std::vector<ns3::Ptr<SensorPowerModel>> m_powerModels;
    std::vector<ns3::Ptr<RandomAccessChannel>> m_raChannels;
    std::vector<ns3::Ptr<UeClockGate>> m_clockGates;
    bool m_sleeping = false;

    ns3::Ptr<TwinBridge> m_bridge;
};

} // namespace gaidt

#endif
