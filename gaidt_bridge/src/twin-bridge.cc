#include "gaidt-bridge/twin-bridge.h"

#include "ns3/boolean.h"
#include "ns3/double.h"
#include "ns3/log.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <zmq.hpp>

namespace gaidt
{

using nlohmann::json;

namespace
{

constexpr int kProtocolVersion = 1;
// A request frame longer than this gets a "too_large" error reply without being parsed or echoed.
constexpr std::size_t kMaxRequestBytes = 64 * 1024;
// A frame longer than this is refused by ZeroMQ itself (ZMQ_MAXMSGSIZE: the peer is disconnected),
// so a hostile client cannot make the physical twin hold more than this per queued message.
constexpr int64_t kMaxFrameBytes = 64 * 1024 * 1024;
// Queued requests per peer before ZeroMQ stops reading from it (back-pressure, nothing dropped).
constexpr int kCmdRcvHwm = 100;
// Wall seconds between two liveness beats (topic gaidt-beat, PROTOCOL.md "Liveness").
constexpr double kBeatPeriodS = 1.0;
// Characters of a request's `id` echoed in its reply; a longer id is refused (field id).
constexpr std::size_t kMaxIdChars = 256;

double
WallNowS()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class WallTimer
{
  public:
    explicit WallTimer(double& acc)
        : m_acc(acc),
          m_t0(std::chrono::steady_clock::now())
    {
    }

    ~WallTimer()
    {
        m_acc += std::chrono::duration<double>(std::chrono::steady_clock::now() - m_t0).count();
    }

  private:
    double& m_acc;
    std::chrono::steady_clock::time_point m_t0;
};

/** JSON text of a value for an error message (invalid UTF-8 replaced, long values cut). */
std::string
Show(const json& v)
{
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() <= 80 ? s : s.substr(0, 77) + "...";
}

/**
 * An error reply: `error` is one line naming the field, the value and what is
 * allowed; the same three are also given as `field`, `value`, `allowed`.
 */
json
ErrorReply(json reply,
           const std::string& code,
           const std::string& field,
           const json& value,
           const std::string& allowed,
           const std::string& why = "")
{
    reply["ok"] = false;
    reply["code"] = code;
    reply["field"] = field;
    // never echo a large value back: a client could make replies as big as its requests
    const std::string shown = value.dump(-1, ' ', false, json::error_handler_t::replace);
    reply["value"] = shown.size() <= 200 ? value : json(Show(value));
    reply["allowed"] = allowed;
    reply["error"] = "field '" + field + "' = " + Show(value) + (why.empty() ? "" : ": " + why) +
                     "; allowed: " + allowed;
    return reply;
}

} // namespace

// -------------------------------------------------------------------- NodeSet

NodeSet&
NodeSet::AddColumn(const std::string& name, const std::string& unit, Getter get)
{
    m_columns.push_back({name, unit, std::move(get)});
    return *this;
}

NodeSet&
NodeSet::AddParameter(const std::string& name,
                      Getter get,
                      Setter set,
                      std::function<std::string(double)> check)
{
    m_params.push_back({name, std::move(get), std::move(set), std::move(check)});
    return *this;
}

// ----------------------------------------------------------------- TwinBridge

struct TwinBridge::Impl
{
    zmq::context_t ctx{1};
    zmq::socket_t pub{ctx, zmq::socket_type::xpub};
    zmq::socket_t cmd{ctx, zmq::socket_type::router};
    bool hasCmd = false;
    uint64_t subscriptions = 0;
    // every request read is answered (replies) or counted here: its reply could not be queued
    // (the peer left, or never reads and its queue is full) or it carried no routing id
    uint64_t replies = 0;
    uint64_t repliesDropped = 0;
    uint64_t tooLarge = 0;

    // Liveness: a thread publishes gaidt-beat every kBeatPeriodS of wall time, whatever the
    // simulation does; the pub socket is shared with the simulation thread under pubMutex.
    std::mutex pubMutex;
    std::thread beatThread;
    std::mutex beatMutex;
    std::condition_variable beatWake;
    bool beatStop = false;
    std::atomic<uint64_t> round{0};
    std::atomic<uint64_t> beats{0};
    std::string runId;

    void StartBeats(const std::string& id)
    {
        runId = id;
        beatThread = std::thread([this] { BeatLoop(); });
    }

    void StopBeats()
    {
        {
            std::lock_guard<std::mutex> lk(beatMutex);
            beatStop = true;
        }
        beatWake.notify_all();
        if (beatThread.joinable())
        {
            beatThread.join();
        }
    }

    void BeatLoop()
    {
        std::unique_lock<std::mutex> lk(beatMutex);
        while (!beatWake.wait_for(lk, std::chrono::duration<double>(kBeatPeriodS), [this] {
            return beatStop;
        }))
        {
            const json h = {{"v", kProtocolVersion},
                            {"run_id", runId},
                            {"beat", beats.load() + 1},
                            {"round", round.load()},
                            {"wall_time_s", WallNowS()}};
            const std::string text = h.dump(-1, ' ', false, json::error_handler_t::replace);
            const std::string topic = "gaidt-beat";
            std::lock_guard<std::mutex> pl(pubMutex);
            try
            {
                pub.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
                pub.send(zmq::buffer(text), zmq::send_flags::dontwait);
                beats++;
            }
            catch (const zmq::error_t&)
            {
                return; // the socket is closing
            }
        }
    }

    ~Impl()
    {
        StopBeats();
    }
};

NS_LOG_COMPONENT_DEFINE("GaidtTwinBridge");
NS_OBJECT_ENSURE_REGISTERED(TwinBridge);

ns3::TypeId
TwinBridge::GetTypeId()
{
    using namespace ns3;
    static TypeId tid =
        TypeId("gaidt::TwinBridge")
            .SetParent<Object>()
            .SetGroupName("Gaidt")
            .AddConstructor<TwinBridge>()
            .AddAttribute("Period",
                          "Simulated time between two snapshots (the twinning period).",
                          TimeValue(Seconds(0.1)),
                          MakeTimeAccessor(&TwinBridge::m_period),
                          MakeTimeChecker(Seconds(0)))
            .AddAttribute(
                "TwinningRate",
                "Share r of a sampled node set synced each round: round(r x n) nodes, half up.",
                DoubleValue(1.0),
                MakeDoubleAccessor(&TwinBridge::m_rate),
                MakeDoubleChecker<double>(0.0, 1.0))
            .AddAttribute("SampleSeed",
                          "Seed of the twinning-rate sample (the scenario seed); runs other than "
                          "ns-3's RngRun 1 mix the run number in, so --RngRun replicates it too.",
                          UintegerValue(1),
                          MakeUintegerAccessor(&TwinBridge::m_sampleSeed),
                          MakeUintegerChecker<uint32_t>())
            .AddAttribute(
                "PublishTruth",
                "Also publish every node's state each round on gaidt.truth (evaluation only).",
                BooleanValue(false),
                MakeBooleanAccessor(&TwinBridge::m_truth),
                MakeBooleanChecker())
            .AddAttribute(
                "Hold",
                "Start paused at round 0 until a client sends resume (needs CmdEndpoint).",
                BooleanValue(false),
                MakeBooleanAccessor(&TwinBridge::m_hold),
                MakeBooleanChecker())
            .AddAttribute("HoldTimeout",
                          "Wall seconds a Hold waits for resume, then starts anyway.",
                          DoubleValue(300.0),
                          MakeDoubleAccessor(&TwinBridge::m_holdTimeoutS),
                          MakeDoubleChecker<double>(0.0))
            .AddAttribute("PauseTimeout",
                          "Wall seconds a pause may last before the run resumes by itself.",
                          DoubleValue(300.0),
                          MakeDoubleAccessor(&TwinBridge::m_pauseTimeoutS),
                          MakeDoubleChecker<double>(0.0))
            .AddAttribute("SubscriberWait",
                          "Wall seconds Start waits for a first subscriber (ZeroMQ's slow joiner).",
                          DoubleValue(5.0),
                          MakeDoubleAccessor(&TwinBridge::m_subscriberWaitS),
                          MakeDoubleChecker<double>(0.0))
            .AddAttribute(
                "PubEndpoint",
                "ZeroMQ endpoint of the snapshot (XPUB) socket, e.g. tcp://127.0.0.1:5555.",
                StringValue(""),
                MakeStringAccessor(&TwinBridge::m_pubEndpoint),
                MakeStringChecker())
            .AddAttribute("CmdEndpoint",
                          "ZeroMQ endpoint of the command (ROUTER) socket; empty: no commands.",
                          StringValue(""),
                          MakeStringAccessor(&TwinBridge::m_cmdEndpoint),
                          MakeStringChecker())
            .AddAttribute("RunId",
                          "Run identifier carried by every message.",
                          StringValue("run"),
                          MakeStringAccessor(&TwinBridge::m_runId),
                          MakeStringChecker());
    return tid;
}

TwinBridge::TwinBridge()
    : m_impl(std::make_unique<Impl>())
{
}

TwinBridge::TwinBridge(const std::string& pubEndpoint,
                       const std::string& cmdEndpoint,
                       const std::string& runId)
    : m_impl(std::make_unique<Impl>()),
      m_runId(runId),
      m_pubEndpoint(pubEndpoint),
      m_cmdEndpoint(cmdEndpoint)
{
    Bind();
}

void
TwinBridge::Bind()
{
    if (m_bound)
    {
        return;
    }
    const std::string& pubEndpoint = m_pubEndpoint;
    const std::string& cmdEndpoint = m_cmdEndpoint;
    if (pubEndpoint.empty())
    {
        throw std::runtime_error("the twin bridge needs a PubEndpoint");
    }

    // Never block on exit with unsent messages, and bound memory per peer.
    m_impl->pub.set(zmq::sockopt::linger, 1000);
    m_impl->pub.set(zmq::sockopt::sndhwm, 1000);
    m_impl->pub.set(zmq::sockopt::xpub_verbose, 1);
    m_impl->cmd.set(zmq::sockopt::maxmsgsize, kMaxFrameBytes);
    m_impl->cmd.set(zmq::sockopt::rcvhwm, kCmdRcvHwm);
    try
    {
        m_impl->pub.bind(pubEndpoint);
    }
    catch (const zmq::error_t& e)
    {
        throw std::runtime_error("cannot bind twin PUB socket on '" + pubEndpoint +
                                 "': " + e.what());
    }
    if (!cmdEndpoint.empty())
    {
        // Linger so that the last replies ("simulation ended") still leave at exit.
        m_impl->cmd.set(zmq::sockopt::linger, 1000);
        // a reply that cannot be queued fails (and is counted) instead of vanishing silently
        m_impl->cmd.set(zmq::sockopt::router_mandatory, 1);
        try
        {
            m_impl->cmd.bind(cmdEndpoint);
        }
        catch (const zmq::error_t& e)
        {
            throw std::runtime_error("cannot bind twin command socket on '" + cmdEndpoint +
                                     "': " + e.what());
        }
        m_impl->hasCmd = true;
    }
    m_bound = true;
    m_impl->StartBeats(m_runId);
}

TwinBridge::~TwinBridge() = default;

NodeSet&
TwinBridge::AddNodeSet(const std::string& kind,
                       const std::string& dtmi,
                       std::function<uint32_t()> count,
                       bool sampledByTwinningRate)
{
    auto set = std::make_unique<NodeSet>();
    set->m_kind = kind;
    set->m_model = dtmi;
    set->m_count = std::move(count);
    set->m_sampled = sampledByTwinningRate;
    m_sets.push_back(std::move(set));
    return *m_sets.back();
}

void
TwinBridge::AddEvent(const std::string& type,
                     const std::string& kind,
                     uint32_t index,
                     json detail,
                     double simTimeS)
{
    json ev = {{"type", type},
               {"node", kind + "-" + std::to_string(index)},
               {"sim_time_s", simTimeS >= 0 ? simTimeS : ns3::Simulator::Now().GetSeconds()}};
    if (!detail.is_null())
    {
        ev["detail"] = std::move(detail);
    }
    m_events.push_back(std::move(ev));
}

void
TwinBridge::SetBeforePublish(std::function<void()> hook)
{
    m_beforePublish = std::move(hook);
}

void
TwinBridge::SetStatic(json info)
{
    m_static = std::move(info);
}

void
TwinBridge::SetPublishTruth(bool on)
{
    m_truth = on;
}

void
TwinBridge::SetPauseTimeout(double seconds)
{
    m_pauseTimeoutS = seconds;
}

void
TwinBridge::SetHold(bool hold, double timeoutS)
{
    m_hold = hold;
    m_holdTimeoutS = timeoutS;
}

void
TwinBridge::SendHeaderAndFrames(const std::string& topic,
                                const json& header,
                                const std::vector<std::vector<uint8_t>>& frames)
{
    const std::string h = header.dump(-1, ' ', false, json::error_handler_t::replace);
    const bool more = !frames.empty();
    std::lock_guard<std::mutex> lk(m_impl->pubMutex);
    m_impl->pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    m_impl->pub.send(zmq::buffer(h), more ? zmq::send_flags::sndmore : zmq::send_flags::none);
    m_bytesSent += topic.size() + h.size();
    for (std::size_t i = 0; i < frames.size(); ++i)
    {
        const bool last = i + 1 == frames.size();
        m_impl->pub.send(zmq::buffer(frames[i]),
                         last ? zmq::send_flags::none : zmq::send_flags::sndmore);
        m_bytesSent += frames[i].size();
    }
    m_messages++;
}

void
TwinBridge::Start(ns3::Time stop)
{
    Start(m_period, m_rate, m_sampleSeed, stop, m_subscriberWaitS);
}

void
TwinBridge::Start(ns3::Time period,
                  double twinningRate,
                  uint32_t seed,
                  ns3::Time stop,
                  double subscriberWaitS)
{
    Bind();
    m_period = period;
    m_rate = twinningRate;
    m_sampleSeed = seed;
    // run 1 (ns-3's default) keeps the sample of the scenario seed; other --RngRun values replicate
    // it
    const uint64_t run = ns3::RngSeedManager::GetRun();
    m_rng.seed(seed * 0x9E3779B97F4A7C15ULL + 1 + (run > 1 ? run * 0xBF58476D1CE4E5B9ULL : 0));
    m_stop = stop;
    if (m_hold && !m_impl->hasCmd)
    {
        throw std::runtime_error("hold needs a command endpoint (nobody could send resume)");
    }

    // Wait for a first subscription (XPUB reports it as a message) so that
    // round 1 reaches a subscriber started together with the simulation.
    // A held start needs no wait: its hello repeats until a client resumes.
    if (!m_hold)
    {
        WallTimer t(m_startupWaitS);
        zmq::pollitem_t item{m_impl->pub.handle(), 0, ZMQ_POLLIN, 0};
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(subscriberWaitS);
        while (m_impl->subscriptions == 0 && std::chrono::steady_clock::now() < deadline)
        {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            DrainSubscriptions();
        }
    }

    json sets = json::array();
    for (const auto& s : m_sets)
    {
        json cols = json::array();
        for (const auto& c : s->m_columns)
        {
            cols.push_back({{"name", c.name}, {"unit", c.unit}});
        }
        json params = json::array();
        for (const auto& p : s->m_params)
        {
            params.push_back(p.name);
        }
        sets.push_back({{"kind", s->m_kind},
                        {"model", s->m_model},
                        {"total", s->m_count()},
                        {"sampled", s->m_sampled},
                        {"columns", cols},
                        {"parameters", params}});
    }
    // Round k runs at k * period for every k >= 1 with k * period < stop.
    const int64_t rounds = period.IsStrictlyPositive() && stop.IsStrictlyPositive()
                               ? (stop.GetTimeStep() - 1) / period.GetTimeStep()
                               : 0;
    m_hello = {{"v", kProtocolVersion},
               {"run_id", m_runId},
               {"seq", m_seq++},
               {"period_s", period.GetSeconds()},
               {"end_time_s", stop.GetSeconds()},
               {"rounds", rounds},
               {"twinning_rate", twinningRate},
               {"held", m_hold},
               {"hold_timeout_s", m_hold ? json(m_holdTimeoutS) : json(nullptr)},
               {"pause_timeout_s", m_pauseTimeoutS},
               {"sets", sets},
               {"static", m_static}};
    {
        WallTimer t(m_wallS);
        SendHeaderAndFrames("gaidt.hello", m_hello, {});
    }
    if (m_hold)
    {
        WallTimer t(m_heldS);
        m_paused = true;
        m_holdTimedOut = WaitWhilePaused(m_holdTimeoutS, "hold");
    }
    if (!m_stopRequested)
    {
        m_next = ns3::Simulator::Schedule(period, &TwinBridge::Round, this);
    }
}

bool
TwinBridge::WaitWhilePaused(double timeoutS, const char* what)
{
    const auto start = std::chrono::steady_clock::now();
    auto lastHello = start;
    while (m_paused)
    {
        const auto now = std::chrono::steady_clock::now();
        if (std::chrono::duration<double>(now - start).count() > timeoutS)
        {
            NS_LOG_WARN("gaidt-bridge: " << what << " exceeded " << timeoutS
                                         << " s without resume; resuming");
            m_paused = false;
            return true;
        }
        if (m_round == 0 && std::chrono::duration<double>(now - lastHello).count() >= 0.5)
        {
            // Held at start: repeat hello (same seq) so a subscriber knows
            // its subscription is live before it sends resume.
            SendHeaderAndFrames("gaidt.hello", m_hello, {});
            lastHello = now;
        }
        PollCommands(true);
    }
    return false;
}

void
TwinBridge::Round()
{
    {
        WallTimer t(m_wallS);
        m_round++;
        m_impl->round = m_round;
        if (m_beforePublish)
        {
            m_beforePublish();
        }
        Publish(false);
        if (m_truth)
        {
            Publish(true);
        }
        if (m_pauseAtRound != 0 && m_round >= m_pauseAtRound)
        {
            m_pauseAtRound = 0;
            m_paused = true;
        }
        PollCommands(false);
        WaitWhilePaused(m_pauseTimeoutS, "pause");
    }
    if (!m_finished && ns3::Simulator::Now() + m_period <= m_stop)
    {
        m_next = ns3::Simulator::Schedule(m_period, &TwinBridge::Round, this);
    }
}

json
TwinBridge::BuildSets(bool sample, std::vector<std::vector<uint8_t>>& frames)
{
    json setsHeader = json::array();
    for (const auto& s : m_sets)
    {
        const uint32_t n = s->m_count();
        std::vector<uint32_t> idx(n);
        std::iota(idx.begin(), idx.end(), 0U);
        if (sample && s->m_sampled && m_rate < 1.0)
        {
            // Twinning rate: a seeded uniform random subset of exactly
            // round(rate * n) nodes is transferred this round, rounding
            // half up (llround; PROTOCOL.md, "Twinning rate").
            const auto k =
                std::min<std::size_t>(n, static_cast<std::size_t>(std::llround(m_rate * n)));
            std::shuffle(idx.begin(), idx.end(), m_rng);
            idx.resize(k);
            std::sort(idx.begin(), idx.end());
        }
        std::vector<uint8_t> idxFrame(idx.size() * sizeof(uint32_t));
        std::memcpy(idxFrame.data(), idx.data(), idxFrame.size());
        frames.push_back(std::move(idxFrame));
        json names = json::array();
        json units = json::array();
        for (const auto& c : s->m_columns)
        {
            std::vector<double> col(idx.size());
            for (std::size_t r = 0; r < idx.size(); ++r)
            {
                col[r] = c.get(idx[r]);
            }
            std::vector<uint8_t> f(col.size() * sizeof(double));
            std::memcpy(f.data(), col.data(), f.size());
            frames.push_back(std::move(f));
            names.push_back(c.name);
            units.push_back(c.unit);
        }
        setsHeader.push_back({{"kind", s->m_kind},
                              {"model", s->m_model},
                              {"total", n},
                              {"rows", idx.size()},
                              {"columns", names},
                              {"units", units}});
    }
    return setsHeader;
}

void
TwinBridge::Publish(bool truth)
{
    std::vector<std::vector<uint8_t>> frames;
    json sets = BuildSets(!truth, frames);
    json header = {{"v", kProtocolVersion},
                   {"run_id", m_runId},
                   {"seq", m_seq++},
                   {"round", m_round},
                   {"sim_time_s", ns3::Simulator::Now().GetSeconds()},
                   {"wall_time_s", WallNowS()},
                   {"sets", sets},
                   {"events", truth ? json::array() : m_events}};
    if (!truth)
    {
        m_events = json::array();
    }
    SendHeaderAndFrames(truth ? "gaidt.truth" : "gaidt.snap", header, frames);
}

void
TwinBridge::DrainSubscriptions()
{
    std::lock_guard<std::mutex> lk(m_impl->pubMutex);
    zmq::message_t sub;
    while (m_impl->pub.recv(sub, zmq::recv_flags::dontwait))
    {
        // a subscription to the beat topic alone is not a twin's subscription
        const auto* d = static_cast<const char*>(sub.data());
        if (sub.size() > 0 && d[0] == 1 && std::string(d + 1, sub.size() - 1) != "gaidt-beat")
        {
            m_impl->subscriptions++;
        }
    }
}

void
TwinBridge::PollCommands(bool blocking)
{
    // Drain XPUB subscription messages (counts subscribers, keeps the queue short).
    DrainSubscriptions();
    if (!m_impl->hasCmd)
    {
        if (blocking)
        {
            m_paused = false; // nobody can resume us
        }
        return;
    }
    if (blocking)
    {
        zmq::pollitem_t item{m_impl->cmd.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(100));
    }
    for (;;)
    {
        std::vector<zmq::message_t> parts;
        zmq::message_t part;
        if (!m_impl->cmd.recv(part, zmq::recv_flags::dontwait))
        {
            return;
        }
        parts.push_back(std::move(part));
        while (parts.back().more())
        {
            zmq::message_t p;
            if (!m_impl->cmd.recv(p, zmq::recv_flags::dontwait))
            {
                break;
            }
            parts.push_back(std::move(p));
        }
        m_commands++;
        if (parts.size() < 2)
        {
            m_badCommands++; // no routing id: nobody to answer
            m_impl->repliesDropped++;
            continue;
        }
        json reply;
        if (parts.back().size() > kMaxRequestBytes)
        {
            // never parsed, never echoed: its size is all the reply says about it
            m_impl->tooLarge++;
            reply =
                ErrorReply(json::object(),
                           "too_large",
                           "(request)",
                           json(std::to_string(parts.back().size()) + " bytes"),
                           "a request of at most " + std::to_string(kMaxRequestBytes) + " bytes",
                           "too large");
        }
        else
        {
            reply = HandleFrame(parts.back().to_string());
        }
        parts.back().rebuild(0); // free a large request now, not after the reply
        if (!reply["ok"].get<bool>())
        {
            m_badCommands++;
        }
        reply["sim_time_s"] = ns3::Simulator::Now().GetSeconds();
        reply["round"] = m_round;
        const std::string r = reply.dump(-1, ' ', false, json::error_handler_t::replace);
        try
        {
            // ROUTER_MANDATORY: fails at once (EAGAIN: the peer's queue is full; EHOSTUNREACH:
            // it left) instead of dropping silently; a multipart accepted whole leaves whole
            if (!m_impl->cmd.send(parts.front(),
                                  zmq::send_flags::sndmore | zmq::send_flags::dontwait))
            {
                m_impl->repliesDropped++;
                continue;
            }
            // DEALER clients may send an empty delimiter frame; echo it.
            for (std::size_t i = 1; i + 1 < parts.size(); ++i)
            {
                m_impl->cmd.send(parts[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
            }
            m_impl->cmd.send(zmq::buffer(r), zmq::send_flags::dontwait);
            m_impl->replies++;
        }
        catch (const zmq::error_t&)
        {
            m_impl->repliesDropped++;
        }
    }
}

json
TwinBridge::HandleFrame(const std::string& frame)
{
    const std::string example = R"(a JSON object such as {"id": 1, "op": "ping"})";
    json req;
    try
    {
        req = json::parse(frame, nullptr, /*allow_exceptions=*/false);
    }
    catch (const std::exception&)
    {
        req = json::value_t::discarded; // e.g. nesting too deep for the parser
    }
    if (req.is_discarded())
    {
        // Show the raw bytes as a (lossy) string; never parse them further.
        return ErrorReply(json::object(),
                          "malformed",
                          "(request)",
                          frame.substr(0, 80),
                          example,
                          "not JSON");
    }
    if (!req.is_object())
    {
        return ErrorReply(json::object(),
                          "malformed",
                          "(request)",
                          req,
                          example,
                          "not a JSON object");
    }
    json reply = json::object();
    if (req.contains("id"))
    {
        if (req["id"].dump(-1, ' ', false, json::error_handler_t::replace).size() > kMaxIdChars)
        {
            return ErrorReply(reply,
                              "invalid",
                              "id",
                              req["id"],
                              "a string or number of at most " + std::to_string(kMaxIdChars) +
                                  " characters as JSON",
                              "too long");
        }
        reply["id"] = req["id"];
    }
    if (m_ended)
    {
        m_endedReplies++;
        return ErrorReply(reply,
                          "ended",
                          "op",
                          req.contains("op") ? req["op"] : json(nullptr),
                          "no request: the simulation ended before it was applied",
                          "simulation ended");
    }
    try
    {
        json out = HandleCommand(req);
        for (auto it = reply.begin(); it != reply.end(); ++it)
        {
            out[it.key()] = it.value();
        }
        return out;
    }
    catch (const std::exception& e)
    {
        // Not expected (HandleCommand checks every field); still keep the id.
        return ErrorReply(reply, "invalid", "(request)", req, example, e.what());
    }
}

json
TwinBridge::HandleCommand(const json& req)
{
    const std::string ops = "ping, list, get, set, pause, resume, stop";
    json reply = {{"ok", true}};
    if (!req.contains("op"))
    {
        return ErrorReply(reply, "invalid", "op", nullptr, ops, "missing");
    }
    if (!req["op"].is_string())
    {
        return ErrorReply(reply, "invalid", "op", req["op"], ops, "not a string");
    }
    const std::string op = req["op"].get<std::string>();
    if (op == "ping")
    {
        return reply;
    }
    if (op == "pause")
    {
        m_paused = true;
        return reply;
    }
    if (op == "resume")
    {
        if (req.contains("until_round"))
        {
            const json& u = req["until_round"];
            const std::string allowed =
                "an integer > the current round (" + std::to_string(m_round) + ")";
            if (!u.is_number_integer() || u.get<int64_t>() <= int64_t(m_round))
            {
                return ErrorReply(reply, "invalid", "until_round", u, allowed);
            }
            m_pauseAtRound = u.get<uint64_t>();
        }
        m_paused = false;
        return reply;
    }
    if (op == "stop")
    {
        m_paused = false;
        m_finished = true;
        m_stopRequested = true;
        m_ended = true; // later requests: "simulation ended"
        reply["stopped"] = true;
        ns3::Simulator::Stop();
        return reply;
    }
    if (op == "list")
    {
        json sets = json::object();
        for (const auto& s : m_sets)
        {
            json params = json::array();
            for (const auto& p : s->m_params)
            {
                params.push_back(p.name);
            }
            sets[s->m_kind] = {{"count", s->m_count()}, {"parameters", params}};
        }
        reply["sets"] = sets;
        return reply;
    }
    if (op != "get" && op != "set")
    {
        return ErrorReply(reply, "invalid", "op", req["op"], ops, "unknown op");
    }

    std::string nodesAllowed;
    for (const auto& s : m_sets)
    {
        const uint32_t n = s->m_count();
        nodesAllowed += (nodesAllowed.empty() ? "" : ", ") + s->m_kind + "-0 .. " + s->m_kind +
                        "-" + std::to_string(n == 0 ? 0 : n - 1) + ", " + s->m_kind + "-*";
    }
    if (!req.contains("node") || !req["node"].is_string())
    {
        return ErrorReply(reply,
                          "invalid",
                          "node",
                          req.contains("node") ? req["node"] : json(nullptr),
                          nodesAllowed,
                          req.contains("node") ? "not a string" : "missing");
    }
    const std::string node = req["node"].get<std::string>();
    const std::size_t dash = node.rfind('-');
    const std::string kind = dash == std::string::npos ? node : node.substr(0, dash);
    const std::string which = dash == std::string::npos ? "" : node.substr(dash + 1);
    NodeSet* set = nullptr;
    for (const auto& s : m_sets)
    {
        if (s->m_kind == kind)
        {
            set = s.get();
        }
    }
    if (!set || dash == std::string::npos)
    {
        return ErrorReply(reply, "invalid", "node", node, nodesAllowed, "no such node");
    }
    const uint32_t n = set->m_count();
    std::vector<uint32_t> targets;
    if (which == "*")
    {
        targets.resize(n);
        std::iota(targets.begin(), targets.end(), 0U);
    }
    else
    {
        const bool digits =
            !which.empty() && which.size() <= 9 &&
            std::all_of(which.begin(), which.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits || std::stoul(which) >= n)
        {
            return ErrorReply(reply, "invalid", "node", node, nodesAllowed, "no such node");
        }
        targets.push_back(static_cast<uint32_t>(std::stoul(which)));
    }

    std::string paramsAllowed;
    for (const auto& p : set->m_params)
    {
        paramsAllowed += (paramsAllowed.empty() ? "" : ", ") + p.name;
    }
    paramsAllowed = paramsAllowed.empty()
                        ? "none (" + kind + " has no settable parameter)"
                        : paramsAllowed + " (the settable parameters of " + kind + ")";
    const NodeSet::Parameter* prm = nullptr;
    if (req.contains("param") && req["param"].is_string())
    {
        for (const auto& p : set->m_params)
        {
            if (p.name == req["param"].get<std::string>())
            {
                prm = &p;
            }
        }
    }
    if (!prm)
    {
        const bool present = req.contains("param");
        return ErrorReply(reply,
                          "invalid",
                          "param",
                          present ? req["param"] : json(nullptr),
                          paramsAllowed,
                          !present                    ? "missing"
                          : !req["param"].is_string() ? "not a string"
                                                      : "not a settable parameter of " + kind);
    }
    if (op == "get")
    {
        json values = json::array();
        for (uint32_t i : targets)
        {
            values.push_back(prm->get(i));
        }
        reply["value"] = which != "*" ? values[0] : values;
        return reply;
    }
    // What the parameter's check allows, for error messages (its text after "allowed: ").
    auto allowedOf = [prm](double probe) {
        std::string a = prm->check ? prm->check(probe) : "";
        const std::string prefix = "allowed: ";
        return a.rfind(prefix, 0) == 0 ? a.substr(prefix.size()) : (a.empty() ? "a number" : a);
    };
    if (!req.contains("value") || !req["value"].is_number())
    {
        const bool present = req.contains("value");
        return ErrorReply(reply,
                          "invalid",
                          "value",
                          present ? req["value"] : json(nullptr),
                          "a number: " + allowedOf(std::numeric_limits<double>::quiet_NaN()),
                          present ? "not a number" : "missing");
    }
    const double value = req["value"].get<double>();
    if (prm->check)
    {
        const std::string err = prm->check(value);
        if (!err.empty())
        {
            return ErrorReply(reply,
                              "invalid",
                              "value",
                              req["value"],
                              allowedOf(value),
                              "out of range for " + prm->name);
        }
    }
    for (uint32_t i : targets)
    {
        prm->set(i, value);
    }
    reply["applied"] = targets.size();
    return reply;
}

void
TwinBridge::Finish(const std::string& status)
{
    WallTimer t(m_wallS);
    m_next.Cancel();
    m_finished = true;
    m_paused = false;
    m_ended = true;
    PollCommands(false); // requests that came after the last round: "simulation ended"
    if (m_beforePublish)
    {
        m_beforePublish(); // flush events not yet delivered (e.g. a leave at the last round)
    }
    std::vector<std::vector<uint8_t>> frames;
    json sets = BuildSets(false, frames);
    json end = {{"v", kProtocolVersion},
                {"run_id", m_runId},
                {"seq", m_seq++},
                {"round", m_round},
                {"sim_time_s", ns3::Simulator::Now().GetSeconds()},
                {"wall_time_s", WallNowS()},
                {"status", m_stopRequested ? std::string("stopped") : status},
                {"sets", sets},
                {"events", m_events}};
    m_events = json::array();
    const uint64_t before = m_bytesSent;
    SendHeaderAndFrames("gaidt.end", end, frames);
    m_endBytes = m_bytesSent - before;
    PollCommands(false);
}

json
TwinBridge::Stats() const
{
    return {{"run_id", m_runId},
            {"pub_endpoint", m_pubEndpoint},
            {"cmd_endpoint", m_cmdEndpoint},
            {"rounds", m_round},
            {"messages", m_messages},
            {"bytes_sent", m_bytesSent},
            {"end_bytes", m_endBytes},
            {"commands", m_commands},
            {"bad_commands", m_badCommands},
            {"ended_replies", m_endedReplies},
            {"replies", m_impl->replies},
            {"replies_dropped", m_impl->repliesDropped},
            {"too_large_requests", m_impl->tooLarge},
            {"beats", m_impl->beats.load()},
            {"subscriptions", m_impl->subscriptions},
            {"stopped_by_command", m_stopRequested},
            {"held", m_hold},
            {"held_s", m_heldS},
            {"hold_timed_out", m_holdTimedOut},
            {"wall_s", m_wallS},
            {"startup_wait_s", m_startupWaitS}};
}

// ----------------------------------------------------------- TwinBridgeHelper

TwinBridgeHelper::TwinBridgeHelper()
{
    m_factory.SetTypeId(TwinBridge::GetTypeId());
}

void
TwinBridgeHelper::SetAttribute(const std::string& name, const ns3::AttributeValue& value)
{
    m_factory.Set(name, value);
}

ns3::Ptr<TwinBridge>
TwinBridgeHelper::Create(const std::string& pubEndpoint,
                         const std::string& cmdEndpoint,
                         const std::string& runId) const
{
    ns3::Ptr<TwinBridge> bridge = m_factory.Create<TwinBridge>();
    bridge->SetAttribute("PubEndpoint", ns3::StringValue(pubEndpoint));
    bridge->SetAttribute("CmdEndpoint", ns3::StringValue(cmdEndpoint));
    bridge->SetAttribute("RunId", ns3::StringValue(runId));
    bridge->Bind();
    return bridge;
}

} // namespace gaidt
