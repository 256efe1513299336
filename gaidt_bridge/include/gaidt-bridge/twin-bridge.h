// twin-bridge.h: publish twin state from any ns-3 program over ZeroMQ and
// take twin commands back (the paper's P2V link and Telemetry API).
//
// An ns-3 Object (TypeId gaidt::TwinBridge, attributes Period, TwinningRate, SampleSeed,
// PublishTruth, Hold, HoldTimeout, PauseTimeout, SubscriberWait, PubEndpoint, CmdEndpoint, RunId;
// `--PrintAttributes=gaidt::TwinBridge` lists them), installed by its helper. With
// `using namespace ns3;` and, from the program, std::string pub, cmd (endpoints), uint32_t n
// (sensors), std::vector<uint64_t> tx and std::vector<double> period (one per sensor):
//
//   gaidt::TwinBridgeHelper helper;
//   helper.SetAttribute("Period", TimeValue(Seconds(0.1)));
//   helper.SetAttribute("TwinningRate", DoubleValue(0.8));
//   Ptr<gaidt::TwinBridge> bridge = helper.Create(pub, cmd, "run-1");
//   auto& sensors =
//       bridge->AddNodeSet("sensor", "dtmi:gaidt:IoTSensor;1", [n] { return n; }, true);
//   sensors.AddColumn("tx_packets", "packets", [&](uint32_t i) { return double(tx[i]); });
//   sensors.AddParameter(
//       "report_period_s",
//       [&](uint32_t i) { return period[i]; },
//       [&](uint32_t i, double v) { period[i] = v; });
//   bridge->Start(/*stop=*/Seconds(10));
//   Simulator::Stop(Seconds(10));
//   Simulator::Run();
//   bridge->Finish("ok");
//
// ns3-scenarios/examples/cxx-scenario/cxx-scenario.cc holds these lines verbatim and builds out
// of tree (tests/test_custom_scenarios.py checks both).
//
// Every period of simulated time it publishes one snapshot: for each node set,
// the rows of the nodes synced this round (a seeded random fraction
// `twinningRate` of a sampled set, all rows of an unsampled set) as raw
// little-endian float64 columns. Between rounds it never touches the sockets;
// at each round it drains pending commands without blocking. Finish() publishes
// every node's final state in gaidt.end and answers requests still pending
// with "simulation ended".
// gaidt_bridge/PROTOCOL.md is the wire format.
#ifndef GAIDT_BRIDGE_TWIN_BRIDGE_H
#define GAIDT_BRIDGE_TWIN_BRIDGE_H

#include "ns3/attribute.h"
#include "ns3/event-id.h"
#include "ns3/nstime.h"
#include "ns3/object-factory.h"
#include "ns3/object.h"
#include "ns3/ptr.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace gaidt
{

class NodeSet
{
  public:
    using Getter = std::function<double(uint32_t)>;
    using Setter = std::function<void(uint32_t, double)>;

    /** A published column: one float64 per node, with its unit. */
    NodeSet& AddColumn(const std::string& name, const std::string& unit, Getter get);
    /** A parameter that twin commands may get and set (validated by `check`). */
    NodeSet& AddParameter(const std::string& name,
                          Getter get,
                          Setter set,
                          std::function<std::string(double)> check = nullptr);

  private:
    friend class TwinBridge;

    struct Column
    {
        std::string name, unit;
        Getter get;
    };

    struct Parameter
    {
        std::string name;
        Getter get;
        Setter set;
        std::function<std::string(double)> check;
    };

    std::string m_kind, m_model;
    std::function<uint32_t()> m_count;
    bool m_sampled = true;
    std::vector<Column> m_columns;
    std::vector<Parameter> m_params;
};

class TwinBridge : public ns3::Object
{
  public:
    /** The TypeId and its attributes (ns-3's attribute system; see the file comment). */
    static ns3::TypeId GetTypeId();

    /** Sockets are bound by Bind() (or Start()), on the PubEndpoint and CmdEndpoint attributes. */
    TwinBridge();
    /**
     * Binds a ZeroMQ XPUB socket on `pubEndpoint` and, if `cmdEndpoint` is
     * not empty, a ROUTER socket on it. Throws std::runtime_error if a bind fails.
     */
    TwinBridge(const std::string& pubEndpoint,
               const std::string& cmdEndpoint,
               const std::string& runId);
    ~TwinBridge() override;

    /** Bind the sockets on the PubEndpoint / CmdEndpoint attributes (once; throws on failure). */
    void Bind();
    TwinBridge(const TwinBridge&) = delete;
    TwinBridge& operator=(const TwinBridge&) = delete;

    /** Register a kind of node; ids are "<kind>-<index>". */
    NodeSet& AddNodeSet(const std::string& kind,
                        const std::string& dtmi,
                        std::function<uint32_t()> count,
                        bool sampledByTwinningRate);

    /**
     * Queue a topology event (join, leave, reattach) for the next snapshot;
     * `simTimeS` is when it happened (negative: now).
     */
    void AddEvent(const std::string& type,
                  const std::string& kind,
                  uint32_t index,
                  nlohmann::json detail = {},
                  double simTimeS = -1);

    /** Called at each round just before the snapshot is taken (flush events here). */
    void SetBeforePublish(std::function<void()> hook);

    /** Static description sent once in the hello message (e.g. the config). */
    void SetStatic(nlohmann::json info);

    /**
     * Start publishing every `period` of simulated time. Waits (wall clock,
     * at most `subscriberWaitS`) for a first subscriber so that round 1 is
     * not lost to ZeroMQ's slow-joiner effect; proceeds without one.
     */
    void Start(ns3::Time period,
               double twinningRate,
               uint32_t seed,
               ns3::Time stop,
               double subscriberWaitS = 5.0);

    /** Start with the attributes' Period, TwinningRate, SampleSeed and SubscriberWait. */
    void Start(ns3::Time stop);

    /**
     * Start held: publish hello (repeated every 0.5 s of wall time while held)
     * and serve commands at round 0 until a client sends `resume`, or until
     * `timeoutS` of wall time have passed (then start anyway, with a warning
     * on stderr). Needs a command endpoint. Call before Start().
     */
    void SetHold(bool hold, double timeoutS = 300.0);

    /**
     * Publish the end-of-run message with every node's final state and the
     * events not yet delivered; answer pending requests "simulation ended".
     * After a stop command the status is "stopped" whatever `status` says.
     */
    void Finish(const std::string& status);

    /** Counters for the result file (messages, bytes, commands, wall time spent). */
    nlohmann::json Stats() const;

    /**
     * Also publish, every round, every node's state on topic gaidt.truth
     * (evaluation only: the ground truth the twin is scored against).
     */
    void SetPublishTruth(bool on);

    /** Seconds a pause may last before the run resumes by itself. */
    void SetPauseTimeout(double seconds);

  private:
    void Round();
    void Publish(bool truth);
    /** Header `sets` entries and frames of every set; sampled sets sampled if `sample`. */
    nlohmann::json BuildSets(bool sample, std::vector<std::vector<uint8_t>>& frames);
    void PollCommands(bool blocking);
    /** Read the XPUB socket's subscription messages (counts twins' subscriptions). */
    void DrainSubscriptions();
    /** Serve commands while paused, at most `timeoutS` of wall time; true if that timed out. */
    bool WaitWhilePaused(double timeoutS, const char* what);
    nlohmann::json HandleCommand(const nlohmann::json& req);
    nlohmann::json HandleFrame(const std::string& frame);
    void SendHeaderAndFrames(const std::string& topic,
                             const nlohmann::json& header,
                             const std::vector<std::vector<uint8_t>>& frames);

    struct Impl;
    std::unique_ptr<Impl> m_impl;
    std::vector<std::unique_ptr<NodeSet>> m_sets;
    std::string m_runId;
    nlohmann::json m_static;
    std::function<void()> m_beforePublish;
    nlohmann::json m_events = nlohmann::json::array();
    ns3::Time m_period;
    ns3::Time m_stop;
    double m_rate = 1;
    uint32_t m_sampleSeed = 1;
    double m_subscriberWaitS = 5.0;
    bool m_bound = false;
    std::mt19937_64 m_rng;
    uint64_t m_seq = 0;
    uint64_t m_round = 0;
    uint64_t m_pauseAtRound = 0; // resume with until_round: pause again after that round (0: never)
    bool m_paused = false;
    bool m_truth = false;
    bool m_finished = false;      // no further rounds (end reached or stop command)
    bool m_stopRequested = false; // a stop command was applied
    bool m_ended = false;         // Finish() ran: every request gets "simulation ended"
    bool m_hold = false;
    double m_holdTimeoutS = 300;
    double m_pauseTimeoutS = 300;
    nlohmann::json m_hello;
    std::string m_pubEndpoint, m_cmdEndpoint;
    ns3::EventId m_next;
    // counters
    uint64_t m_bytesSent = 0;
    uint64_t m_endBytes = 0; // the end message (every node's final state)
    uint64_t m_messages = 0;
    uint64_t m_commands = 0;
    uint64_t m_badCommands = 0;
    uint64_t m_endedReplies = 0;
    double m_wallS = 0;
    double m_startupWaitS = 0;
    double m_heldS = 0;
    bool m_holdTimedOut = false;
};

/**
 * Creates TwinBridge objects with attributes set once for all, the way ns-3 helpers do
 * (TwinBridgeHelper::SetAttribute, then Create per run).
 */
class TwinBridgeHelper
{
  public:
    TwinBridgeHelper();
    /** Set an attribute of every bridge this helper creates (e.g. "TwinningRate"). */
    void SetAttribute(const std::string& name, const ns3::AttributeValue& value);
    /** A bridge bound on the given endpoints (cmd may be empty), carrying `runId`. */
    ns3::Ptr<TwinBridge> Create(const std::string& pubEndpoint,
                                const std::string& cmdEndpoint,
                                const std::string& runId) const;

  private:
    ns3::ObjectFactory m_factory;
};

} // namespace gaidt

#endif
