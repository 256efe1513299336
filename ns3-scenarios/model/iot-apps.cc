#include "model/iot-apps.h"

#include "ns3/double.h"
#include "ns3/log.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/udp-socket-factory.h"

#include <algorithm>
#include <cstring>

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtIotApps");

namespace
{

struct AppHeader
{
    uint32_t sensorId;
    uint32_t seq;
    int64_t txTimeNs;
    uint32_t kind;    // 0: UL report/request, 1: TIC response
    uint32_t deferUs; // time from the report's due time to its send, us (access spread)
};

// The moment a report was due (its reading time): latency and deadline count from here,
// so any deferral between reading and sending (access spread, pacing) shows in them.
int64_t
DueTimeNs(const AppHeader& h)
{
    return h.txTimeNs - static_cast<int64_t>(h.deferUs) * 1000;
}

static_assert(sizeof(AppHeader) == kAppHeaderBytes);

Ptr<Packet>
MakePacket(const AppHeader& h, uint32_t sizeBytes)
{
    std::vector<uint8_t> buf(std::max(sizeBytes, kAppHeaderBytes), 0);
    std::memcpy(buf.data(), &h, sizeof(h)); // little-endian hosts only (x86_64/aarch64)
    return Create<Packet>(buf.data(), buf.size());
}

bool
ReadHeader(Ptr<const Packet> p, AppHeader& h)
{
    if (p->GetSize() < kAppHeaderBytes)
    {
        return false;
    }
    p->CopyData(reinterpret_cast<uint8_t*>(&h), sizeof(h));
    return true;
}

} // namespace

// ---------------------------------------------------------------- SensorApp

TypeId
SensorApp::GetTypeId()
{
    static TypeId tid = TypeId("gaidt::SensorApp")
                            .SetParent<Application>()
                            .SetGroupName("Gaidt")
                            .AddConstructor<SensorApp>();
    return tid;
}

void
SensorApp::Setup(uint32_t sensorId,
                 Address server,
                 const TrafficParams& params,
                 std::shared_ptr<IotStats> stats)
{
    m_id = sensorId;
    m_server = server;
    m_p = params;
    m_stats = std::move(stats);
    Me().reportPeriodS = m_p.reportPeriodS;
    Me().payloadMaxBytes = m_p.payloadMaxBytes;
    m_uniform = CreateObject<UniformRandomVariable>();
    m_exp = CreateObject<ExponentialRandomVariable>();
    m_onRv = CreateObject<ParetoRandomVariable>();
    m_offRv = CreateObject<ParetoRandomVariable>();
    // Pareto with shape a and scale xm has mean a*xm/(a-1). The OFF mean is
    // chosen so that the long-run ON fraction equals ul_activity.
    const double a = m_p.paretoShape;
    const double offMean = m_p.onMeanS * (1 - m_p.ulActivity) / std::max(m_p.ulActivity, 1e-9);
    m_onRv->SetAttribute("Shape", DoubleValue(a));
    m_onRv->SetAttribute("Scale", DoubleValue(m_p.onMeanS * (a - 1) / a));
    m_offRv->SetAttribute("Shape", DoubleValue(a));
    m_offRv->SetAttribute("Scale", DoubleValue(std::max(offMean, 1e-6) * (a - 1) / a));
}

SensorStats&
SensorApp::Me()
{
    return m_stats->sensors[m_id];
}

void
SensorApp::StartApplication()
{
    m_socket = Socket::CreateSocket(GetNode(), UdpSocketFactory::GetTypeId());
    m_socket->Bind();
    m_socket->Connect(m_server);
    m_socket->SetRecvCallback(MakeCallback(&SensorApp::OnRecv, this));
    switch (m_p.service)
    {
    case ServiceKind::Mmtc:
    case ServiceKind::Tic:
        // Synchronized: every sensor's period starts at the traffic start, so
        // active sensors request UL simultaneously (within access_spread_s), the
        // paper's mMTC stress. Otherwise each sensor has a random phase.
        m_periodEvent = Simulator::Schedule(
            Seconds(m_p.synchronizedPeriods ? 0.0 : m_uniform->GetValue(0, Me().reportPeriodS)),
            &SensorApp::OnPeriod,
            this);
        if (m_p.eventRateHz > 0)
        {
            ScheduleEvent();
        }
        break;
    case ServiceKind::SelfSimilar:
        m_on = m_uniform->GetValue() < m_p.ulActivity;
        m_toggleEvent =
            Simulator::Schedule(Seconds(m_on ? m_onRv->GetValue() : m_offRv->GetValue()),
                                &SensorApp::ToggleOnOff,
                                this);
        if (m_on)
        {
            m_sendEvent = Simulator::Schedule(Seconds(m_uniform->GetValue(0, Me().reportPeriodS)),
                                              &SensorApp::OnTimeSend,
                                              this);
        }
        break;
    }
}

void
SensorApp::StopApplication()
{
    m_periodEvent.Cancel();
    m_eventEvent.Cancel();
    m_toggleEvent.Cancel();
    m_sendEvent.Cancel();
    if (m_socket)
    {
        m_socket->Close();
        m_socket->SetRecvCallback(MakeNullCallback<void, Ptr<Socket>>());
    }
}

void
SensorApp::OnPeriod()
{
    // mMTC/TIC: in each reporting period a sensor has an UL request with
    // probability ul_activity; active sensors send within access_spread_s of
    // the period start (simultaneous requests when the spread is small).
    if (Me().active && m_uniform->GetValue() < m_p.ulActivity)
    {
        const double delayS = m_p.accessSpreadS > 0 ? m_uniform->GetValue(0, m_p.accessSpreadS) : 0;
        Simulator::Schedule(Seconds(delayS), &SensorApp::Send, this, Simulator::Now());
    }
    m_periodEvent = Simulator::Schedule(Seconds(Me().reportPeriodS), &SensorApp::OnPeriod, this);
}

void
SensorApp::ScheduleEvent()
{
    m_exp->SetAttribute("Mean", DoubleValue(1.0 / m_p.eventRateHz));
    m_eventEvent = Simulator::Schedule(Seconds(m_exp->GetValue()), &SensorApp::OnEvent, this);
}

void
SensorApp::OnEvent()
{
    if (Me().active)
    {
        Send(Simulator::Now());
    }
    ScheduleEvent();
}

void
SensorApp::ToggleOnOff()
{
    m_on = !m_on;
    m_sendEvent.Cancel();
    if (m_on)
    {
        OnTimeSend();
    }
    m_toggleEvent = Simulator::Schedule(Seconds(m_on ? m_onRv->GetValue() : m_offRv->GetValue()),
                                        &SensorApp::ToggleOnOff,
                                        this);
}

void
SensorApp::OnTimeSend()
{
    if (Me().active)
    {
        Send(Simulator::Now());
    }
    m_sendEvent = Simulator::Schedule(Seconds(Me().reportPeriodS), &SensorApp::OnTimeSend, this);
}

void
SensorApp::SetUplinkGate(UplinkGate gate)
{
    m_uplinkGate = std::move(gate);
}

void
SensorApp::Send(Time due)
{
    if (Simulator::Now().GetSeconds() >= m_p.stopS)
    {
        return;
    }
    if (m_uplinkGate && !m_uplinkGate([this, due](bool connected) {
            if (connected)
            {
                Send(due);
            }
            else
            {
                NS_LOG_INFO("sensor " << m_id << " loses a report: random access failed");
                Me().ra.reportsLost++;
            }
        }))
    {
        return; // held until the radio is connected
    }
    SensorStats& s = Me();
    const uint32_t maxBytes = std::max(s.payloadMaxBytes, m_p.payloadMinBytes);
    const auto size = static_cast<uint32_t>(m_uniform->GetInteger(m_p.payloadMinBytes, maxBytes));
    const int64_t nowNs = Simulator::Now().GetNanoSeconds();
    const auto deferUs =
        static_cast<uint32_t>(std::max<int64_t>(0, nowNs - due.GetNanoSeconds()) / 1000);
    AppHeader h{m_id, m_seq++, nowNs, 0, deferUs};
    NS_LOG_INFO("sensor " << m_id << " sends seq " << h.seq << " size " << size);
    if (m_socket->Send(MakePacket(h, size)) >= 0)
    {
        s.txPackets++;
        s.txBytes += size;
    }
}

void
SensorApp::OnRecv(Ptr<Socket> socket)
{
    Ptr<Packet> p;
    while ((p = socket->Recv()))
    {
        AppHeader h;
        if (!ReadHeader(p, h) || h.kind != 1)
        {
            continue;
        }
        // round trip from the request's due time (deferral included)
        const double rttMs = (Simulator::Now().GetNanoSeconds() - DueTimeNs(h)) / 1e6;
        SensorStats& s = Me();
        s.responses++;
        s.rttSumMs += rttMs;
        if (rttMs <= m_p.deadlineMs)
        {
            s.onTimeResponses++;
        }
    }
}

// ------------------------------------------------------------ CityServerApp

TypeId
CityServerApp::GetTypeId()
{
    static TypeId tid = TypeId("gaidt::CityServerApp")
                            .SetParent<Application>()
                            .SetGroupName("Gaidt")
                            .AddConstructor<CityServerApp>();
    return tid;
}

void
CityServerApp::Setup(uint16_t port, const TrafficParams& params, std::shared_ptr<IotStats> stats)
{
    m_port = port;
    m_p = params;
    m_stats = std::move(stats);
}

void
CityServerApp::StartApplication()
{
    m_socket = Socket::CreateSocket(GetNode(), UdpSocketFactory::GetTypeId());
    m_socket->Bind(InetSocketAddress(Ipv4Address::GetAny(), m_port));
    m_socket->SetRecvCallback(MakeCallback(&CityServerApp::OnRecv, this));
}

void
CityServerApp::StopApplication()
{
    if (m_socket)
    {
        m_socket->Close();
        m_socket->SetRecvCallback(MakeNullCallback<void, Ptr<Socket>>());
    }
}

void
CityServerApp::OnRecv(Ptr<Socket> socket)
{
    Ptr<Packet> p;
    Address from;
    while ((p = socket->RecvFrom(from)))
    {
        AppHeader h;
        if (!ReadHeader(p, h) || h.kind != 0 || h.sensorId >= m_stats->sensors.size())
        {
            continue;
        }
        const double nowS = Simulator::Now().GetSeconds();
        // latency from the report's due time (deferral included); the network part from its send
        const double latencyMs = (Simulator::Now().GetNanoSeconds() - DueTimeNs(h)) / 1e6;
        const double networkLatencyMs = (Simulator::Now().GetNanoSeconds() - h.txTimeNs) / 1e6;
        NS_LOG_INFO("server receives sensor " << h.sensorId << " seq " << h.seq << " latency "
                                              << latencyMs << " ms (network " << networkLatencyMs
                                              << " ms)");
        SensorStats& s = m_stats->sensors[h.sensorId];
        s.networkLatencySumMs += networkLatencyMs;
        s.rxPackets++;
        s.rxBytes += p->GetSize();
        if (nowS <= m_p.stopS)
        {
            s.rxBytesInWindow += p->GetSize(); // goodput counts the traffic window only
        }
        s.latencySumMs += latencyMs;
        s.lastLatencyMs = latencyMs;
        s.latenciesMs.push_back(static_cast<float>(latencyMs));
        if (latencyMs <= m_p.deadlineMs)
        {
            s.onTimePackets++;
        }
        else
        {
            s.latePackets++;
        }
        m_stats->RecordRx(nowS, p->GetSize());
        if (m_p.service == ServiceKind::Tic)
        {
            h.kind = 1;
            socket->SendTo(MakePacket(h, p->GetSize()), 0, from);
        }
    }
}

} // namespace gaidt
