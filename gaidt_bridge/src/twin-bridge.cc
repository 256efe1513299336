#include "gaidt-bridge/twin-bridge.h"

#include "ns3/simulator.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <numeric>
#include <stdexcept>
#include <zmq.hpp>

namespace gaidt
{

using nlohmann::json;

namespace
{

constexpr int kProtocolVersion = 1;

double
WallNowS()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
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
};

TwinBridge::TwinBridge(const std::string& pubEndpoint, const std::string& cmdEndpoint, const std::string& runId)
    : m_impl(std::make_unique<Impl>()),
      m_runId(runId)
{
    // Never block on exit with unsent messages, and bound memory per peer.
    m_impl->pub.set(zmq::sockopt::linger, 1000);
    m_impl->pub.set(zmq::sockopt::sndhwm, 1000);
    m_impl->pub.set(zmq::sockopt::xpub_verbose, 1);
    try
    {
        m_impl->pub.bind(pubEndpoint);
    }
    catch (const zmq::error_t& e)
    {
        throw std::runtime_error("cannot bind twin PUB socket on '" + pubEndpoint + "': " + e.what());
    }
    if (!cmdEndpoint.empty())
    {
        m_impl->cmd.set(zmq::sockopt::linger, 0);
        m_impl->cmd.set(zmq::sockopt::router_mandatory, 0);
        try
        {
            m_impl->cmd.bind(cmdEndpoint);
        }
        catch (const zmq::error_t& e)
        {
            throw std::runtime_error("cannot bind twin command socket on '" + cmdEndpoint + "': " + e.what());
        }
        m_impl->hasCmd = true;
    }
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
TwinBridge::AddEvent(const std::string& type, const std::string& kind, uint32_t index, json detail)
{
    json ev = {{"type", type},
               {"node", kind + "-" + std::to_string(index)},
               {"sim_time_s", ns3::Simulator::Now().GetSeconds()}};
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
TwinBridge::SendHeaderAndFrames(const std::string& topic,
                                const json& header,
                                const std::vector<std::vector<uint8_t>>& frames)
{
    const std::string h = header.dump();
    const bool more = !frames.empty();
    m_impl->pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    m_impl->pub.send(zmq::buffer(h), more ? zmq::send_flags::sndmore : zmq::send_flags::none);
    m_bytesSent += topic.size() + h.size();
    for (std::size_t i = 0; i < frames.size(); ++i)
    {
        const bool last = i + 1 == frames.size();
        m_impl->pub.send(zmq::buffer(frames[i]), last ? zmq::send_flags::none : zmq::send_flags::sndmore);
        m_bytesSent += frames[i].size();
    }
    m_messages++;
}

void
TwinBridge::Start(ns3::Time period, double twinningRate, uint32_t seed, ns3::Time stop, double subscriberWaitS)
{
    m_period = period;
    m_rate = twinningRate;
    m_rng.seed(seed * 0x9E3779B97F4A7C15ULL + 1);
    m_stop = stop;

    // Wait for a first subscription (XPUB reports it as a message) so that
    // round 1 reaches a subscriber started together with the simulation.
    {
        WallTimer t(m_startupWaitS);
        zmq::pollitem_t item{m_impl->pub.handle(), 0, ZMQ_POLLIN, 0};
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(subscriberWaitS);
        while (m_impl->subscriptions == 0 && std::chrono::steady_clock::now() < deadline)
        {
            zmq::poll(&item, 1, std::chrono::milliseconds(50));
            zmq::message_t msg;
            while (m_impl->pub.recv(msg, zmq::recv_flags::dontwait))
            {
                if (msg.size() > 0 && static_cast<const uint8_t*>(msg.data())[0] == 1)
                {
                    m_impl->subscriptions++;
                }
            }
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
    json hello = {{"v", kProtocolVersion},
                  {"run_id", m_runId},
                  {"seq", m_seq++},
                  {"period_s", period.GetSeconds()},
                  {"twinning_rate", twinningRate},
                  {"sets", sets},
                  {"static", m_static}};
    {
        WallTimer t(m_wallS);
        SendHeaderAndFrames("gaidt.hello", hello, {});
    }
    m_next = ns3::Simulator::Schedule(period, &TwinBridge::Round, this);
}

void
TwinBridge::Round()
{
    {
        WallTimer t(m_wallS);
        m_round++;
        if (m_beforePublish)
        {
            m_beforePublish();
        }
        Publish(false);
        if (m_truth)
        {
            Publish(true);
        }
        PollCommands(false);
        const auto pauseStart = std::chrono::steady_clock::now();
        while (m_paused)
        {
            if (std::chrono::duration<double>(std::chrono::steady_clock::now() - pauseStart).count() >
                m_pauseTimeoutS)
            {
                std::cerr << "gaidt-bridge: pause exceeded " << m_pauseTimeoutS << " s; resuming\n";
                m_paused = false;
                break;
            }
            PollCommands(true);
        }
    }
    if (!m_finished && ns3::Simulator::Now() + m_period <= m_stop)
    {
        m_next = ns3::Simulator::Schedule(m_period, &TwinBridge::Round, this);
    }
}

void
TwinBridge::Publish(bool truth)
{
    json setsHeader = json::array();
    std::vector<std::vector<uint8_t>> frames;
    for (const auto& s : m_sets)
    {
        const uint32_t n = s->m_count();
        std::vector<uint32_t> idx(n);
        std::iota(idx.begin(), idx.end(), 0U);
        if (!truth && s->m_sampled && m_rate < 1.0)
        {
            // Twinning rate: a seeded uniform random subset of exactly
            // round(rate * n) nodes is transferred this round.
            const auto k = static_cast<std::size_t>(std::llround(m_rate * n));
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
    json header = {{"v", kProtocolVersion},
                   {"run_id", m_runId},
                   {"seq", m_seq++},
                   {"round", m_round},
                   {"sim_time_s", ns3::Simulator::Now().GetSeconds()},
                   {"wall_time_s", WallNowS()},
                   {"sets", setsHeader},
                   {"events", truth ? json::array() : m_events}};
    if (!truth)
    {
        m_events = json::array();
    }
    SendHeaderAndFrames(truth ? "gaidt.truth" : "gaidt.snap", header, frames);
}

void
TwinBridge::PollCommands(bool blocking)
{
    // Drain XPUB subscription messages (counts subscribers, keeps the queue short).
    zmq::message_t sub;
    while (m_impl->pub.recv(sub, zmq::recv_flags::dontwait))
    {
        if (sub.size() > 0 && static_cast<const uint8_t*>(sub.data())[0] == 1)
        {
            m_impl->subscriptions++;
        }
    }
    if (!m_impl->hasCmd)
    {
        if (blocking)
        {
            m_paused = false;  // nobody can resume us
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
        json reply;
        if (parts.size() < 2)
        {
            m_badCommands++;
            continue;
        }
        try
        {
            reply = HandleCommand(json::parse(parts.back().to_string()));
        }
        catch (const json::exception& e)
        {
            m_badCommands++;
            reply = {{"ok", false}, {"error", std::string("malformed command: ") + e.what()}};
        }
        reply["sim_time_s"] = ns3::Simulator::Now().GetSeconds();
        reply["round"] = m_round;
        const std::string r = reply.dump();
        m_impl->cmd.send(parts.front(), zmq::send_flags::sndmore);
        // DEALER clients may send an empty delimiter frame; echo it.
        for (std::size_t i = 1; i + 1 < parts.size(); ++i)
        {
            m_impl->cmd.send(parts[i], zmq::send_flags::sndmore);
        }
        m_impl->cmd.send(zmq::buffer(r), zmq::send_flags::dontwait);
    }
}

json
TwinBridge::HandleCommand(const json& req)
{
    json reply = {{"ok", true}};
    if (req.contains("id"))
    {
        reply["id"] = req["id"];
    }
    const std::string op = req.value("op", "");
    auto fail = [&](const std::string& msg) {
        m_badCommands++;
        reply["ok"] = false;
        reply["error"] = msg;
        return reply;
    };
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
        m_paused = false;
        return reply;
    }
    if (op == "stop")
    {
        m_paused = false;
        m_finished = true;
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
        return fail("unknown op '" + op + "'; allowed: ping, list, get, set, pause, resume, stop");
    }
    const std::string node = req.value("node", "");
    const std::string param = req.value("param", "");
    const std::size_t dash = node.rfind('-');
    if (dash == std::string::npos)
    {
        return fail("node '" + node + "' is not of the form <kind>-<index> or <kind>-*");
    }
    const std::string kind = node.substr(0, dash);
    const std::string which = node.substr(dash + 1);
    NodeSet* set = nullptr;
    for (const auto& s : m_sets)
    {
        if (s->m_kind == kind)
        {
            set = s.get();
        }
    }
    if (!set)
    {
        return fail("unknown node kind '" + kind + "'");
    }
    const NodeSet::Parameter* prm = nullptr;
    for (const auto& p : set->m_params)
    {
        if (p.name == param)
        {
            prm = &p;
        }
    }
    if (!prm)
    {
        std::string allowed;
        for (const auto& p : set->m_params)
        {
            allowed += (allowed.empty() ? "" : ", ") + p.name;
        }
        return fail("unknown parameter '" + param + "' for " + kind + "; allowed: " + allowed);
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
        char* end = nullptr;
        const unsigned long v = std::strtoul(which.c_str(), &end, 10);
        if (which.empty() || *end != '\0' || v >= n)
        {
            return fail("node '" + node + "' does not exist (" + kind + " indices are 0.." + std::to_string(n - 1) + ")");
        }
        targets.push_back(static_cast<uint32_t>(v));
    }
    if (op == "get")
    {
        json values = json::array();
        for (uint32_t i : targets)
        {
            values.push_back(prm->get(i));
        }
        reply["value"] = targets.size() == 1 && which != "*" ? values[0] : values;
        return reply;
    }
    if (!req.contains("value") || !req["value"].is_number())
    {
        return fail("set needs a numeric 'value'");
    }
    const double value = req["value"].get<double>();
    if (prm->check)
    {
        const std::string err = prm->check(value);
        if (!err.empty())
        {
            return fail("parameter '" + param + "' = " + std::to_string(value) + ": " + err);
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
    json end = {{"v", kProtocolVersion},
                {"run_id", m_runId},
                {"seq", m_seq++},
                {"round", m_round},
                {"sim_time_s", ns3::Simulator::Now().GetSeconds()},
                {"status", status}};
    SendHeaderAndFrames("gaidt.end", end, {});
    m_finished = true;
}

json
TwinBridge::Stats() const
{
    return {{"rounds", m_round},
            {"messages", m_messages},
            {"bytes_sent", m_bytesSent},
            {"commands", m_commands},
            {"bad_commands", m_badCommands},
            {"subscriptions", m_impl->subscriptions},
            {"stopped_by_command", m_finished && ns3::Simulator::Now() < m_stop},
            {"wall_s", m_wallS},
            {"startup_wait_s", m_startupWaitS}};
}

} // namespace gaidt
