#include "model/sensor-power.h"

#include "model/lte-private-access.h"
#include "model/random-access.h"

#include "ns3/boolean.h"
#include "ns3/double.h"
#include "ns3/enum.h"
#include "ns3/log.h"
#include "ns3/lte-control-messages.h"
#include "ns3/lte-spectrum-signal-parameters.h"
#include "ns3/lte-ue-mac.h"
#include "ns3/lte-ue-net-device.h"
#include "ns3/lte-ue-phy.h"
#include "ns3/lte-ue-power-control.h"
#include "ns3/lte-ue-rrc.h"
#include "ns3/simulator.h"
#include "ns3/spectrum-channel.h"

#include <algorithm>
#include <cmath>

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtSensorPower");
NS_OBJECT_ENSURE_REGISTERED(SensorPowerModel);
NS_OBJECT_ENSURE_REGISTERED(PowerSavingFilter);
NS_OBJECT_ENSURE_REGISTERED(PowerSavingUplinkFilter);

namespace
{
// ns-3 3.44's SRS: one SC-FDMA symbol (lte-spectrum-phy.cc UL_SRS_DURATION)
constexpr double kSrsDurationS = 71429e-9;
} // namespace

TypeId
SensorPowerModel::GetTypeId()
{
    static TypeId tid =
        TypeId("gaidt::SensorPowerModel")
            .SetParent<Object>()
            .SetGroupName("Gaidt")
            .AddConstructor<SensorPowerModel>()
            .AddAttribute(
                "Mode",
                "always_on (ns-3 as is), drx, edrx or psm",
                EnumValue(ALWAYS_ON),
                MakeEnumAccessor<Mode>(&SensorPowerModel::m_mode),
                MakeEnumChecker(ALWAYS_ON, "always_on", DRX, "drx", EDRX, "edrx", PSM, "psm"))
            .AddAttribute("DrxCycle",
                          "connected-mode long DRX cycle",
                          TimeValue(MilliSeconds(1280)),
                          MakeTimeAccessor(&SensorPowerModel::m_drxCycle),
                          MakeTimeChecker())
            .AddAttribute("OnDuration",
                          "DRX onDurationTimer",
                          TimeValue(MilliSeconds(10)),
                          MakeTimeAccessor(&SensorPowerModel::m_onDuration),
                          MakeTimeChecker())
            .AddAttribute("InactivityTimer",
                          "drx-InactivityTimer, restarted by each DCI to the UE",
                          TimeValue(MilliSeconds(200)),
                          MakeTimeAccessor(&SensorPowerModel::m_inactivity),
                          MakeTimeChecker())
            .AddAttribute("RrcReleaseTimer",
                          "network RRC inactivity before release to idle (edrx, psm)",
                          TimeValue(Seconds(10)),
                          MakeTimeAccessor(&SensorPowerModel::m_rrcRelease),
                          MakeTimeChecker())
            .AddAttribute("EdrxCycle",
                          "idle-mode extended DRX cycle",
                          TimeValue(Seconds(20.48)),
                          MakeTimeAccessor(&SensorPowerModel::m_edrxCycle),
                          MakeTimeChecker())
            .AddAttribute("PagingWindow",
                          "receive time per idle paging occasion (energy only)",
                          TimeValue(MilliSeconds(10)),
                          MakeTimeAccessor(&SensorPowerModel::m_pagingWindow),
                          MakeTimeChecker())
            .AddAttribute("T3324",
                          "active timer: idle time before PSM (psm)",
                          TimeValue(Seconds(10)),
                          MakeTimeAccessor(&SensorPowerModel::m_t3324),
                          MakeTimeChecker())
            .AddAttribute("T3412",
                          "periodic TAU timer, from the release to idle (psm)",
                          TimeValue(Seconds(86400)),
                          MakeTimeAccessor(&SensorPowerModel::m_t3412),
                          MakeTimeChecker())
            .AddAttribute("ConnectionSetup",
                          "idle/PSM to connected: from the first preamble (or, without random "
                          "access, from the report) to a connection that can send UL data, when "
                          "nothing collides",
                          TimeValue(MilliSeconds(100)),
                          MakeTimeAccessor(&SensorPowerModel::m_connectionSetup),
                          MakeTimeChecker())
            .AddAttribute("PreambleTxPower",
                          "transmit power of random-access preambles and Msg3, dBm",
                          DoubleValue(20),
                          MakeDoubleAccessor(&SensorPowerModel::m_preambleTxPowerDbm),
                          MakeDoubleChecker<double>())
            .AddAttribute("AccountingStart",
                          "energy is counted from this simulation time on",
                          TimeValue(Seconds(0)),
                          MakeTimeAccessor(&SensorPowerModel::m_accountingStart),
                          MakeTimeChecker())
            .AddAttribute("RxPower",
                          "receive / PDCCH monitoring power, W",
                          DoubleValue(0.08),
                          MakeDoubleAccessor(&SensorPowerModel::m_rxW),
                          MakeDoubleChecker<double>(0))
            .AddAttribute("LightSleepPower",
                          "connected-DRX and idle sleep power, W",
                          DoubleValue(0.003),
                          MakeDoubleAccessor(&SensorPowerModel::m_lightSleepW),
                          MakeDoubleChecker<double>(0))
            .AddAttribute("DeepSleepPower",
                          "PSM power, W",
                          DoubleValue(0.000015),
                          MakeDoubleAccessor(&SensorPowerModel::m_deepSleepW),
                          MakeDoubleChecker<double>(0))
            .AddAttribute("TxPaEfficiency",
                          "PA efficiency (transmit power = circuit + radiated / efficiency)",
                          DoubleValue(0.45),
                          MakeDoubleAccessor(&SensorPowerModel::m_paEfficiency),
                          MakeDoubleChecker<double>(1e-3, 1))
            .AddAttribute("TxCircuitPower",
                          "transmit-chain power besides the PA, W",
                          DoubleValue(0.0566),
                          MakeDoubleAccessor(&SensorPowerModel::m_txCircuitW),
                          MakeDoubleChecker<double>(0))
            .AddAttribute(
                "GateSrs",
                "an idle or PSM sensor (released, no SRS configuration) sends no periodic "
                "SRS (PowerSavingUplinkFilter); a connected one, DRX sleep included, sounds "
                "every SRS period as ns-3 schedules it (see sensor-power.h); false: never "
                "gated",
                BooleanValue(true),
                MakeBooleanAccessor(&SensorPowerModel::m_gateSrs),
                MakeBooleanChecker());
    return tid;
}

void
SensorPowerModel::SetUe(Ptr<LteUeMac> mac, uint32_t drxOffsetMs)
{
    m_mac = mac;
    m_drxOffsetMs = drxOffsetMs;
}

void
SensorPowerModel::NotifyConnected()
{
    if (m_started)
    {
        return;
    }
    m_started = true;
    const Time now = Simulator::Now();
    m_connected = true;
    m_lastActivity = now;
    m_inactivityUntil = now + m_inactivity;
}

bool
SensorPowerModel::HasUlData() const
{
    return m_mac && UeHasUlData(*m_mac);
}

void
SensorPowerModel::Advance(Time now)
{
    if (m_connecting || !m_connected || m_mode == DRX || m_mode == ALWAYS_ON)
    {
        if (!m_connecting && !m_connected && m_mode == PSM && now - m_idleSince >= m_t3412)
        {
            // periodic tracking area update: a connection, then the release timer again
            StartConnecting(now);
        }
        return;
    }
    if (now - m_lastActivity >= m_rrcRelease && now >= m_inactivityUntil && !HasUlData())
    {
        m_connected = false;
        m_idleSince = m_lastActivity + m_rrcRelease;
    }
}

void
SensorPowerModel::SetRandomAccess(Ptr<RandomAccessChannel> channel)
{
    m_ra = channel;
}

bool
SensorPowerModel::RequestUplink(std::function<void(bool)> resume)
{
    if (!m_started || m_mode == ALWAYS_ON)
    {
        return true;
    }
    const Time now = Simulator::Now();
    Advance(now);
    if (m_connected && !m_connecting)
    {
        m_lastActivity = now;
        return true;
    }
    if (!m_connecting)
    {
        NS_LOG_INFO("sensor wakes from " << (m_state == S_PSM ? "PSM" : "idle") << " at "
                                         << now.As(Time::S));
        StartConnecting(now);
    }
    m_held.push_back(std::move(resume));
    return false;
}

void
SensorPowerModel::StartConnecting(Time now)
{
    m_connecting = true;
    m_connectingSince = now;
    ++m_wakeups;
    if (m_ra)
    {
        m_connectingUntil = Time::Max(); // known at contention resolution
        m_raStats.accesses++;
        m_ra->StartAccess(this);
        return;
    }
    m_connectingUntil = now + m_connectionSetup;
    Simulator::Schedule(m_connectionSetup, &SensorPowerModel::CompleteConnection, this);
}

void
SensorPowerModel::CompleteConnection()
{
    const Time now = Simulator::Now();
    m_connecting = false;
    m_connected = true;
    m_lastActivity = now;
    m_inactivityUntil = now + m_inactivity;
    if (m_ra)
    {
        const double delayMs = (now - m_connectingSince).GetSeconds() * 1e3;
        RandomAccessStats& r = m_raStats;
        r.delayMinMs = r.connected ? std::min(r.delayMinMs, delayMs) : delayMs;
        r.delayMaxMs = r.connected ? std::max(r.delayMaxMs, delayMs) : delayMs;
        r.delaySumMs += delayMs;
        r.connected++;
    }
    std::vector<std::function<void(bool)>> held;
    held.swap(m_held);
    for (auto& resume : held)
    {
        resume(true);
    }
}

void
SensorPowerModel::NotifyPreamble()
{
    m_raStats.preambles++;
    m_raStats.txMs++;
    ChargeTxMs(m_preambleTxPowerDbm);
}

void
SensorPowerModel::NotifyMsg3()
{
    m_raStats.txMs++;
    ChargeTxMs(m_preambleTxPowerDbm);
}

void
SensorPowerModel::NotifyAttemptFailed(bool collided)
{
    if (collided)
    {
        m_raStats.collisions++;
    }
    else
    {
        m_raStats.noRar++;
    }
}

void
SensorPowerModel::NotifyContentionResolved(Time msg4At)
{
    // connection_setup_ms counts from the preamble: the rest of it follows Msg4
    const Time rest = std::max(Time(0), m_connectionSetup - m_ra->GetNoContentionProcedureTime());
    m_connectingUntil = msg4At + rest;
    Simulator::Schedule(m_connectingUntil - Simulator::Now(),
                        &SensorPowerModel::CompleteConnection,
                        this);
}

void
SensorPowerModel::NotifyAccessFailed()
{
    m_raStats.failures++;
    // back to idle, as after a release: T3324 and T3412 restart (a failed TAU is retried then)
    m_connecting = false;
    m_idleSince = Simulator::Now();
    std::vector<std::function<void(bool)>> held;
    held.swap(m_held);
    for (auto& resume : held)
    {
        resume(false);
    }
}

bool
SensorPowerModel::DecideSubframe()
{
    const Time now = Simulator::Now();
    Advance(now);
    State s;
    if (m_connecting)
    {
        s = S_CONNECTING;
    }
    else if (m_connected)
    {
        const bool data = HasUlData();
        if (data)
        {
            m_lastActivity = now;
        }
        const int64_t cycleMs = m_drxCycle.GetMilliSeconds();
        const bool onDuration = cycleMs > 0 && (now.GetMilliSeconds() + m_drxOffsetMs) % cycleMs <
                                                   m_onDuration.GetMilliSeconds();
        s = (data || now < m_inactivityUntil || onDuration) ? S_AWAKE : S_DRX_SLEEP;
    }
    else if (m_mode == PSM && now - m_idleSince >= m_t3324)
    {
        s = S_PSM;
    }
    else
    {
        const int64_t cycleMs = m_edrxCycle.GetMilliSeconds();
        const bool paging = cycleMs > 0 && (now.GetMilliSeconds() + m_drxOffsetMs) % cycleMs <
                                               m_pagingWindow.GetMilliSeconds();
        s = paging ? S_IDLE_PAGING : S_IDLE_SLEEP;
    }
    m_state = s;
    m_awake = s == S_AWAKE;
    if (now >= m_accountingStart)
    {
        m_stateMs[s]++;
    }
    return m_awake;
}

void
SensorPowerModel::NotifyDci(bool whileAsleep)
{
    const Time now = Simulator::Now();
    m_inactivityUntil = now + m_inactivity;
    m_lastActivity = now;
    if (whileAsleep && !m_connecting)
    {
        ++m_dciAsleep;
        if (now >= m_accountingStart && m_state != S_AWAKE)
        {
            m_stateMs[m_state]--;
            m_stateMs[S_AWAKE]++;
        }
        m_state = S_AWAKE;
        m_awake = true;
        m_connected = true; // a gateway still holds the context (see the header)
    }
}

void
SensorPowerModel::NotifyTx(double txPowerDbm)
{
    if (Simulator::Now() < m_accountingStart)
    {
        return;
    }
    ChargeTxMs(txPowerDbm);
    ++m_txMs;
}

void
SensorPowerModel::ChargeTxMs(double txPowerDbm)
{
    if (Simulator::Now() < m_accountingStart)
    {
        return;
    }
    // 1 ms at transmit power instead of the receive power its state was charged at
    const double txW = m_txCircuitW + std::pow(10.0, txPowerDbm / 10.0) / 1000.0 / m_paEfficiency;
    m_txExtraJ += (txW - m_rxW) * 1e-3;
}

void
SensorPowerModel::NotifySrs(double txPowerDbm)
{
    if (Simulator::Now() < m_accountingStart)
    {
        return;
    }
    if (!SendsSrs())
    {
        ++m_srsSkipped;
        return;
    }
    const double txW = m_txCircuitW + std::pow(10.0, txPowerDbm / 10.0) / 1000.0 / m_paEfficiency;
    m_txExtraJ += (txW - m_rxW) * kSrsDurationS;
    ++m_srsSent;
}

double
SensorPowerModel::StatePowerW(State s) const
{
    switch (s)
    {
    case S_AWAKE:
    case S_IDLE_PAGING:
    case S_CONNECTING:
        return m_rxW;
    case S_DRX_SLEEP:
    case S_IDLE_SLEEP:
        return m_lightSleepW;
    case S_PSM:
        return m_deepSleepW;
    default:
        return 0;
    }
}

double
SensorPowerModel::Account(Time end, double stateS[S_COUNT]) const
{
    const double windowS = std::max(0.0, (end - m_accountingStart).GetSeconds());
    for (int k = 0; k < S_COUNT; ++k)
    {
        stateS[k] = 0;
    }
    if (m_mode == ALWAYS_ON)
    {
        stateS[S_AWAKE] = windowS; // ns-3 as is: the control channel is decoded every subframe
    }
    else
    {
        uint64_t counted = 0;
        for (int k = 0; k < S_COUNT; ++k)
        {
            stateS[k] = m_stateMs[k] * 1e-3;
            counted += m_stateMs[k];
        }
        // subframes before the sensor connected (or not decided yet) are charged as awake
        stateS[S_AWAKE] += std::max(0.0, windowS - counted * 1e-3);
    }
    double e = m_txExtraJ;
    for (int k = 0; k < S_COUNT; ++k)
    {
        e += stateS[k] * StatePowerW(static_cast<State>(k));
    }
    return e;
}

double
SensorPowerModel::EnergySoFarJ() const
{
    double stateS[S_COUNT];
    return Account(Simulator::Now(), stateS);
}

void
SensorPowerModel::Finish(Time end, SensorStats& st) const
{
    double stateS[S_COUNT];
    st.energyJ = Account(end, stateS);
    for (int k = 0; k < S_COUNT; ++k)
    {
        st.powerStateS[k] = stateS[k];
    }
    st.txMs = m_txMs;
    st.wakeups = m_wakeups;
    st.dciWhileAsleep = m_dciAsleep;
    const uint64_t lost = st.ra.reportsLost; // counted by the sensor application
    st.ra = m_raStats;
    st.ra.reportsLost = lost;
    st.srsSent = m_srsSent;
    st.srsSkipped = m_srsSkipped;
}

// ------------------------------------------------------------------ filter

TypeId
PowerSavingFilter::GetTypeId()
{
    static TypeId tid = TypeId("gaidt::PowerSavingFilter")
                            .SetParent<SpectrumTransmitFilter>()
                            .SetGroupName("Gaidt");
    return tid;
}

PowerSavingFilter::PowerSavingFilter(const NetDeviceContainer& ueDevs,
                                     const std::vector<Ptr<SensorPowerModel>>& models)
{
    for (uint32_t i = 0; i < ueDevs.GetN(); ++i)
    {
        auto dev = DynamicCast<LteUeNetDevice>(ueDevs.Get(i));
        Ue ue;
        ue.phy = PeekPointer(dev->GetPhy()->GetDownlinkSpectrumPhy());
        ue.rrc = dev->GetRrc();
        ue.model = models[i];
        m_index[ue.phy] = static_cast<uint32_t>(m_ues.size());
        m_ues.push_back(ue);
    }
}

PowerSavingFilter::Ue*
PowerSavingFilter::Find(const SpectrumPhy* phy)
{
    if (m_prev < m_ues.size())
    {
        const uint32_t n = m_ues[m_prev].next;
        if (n < m_ues.size() && m_ues[n].phy == phy)
        {
            m_prev = n;
            return &m_ues[n];
        }
    }
    const auto it = m_index.find(phy);
    if (it == m_index.end())
    {
        return nullptr;
    }
    if (m_prev < m_ues.size())
    {
        m_ues[m_prev].next = it->second;
    }
    m_prev = it->second;
    return &m_ues[it->second];
}

namespace
{

void
OnTxPower(SensorPowerModel* m, uint16_t, uint16_t, double dbm)
{
    m->NotifyTx(dbm);
}

void
OnSrsTxPower(SensorPowerModel* m, uint16_t, uint16_t, double dbm)
{
    m->NotifySrs(dbm);
}

void
OnConnected(SensorPowerModel* m, uint64_t, uint16_t, uint16_t)
{
    m->NotifyConnected();
}

/** The RNTIs a control frame's DL and UL DCIs address, in message order. */
void
DciRntis(const std::list<Ptr<LteControlMessage>>& msgs, std::vector<uint16_t>& out)
{
    out.clear();
    for (const auto& m : msgs)
    {
        switch (m->GetMessageType())
        {
        case LteControlMessage::DL_DCI:
            out.push_back(DynamicCast<DlDciLteControlMessage>(m)->GetDci().m_rnti);
            break;
        case LteControlMessage::UL_DCI:
            out.push_back(DynamicCast<UlDciLteControlMessage>(m)->GetDci().m_rnti);
            break;
        default:
            break;
        }
    }
}

} // namespace

bool
PowerSavingFilter::DoFilter(Ptr<const SpectrumSignalParameters> params,
                            Ptr<const SpectrumPhy> receiverPhy)
{
    Ue* found = Find(PeekPointer(receiverPhy));
    if (!found)
    {
        return false;
    }
    Ue& ue = *found;
    if (!Connected(ue))
    {
        return false; // attaching: ns-3 as is
    }
    // A transmission is (parameters, transmitter, time): a frame whose receivers were all filtered
    // is freed at once, and the next gateway's frame of the same subframe may reuse its address.
    if (PeekPointer(params) != m_lastParams || PeekPointer(params->txPhy) != m_lastTxPhy ||
        Simulator::Now() != m_lastTime)
    {
        m_lastParams = PeekPointer(params);
        m_lastTxPhy = PeekPointer(params->txPhy);
        m_lastTime = Simulator::Now();
        m_lastCtrl = dynamic_cast<const LteSpectrumSignalParametersDlCtrlFrame*>(m_lastParams);
        m_lastDciRntis.clear();
        if (m_lastCtrl)
        {
            DciRntis(m_lastCtrl->ctrlMsgList, m_lastDciRntis);
        }
    }
    const LteSpectrumSignalParametersDlCtrlFrame* ctrl = m_lastCtrl;
    if (!ctrl)
    {
        return !ue.awake; // data frames follow the subframe's decision
    }
    Decide(ue, m_lastTime);
    if (ctrl->cellId == ue.serving && !m_lastDciRntis.empty() &&
        std::find(m_lastDciRntis.begin(), m_lastDciRntis.end(), ue.rnti) != m_lastDciRntis.end())
    {
        ue.model->NotifyDci(!ue.awake);
        ue.awake = true;
    }
    return !ue.awake;
}

bool
PowerSavingFilter::Connected(Ue& ue)
{
    if (!ue.connected)
    {
        ue.connected = ue.model->IsConnectedInNs3(); // once true it stays true
    }
    return ue.connected;
}

void
PowerSavingFilter::Decide(Ue& ue, Time now)
{
    // One decision per subframe, at its first control frame (all gateways send theirs at the
    // subframe start); the data frames 214 us later follow it.
    if (now - ue.decidedAt >= MicroSeconds(500))
    {
        ue.decidedAt = now;
        ue.awake = ue.model->DecideSubframe();
        ue.serving = ue.rrc->GetCellId();
        ue.rnti = ue.rrc->GetRnti();
    }
}

void
PowerSavingFilter::NotifyTransmission(Ptr<SpectrumSignalParameters> params)
{
    // Every sensor decides at the subframe's first control frame, whether or not the channel
    // then asks about it (CellScopedSpectrumChannel asks only about the frame's own cell).
    const Time now = Simulator::Now();
    if (now == m_sweptAt ||
        !dynamic_cast<const LteSpectrumSignalParametersDlCtrlFrame*>(PeekPointer(params)))
    {
        return;
    }
    m_sweptAt = now;
    for (Ue& ue : m_ues)
    {
        if (Connected(ue))
        {
            Decide(ue, now);
        }
    }
}

int64_t
PowerSavingFilter::DoAssignStreams(int64_t)
{
    return 0;
}

// ------------------------------------------------------------------ uplink filter

TypeId
PowerSavingUplinkFilter::GetTypeId()
{
    static TypeId tid = TypeId("gaidt::PowerSavingUplinkFilter")
                            .SetParent<SpectrumTransmitFilter>()
                            .SetGroupName("Gaidt");
    return tid;
}

PowerSavingUplinkFilter::PowerSavingUplinkFilter(const NetDeviceContainer& ueDevs,
                                                 const std::vector<Ptr<SensorPowerModel>>& models)
{
    for (uint32_t i = 0; i < ueDevs.GetN(); ++i)
    {
        auto dev = DynamicCast<LteUeNetDevice>(ueDevs.Get(i));
        m_models[PeekPointer(dev->GetPhy()->GetUplinkSpectrumPhy())] = PeekPointer(models[i]);
    }
}

bool
PowerSavingUplinkFilter::DoFilter(Ptr<const SpectrumSignalParameters> params,
                                  Ptr<const SpectrumPhy> /*receiverPhy*/)
{
    const Time now = Simulator::Now();
    // (parameters, transmitter, time): see PowerSavingFilter::DoFilter
    if (PeekPointer(params) != m_lastParams || PeekPointer(params->txPhy) != m_lastTxPhy ||
        now != m_lastTime)
    {
        m_lastParams = PeekPointer(params);
        m_lastTxPhy = PeekPointer(params->txPhy);
        m_lastTime = now;
        m_lastDrop = false;
        if (dynamic_cast<const LteSpectrumSignalParametersUlSrsFrame*>(m_lastParams))
        {
            const auto it = m_models.find(PeekPointer(params->txPhy));
            m_lastDrop = it != m_models.end() && !it->second->SendsSrs();
            if (m_lastDrop)
            {
                NS_LOG_LOGIC("SRS of a sleeping sensor dropped at " << now.As(Time::S));
            }
        }
    }
    return m_lastDrop;
}

int64_t
PowerSavingUplinkFilter::DoAssignStreams(int64_t)
{
    return 0;
}

// ------------------------------------------------------------------ helper

SensorPowerHelper::SensorPowerHelper()
{
    m_factory.SetTypeId(SensorPowerModel::GetTypeId());
}

void
SensorPowerHelper::SetModelAttribute(const std::string& name, const AttributeValue& value)
{
    m_factory.Set(name, value);
}

std::vector<Ptr<SensorPowerModel>>
SensorPowerHelper::Install(const NetDeviceContainer& ueDevs)
{
    std::vector<Ptr<SensorPowerModel>> models;
    for (uint32_t i = 0; i < ueDevs.GetN(); ++i)
    {
        auto dev = DynamicCast<LteUeNetDevice>(ueDevs.Get(i));
        Ptr<SensorPowerModel> m = m_factory.Create<SensorPowerModel>();
        TimeValue cycle;
        m->GetAttribute("DrxCycle", cycle);
        const auto cycleMs =
            static_cast<uint32_t>(std::max<int64_t>(1, cycle.Get().GetMilliSeconds()));
        m->SetUe(dev->GetMac(), i % cycleMs);
        // PUSCH and PUCCH transmissions, at the power ns-3's UL power control chose
        Ptr<LteUePowerControl> pc = dev->GetPhy()->GetUplinkPowerControl();
        pc->TraceConnectWithoutContext("ReportPuschTxPower",
                                       MakeBoundCallback(&OnTxPower, PeekPointer(m)));
        pc->TraceConnectWithoutContext("ReportPucchTxPower",
                                       MakeBoundCallback(&OnTxPower, PeekPointer(m)));
        // periodic SRS: charged when sent, counted when a sleeping sensor skips it
        pc->TraceConnectWithoutContext("ReportSrsTxPower",
                                       MakeBoundCallback(&OnSrsTxPower, PeekPointer(m)));
        dev->GetRrc()->TraceConnectWithoutContext("ConnectionEstablished",
                                                  MakeBoundCallback(&OnConnected, PeekPointer(m)));
        models.push_back(m);
    }
    return models;
}

void
SensorPowerHelper::SetRandomAccess(const std::vector<Ptr<SensorPowerModel>>& models,
                                   const std::vector<Ptr<RandomAccessChannel>>& channels,
                                   const std::vector<uint32_t>& gatewayOfSensor)
{
    for (std::size_t i = 0; i < models.size(); ++i)
    {
        models[i]->SetRandomAccess(channels.at(gatewayOfSensor.at(i)));
    }
}

void
SensorPowerHelper::InstallFilter(Ptr<SpectrumChannel> dlChannel,
                                 const NetDeviceContainer& ueDevs,
                                 const std::vector<Ptr<SensorPowerModel>>& models)
{
    auto filter = Create<PowerSavingFilter>(ueDevs, models);
    dlChannel->TraceConnectWithoutContext(
        "TxSigParams",
        MakeCallback(&PowerSavingFilter::NotifyTransmission, filter));
    dlChannel->AddSpectrumTransmitFilter(filter);
}

void
SensorPowerHelper::InstallUplinkFilter(Ptr<SpectrumChannel> ulChannel,
                                       const NetDeviceContainer& ueDevs,
                                       const std::vector<Ptr<SensorPowerModel>>& models)
{
    ulChannel->AddSpectrumTransmitFilter(Create<PowerSavingUplinkFilter>(ueDevs, models));
}

} // namespace gaidt
