// iot-apps.h: the sensor (UE) and city-server applications of the IoT city.
//
// Every packet starts with a 24-byte application header (sensor id, sequence
// number, send time in ns, kind, deferral from the due time in us) so that the
// server can attribute each packet to its sensor and measure one-way latency
// from the moment the report was due; the rest is padding up to the drawn
// payload size.
#ifndef GAIDT_IOT_APPS_H
#define GAIDT_IOT_APPS_H

#include "model/iot-stats.h"

#include "ns3/application.h"
#include "ns3/event-id.h"
#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-address.h"
#include "ns3/nstime.h"
#include "ns3/random-variable-stream.h"
#include "ns3/socket.h"

#include <functional>
#include <memory>

namespace gaidt
{

constexpr uint32_t kAppHeaderBytes = 24;

enum class ServiceKind
{
    Mmtc,
    Tic,
    SelfSimilar
};

struct TrafficParams
{
    ServiceKind service = ServiceKind::Mmtc;
    double ulActivity = 1;           // fraction of sensors with UL requests at a time
    double reportPeriodS = 1;        // period of reports (mmtc/tic) or packets while ON
    double eventRateHz = 0;          // mmtc: extra Poisson event reports
    double accessSpreadS = 0;        // mmtc/tic: UL start jitter within a period
    bool synchronizedPeriods = true; // mmtc/tic: common period starts (simultaneous requests)
    double onMeanS = 1;              // self-similar: mean ON period
    double paretoShape = 1.5;        // self-similar: Pareto shape of ON/OFF periods
    uint32_t payloadMinBytes = 24;
    uint32_t payloadMaxBytes = 24;
    double deadlineMs = 100;
    double stopS = 0; // absolute simulation time at which sensors stop sending
};

/** A static IoT sensor: sends UL reports to the city server. */
class SensorApp : public ns3::Application
{
  public:
    static ns3::TypeId GetTypeId();
    void Setup(uint32_t sensorId,
               ns3::Address server,
               const TrafficParams& params,
               std::shared_ptr<IotStats> stats);
    /**
     * Asked before each send whether the radio can send now (true). If not, it
     * keeps the callback and calls it when the sensor is connected (true: the
     * report is sent then, the wait counting in its latency from its due time)
     * or its random access failed (false: the report is lost and counted).
     * A sleeping sensor's connection (sensor-power.h, random-access.h).
     */
    using UplinkGate = std::function<bool(std::function<void(bool)>)>;
    /** Ask `gate` before each send (unset: send at once). */
    void SetUplinkGate(UplinkGate gate);

  private:
    void StartApplication() override;
    void StopApplication() override;
    void SchedulePeriod();
    void OnPeriod();
    void ScheduleEvent();
    void OnEvent();
    void ToggleOnOff();
    void OnTimeSend();
    /** Send one report that was due at `due` (its reading time; latency counts from it). */
    void Send(ns3::Time due);
    void OnRecv(ns3::Ptr<ns3::Socket> socket);
    SensorStats& Me();

    uint32_t m_id = 0;
    ns3::Address m_server;
    TrafficParams m_p;
    std::shared_ptr<IotStats> m_stats;
    ns3::Ptr<ns3::Socket> m_socket;
    uint32_t m_seq = 0;
    bool m_on = false;
    ns3::EventId m_periodEvent, m_eventEvent, m_toggleEvent, m_sendEvent;
    ns3::Ptr<ns3::UniformRandomVariable> m_uniform;
    ns3::Ptr<ns3::ExponentialRandomVariable> m_exp;
    ns3::Ptr<ns3::ParetoRandomVariable> m_onRv, m_offRv;
    UplinkGate m_uplinkGate;
};

/** The city server behind the EPC: counts UL packets, echoes TIC requests. */
class CityServerApp : public ns3::Application
{
  public:
    static ns3::TypeId GetTypeId();
    void Setup(uint16_t port, const TrafficParams& params, std::shared_ptr<IotStats> stats);

  private:
    void StartApplication() override;
    void StopApplication() override;
    void OnRecv(ns3::Ptr<ns3::Socket> socket);

    uint16_t m_port = 9000;
    TrafficParams m_p;
    std::shared_ptr<IotStats> m_stats;
    ns3::Ptr<ns3::Socket> m_socket;
};

} // namespace gaidt

#endif
