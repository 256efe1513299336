#include "model/random-access.h"

#include "model/sensor-power.h"

#include "ns3/integer.h"
#include "ns3/log.h"
#include "ns3/nstime.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <cmath>

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtRandomAccess");
NS_OBJECT_ENSURE_REGISTERED(RandomAccessChannel);

namespace
{
// TS 36.321 5.1.4: the RA response window starts 3 subframes after the preamble.
const Time kRarWindowStart = MilliSeconds(3);
// TS 36.213 6.1.1: Msg3 goes k1 >= 6 subframes after the RAR carrying its grant.
const Time kMsg3AfterRar = MilliSeconds(6);
} // namespace

TypeId
RandomAccessChannel::GetTypeId()
{
    static TypeId tid =
        TypeId("gaidt::RandomAccessChannel")
            .SetParent<Object>()
            .SetGroupName("Gaidt")
            .AddConstructor<RandomAccessChannel>()
            .AddAttribute("PrachPeriod",
                          "time between PRACH occasions (prach-ConfigIndex, TS 36.211 "
                          "Table 5.7.1-2; index 6: two per 10 ms frame)",
                          TimeValue(MilliSeconds(5)),
                          MakeTimeAccessor(&RandomAccessChannel::m_prachPeriod),
                          MakeTimeChecker(MilliSeconds(1)))
            .AddAttribute("NumberOfRaPreambles",
                          "contention-based preambles per occasion (numberOfRA-Preambles)",
                          UintegerValue(52),
                          MakeUintegerAccessor(&RandomAccessChannel::m_numberOfRaPreambles),
                          MakeUintegerChecker<uint32_t>(1, 64))
            .AddAttribute("PreambleTransMax",
                          "preamble transmissions before the access fails (preambleTransMax)",
                          UintegerValue(10),
                          MakeUintegerAccessor(&RandomAccessChannel::m_preambleTransMax),
                          MakeUintegerChecker<uint32_t>(1, 200))
            .AddAttribute("RaResponseWindowSize",
                          "RA response window, subframes (ra-ResponseWindowSize)",
                          UintegerValue(5),
                          MakeUintegerAccessor(&RandomAccessChannel::m_raResponseWindowSize),
                          MakeUintegerChecker<uint32_t>(1, 10))
            .AddAttribute("RarGrantsPerSubframe",
                          "preambles the gateway can answer per subframe of the response window",
                          UintegerValue(3),
                          MakeUintegerAccessor(&RandomAccessChannel::m_rarGrantsPerSubframe),
                          MakeUintegerChecker<uint32_t>(1, 64))
            .AddAttribute("ContentionResolutionTimer",
                          "mac-ContentionResolutionTimer: from Msg3 to a failed contention "
                          "resolution",
                          TimeValue(MilliSeconds(48)),
                          MakeTimeAccessor(&RandomAccessChannel::m_contentionResolutionTimer),
                          MakeTimeChecker(MilliSeconds(1)))
            .AddAttribute("Msg4Delay",
                          "from Msg3 to the contention resolution (Msg4) of an uncontended access",
                          TimeValue(MilliSeconds(5)),
                          MakeTimeAccessor(&RandomAccessChannel::m_msg4Delay),
                          MakeTimeChecker(MilliSeconds(1)))
            .AddAttribute("Backoff",
                          "backoff indicator: a failed attempt waits uniformly in [0, Backoff] "
                          "before the next occasion (TS 36.321 Table 7.2-1)",
                          TimeValue(MilliSeconds(20)),
                          MakeTimeAccessor(&RandomAccessChannel::m_backoff),
                          MakeTimeChecker(Time(0)));
    return tid;
}

RandomAccessChannel::RandomAccessChannel() = default;

void
RandomAccessChannel::DoDispose()
{
    m_pending.clear();
    m_rng = nullptr;
    Object::DoDispose();
}

int64_t
RandomAccessChannel::AssignStreams(int64_t stream)
{
    // Created here with its stream as a construction attribute: a random variable created
    // with the default (automatic) stream would take the next automatic stream index and
    // shift every random variable created after it (the sensors' traffic, ns-3's own).
    m_rng = CreateObjectWithAttributes<UniformRandomVariable>("Stream", IntegerValue(stream));
    return 1;
}

Time
RandomAccessChannel::NextOccasion(Time t) const
{
    const int64_t p = m_prachPeriod.GetNanoSeconds();
    const int64_t k = (t.GetNanoSeconds() + p - 1) / p;
    return NanoSeconds(k * p);
}

Time
RandomAccessChannel::GetNoContentionProcedureTime() const
{
    return kRarWindowStart + kMsg3AfterRar + m_msg4Delay;
}

void
RandomAccessChannel::StartAccess(Ptr<SensorPowerModel> ue)
{
    NS_LOG_FUNCTION(this);
    Register(Attempt{ue, 0}, Simulator::Now());
}

void
RandomAccessChannel::Register(const Attempt& a, Time earliest)
{
    Time at = NextOccasion(earliest);
    if (at <= m_lastOccasionRun)
    {
        at = NextOccasion(m_lastOccasionRun + NanoSeconds(1)); // this occasion has already run
    }
    auto [it, fresh] = m_pending.try_emplace(at.GetNanoSeconds());
    it->second.push_back(a);
    if (fresh)
    {
        Simulator::Schedule(at - Simulator::Now(), &RandomAccessChannel::RunOccasion, this);
    }
}

void
RandomAccessChannel::RunOccasion()
{
    const Time now = Simulator::Now();
    m_lastOccasionRun = now;
    auto node = m_pending.extract(now.GetNanoSeconds());
    if (node.empty())
    {
        return;
    }
    std::vector<Attempt>& contenders = node.mapped();
    if (!m_rng)
    {
        m_rng = CreateObject<UniformRandomVariable>(); // AssignStreams was not called
    }
    ++m_counters.occasions;
    const double pFree =
        std::pow(1.0 - 1.0 / m_numberOfRaPreambles, static_cast<double>(contenders.size()) - 1);
    // Msg1: each contender picks a preamble (in registration order: deterministic)
    std::map<uint32_t, std::vector<std::size_t>> byPreamble;
    for (std::size_t i = 0; i < contenders.size(); ++i)
    {
        const auto p = static_cast<uint32_t>(m_rng->GetInteger(0, m_numberOfRaPreambles - 1));
        byPreamble[p].push_back(i);
        contenders[i].transmissions++;
        contenders[i].ue->NotifyPreamble();
        ++m_counters.preambles;
        if (contenders[i].transmissions == 1)
        {
            ++m_counters.firstPreambles;
            m_counters.firstCollidedExpected += 1.0 - pFree;
        }
        else
        {
            ++m_counters.retryPreambles;
        }
    }
    // a collision is two or more sensors on one preamble, answered or not
    for (const auto& [preamble, who] : byPreamble)
    {
        if (who.size() > 1)
        {
            m_counters.collided += who.size();
            for (std::size_t i : who)
            {
                m_counters.firstCollided += contenders[i].transmissions == 1;
            }
        }
    }
    NS_LOG_INFO("PRACH occasion at " << now.As(Time::MS) << ": " << contenders.size()
                                     << " preambles, " << byPreamble.size() << " distinct");
    // Msg2: the gateway answers detected preambles in preamble order, up to its capacity
    const uint32_t capacity = m_rarGrantsPerSubframe * m_raResponseWindowSize;
    const Time windowEnd = kRarWindowStart + MilliSeconds(m_raResponseWindowSize);
    uint32_t answered = 0;
    for (const auto& [preamble, who] : byPreamble)
    {
        if (answered >= capacity)
        {
            for (std::size_t i : who)
            {
                m_counters.noRar += who.size() == 1;
                contenders[i].ue->NotifyAttemptFailed(who.size() > 1);
                Simulator::Schedule(windowEnd,
                                    &RandomAccessChannel::OnAttemptFailed,
                                    this,
                                    contenders[i]);
            }
            continue;
        }
        const Time rar = kRarWindowStart + MilliSeconds(answered / m_rarGrantsPerSubframe);
        ++answered;
        const Time msg3 = rar + kMsg3AfterRar;
        for (std::size_t i : who)
        {
            contenders[i].ue->NotifyMsg3();
        }
        if (who.size() == 1)
        {
            ++m_counters.succeeded;
            contenders[who[0]].ue->NotifyContentionResolved(now + msg3 + m_msg4Delay);
            continue;
        }
        NS_LOG_INFO("preamble " << preamble << ": " << who.size() << " sensors collide");
        for (std::size_t i : who)
        {
            contenders[i].ue->NotifyAttemptFailed(true);
            Simulator::Schedule(msg3 + m_contentionResolutionTimer,
                                &RandomAccessChannel::OnAttemptFailed,
                                this,
                                contenders[i]);
        }
    }
}

void
RandomAccessChannel::OnAttemptFailed(Attempt a)
{
    if (a.transmissions >= m_preambleTransMax)
    {
        // PREAMBLE_TRANSMISSION_COUNTER = preambleTransMax + 1: random access problem
        ++m_counters.failed;
        NS_LOG_INFO("access failed after " << a.transmissions << " preambles");
        a.ue->NotifyAccessFailed();
        return;
    }
    const Time backoff = NanoSeconds(
        static_cast<int64_t>(std::llround(m_rng->GetValue(0, m_backoff.GetNanoSeconds()))));
    Register(a, Simulator::Now() + backoff);
}

// ------------------------------------------------------------------ helper

RandomAccessHelper::RandomAccessHelper()
{
    m_factory.SetTypeId(RandomAccessChannel::GetTypeId());
}

void
RandomAccessHelper::SetChannelAttribute(const std::string& name, const AttributeValue& value)
{
    m_factory.Set(name, value);
}

std::vector<Ptr<RandomAccessChannel>>
RandomAccessHelper::Install(const NetDeviceContainer& enbDevs)
{
    std::vector<Ptr<RandomAccessChannel>> channels;
    for (uint32_t g = 0; g < enbDevs.GetN(); ++g)
    {
        channels.push_back(m_factory.Create<RandomAccessChannel>());
    }
    return channels;
}

int64_t
RandomAccessHelper::AssignStreams(const std::vector<Ptr<RandomAccessChannel>>& channels,
                                  int64_t stream)
{
    int64_t used = 0;
    for (const auto& c : channels)
    {
        used += c->AssignStreams(stream + used);
    }
    return used;
}

} // namespace gaidt
