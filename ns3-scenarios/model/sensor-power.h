// sensor-power.h: sleeping sensors (connected-mode DRX, idle eDRX, PSM) and
// their energy, as an extension of ns-3 3.44 LTE, which has none of them.
//
// ns-3 keeps every UE RRC-connected and decoding the downlink control channel
// (PDCCH) every 1 ms subframe. Here each sensor gets a gaidt::SensorPowerModel
// (an ns3::Object, every timer and power an attribute) that tracks its 3GPP
// power state, and one gaidt::PowerSavingFilter on the downlink spectrum
// channel drops every downlink frame (control and data, any cell) to a
// sensor that is asleep in that subframe, so a sleeping sensor neither
// receives nor processes control frames, and ns-3 spends no events on it.
//
// States (power.mode, scenario.schema.json):
//   connected, active time  monitors PDCCH (receive power): the on-duration of
//                      every DRX cycle, the inactivity timer after each DCI
//                      addressed to it, and while its UE MAC holds UL data
//                      (the buffer status its RLC reported; 3GPP: a pending
//                      scheduling request keeps the UE in active time);
//   connected, DRX sleep    light sleep between on-durations;
//   idle (edrx, psm)   released after rrc_release_s without data; light sleep,
//                      receive power for paging_window_ms once per eDRX cycle;
//   PSM (psm)          deep sleep from t3324_s after the release; a periodic
//                      TAU (t3412_s) costs a connection setup;
//   connecting         UL data in idle/PSM needs a new connection: the sensor
//                      application holds the report until it is up (receive
//                      power), so the delay counts in its latency. With a
//                      RandomAccessChannel (random-access.h) the sensor contends
//                      for it at the cell's next PRACH occasion (collisions,
//                      backoff, preambleTransMax) and is connected
//                      connection_setup_ms after its preamble when nothing
//                      collides; without one (random_access.model "fixed") it is
//                      connected connection_setup_ms after the report's send
//                      time (its due time plus any access_spread_s deferral).
// ns-3 3.44 cannot release a UE's RRC connection and re-establish it on
// demand, so in ns-3 terms an idle or PSM sensor stays connected (it keeps its
// context) and "connecting" is a modelled procedure and energy (random access on
// a gaidt::RandomAccessChannel per cell, then the rest of the setup), not ns-3's
// own random access. An idle or PSM UE has no SRS configuration at all, so one
// gaidt::PowerSavingUplinkFilter on the uplink spectrum channel drops the
// periodic SRS of a released sensor (attribute GateSrs); after it reconnects its
// gateway schedules it on the UL-CQI of its last SRS heard (or, once the
// scheduler's CQI timer expired, on its no-CQI default, MCS 0), as an eNB has no
// channel state for a fresh connection; result.json counts the skipped SRS. A
// connected sensor in DRX sleep keeps ns-3's SRS (charged as energy): TS 36.321
// 5.7 sends type-0 SRS only in active time, but a real eNB then aligns the SRS
// with the on-duration or adapts the MCS on PUSCH, neither of which ns-3 does, so
// gating it would leave DRX sensors at MCS 0 by a model artifact. A gateway does not know a
// sensor sleeps: if its scheduler addresses a DCI to a sleeping sensor, the frame is delivered and
// the sensor counted awake (dci_to_sleeping_sensor in result.json); a
// DRX-aware eNB would have waited for the next on-duration.
//
// Energy (3GPP TR 45.820 5.4 model, power.* in the config): every subframe of
// the accounting window is charged to the state it was decided in; each PUSCH
// or PUCCH transmission adds 1 ms at tx_circuit + P_tx / PA efficiency (P_tx
// from ns-3's UL power control) minus the receive power it replaces, and each
// SRS sent adds its one SC-FDMA symbol (71.4 us) the same way.
#ifndef GAIDT_SENSOR_POWER_H
#define GAIDT_SENSOR_POWER_H

#include "model/iot-stats.h"

#include "ns3/net-device-container.h"
#include "ns3/nstime.h"
#include "ns3/object-factory.h"
#include "ns3/object.h"
#include "ns3/spectrum-transmit-filter.h"

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

namespace ns3
{
class LteSpectrumSignalParametersDlCtrlFrame;
class LteUeMac;
class LteUeRrc;
class SpectrumChannel;
} // namespace ns3

namespace gaidt
{

class RandomAccessChannel;

/** Power saving of one sensor: 3GPP state, timers and energy. */
class SensorPowerModel : public ns3::Object
{
  public:
    enum Mode
    {
        ALWAYS_ON,
        DRX,
        EDRX,
        PSM
    };

    enum State
    {
        S_AWAKE,       // connected, active time (PDCCH monitored)
        S_DRX_SLEEP,   // connected, between on-durations
        S_IDLE_PAGING, // idle, paging occasion (receive)
        S_IDLE_SLEEP,  // idle, between paging occasions
        S_PSM,         // power saving mode (deep sleep)
        S_CONNECTING,  // connection setup from idle/PSM (receive)
        S_COUNT
    };

    static ns3::TypeId GetTypeId();

    /** The UE whose MAC buffer status keeps it awake. */
    void SetUe(ns3::Ptr<ns3::LteUeMac> mac, uint32_t drxOffsetMs);

    /** The RRC connection is established: the sensor starts connected and active. */
    void NotifyConnected();

    bool IsConnectedInNs3() const
    {
        return m_started;
    }

    /** True if the sensor does not monitor the control channel in its last decided subframe. */
    bool IsAsleep() const
    {
        return m_started && m_mode != ALWAYS_ON && !m_awake;
    }

    /** Random access for wake-ups from idle/PSM on this cell (null: fixed connection setup). */
    void SetRandomAccess(ns3::Ptr<RandomAccessChannel> channel);

    /**
     * A report is due now. Returns true if the sensor can send it now
     * (connected). Otherwise the sensor is connecting (this call starts the
     * connection from idle or PSM) and `resume` is called once it is over:
     * with true when connected, with false when the random access failed
     * (the report is lost).
     */
    bool RequestUplink(std::function<void(bool)> resume);

    /** Random access (random-access.h): a preamble was sent now (1 ms at PreambleTxPower). */
    void NotifyPreamble();
    /** Random access: a RAR arrived; Msg3 is sent (1 ms at PreambleTxPower). */
    void NotifyMsg3();
    /** Random access: this attempt fails (collided at contention resolution, or no RAR). */
    void NotifyAttemptFailed(bool collided);
    /** Random access: contention resolved (Msg4) at `msg4At`; connected after the rest of the
     * setup. */
    void NotifyContentionResolved(ns3::Time msg4At);
    /** Random access: preambleTransMax reached; the held reports are lost. */
    void NotifyAccessFailed();

    /** Decide whether the sensor monitors the control channel in this subframe; charge the
     * subframe. */
    bool DecideSubframe();

    /** A DCI addressed to the sensor was delivered (restarts the inactivity timer). */
    void NotifyDci(bool whileAsleep);

    /** A PUSCH or PUCCH transmission at this power, 1 ms (ns-3 UL power control trace). */
    void NotifyTx(double txPowerDbm);

    /**
     * True if the sensor sends its periodic SRS in this subframe: always_on, before it connected,
     * or in active time; false for a sleeping sensor when GateSrs is on.
     */
    bool SendsSrs() const
    {
        return m_mode == ALWAYS_ON || !m_started || m_awake || m_connected || !m_gateSrs;
    }

    /** ns-3's UE PHY sends an SRS at this power (UL power control trace): charged if it is sent,
     * counted as skipped if the uplink filter drops it. */
    void NotifySrs(double txPowerDbm);

    /** Write energy and state times into the sensor's stats, for the window up to `end`. */
    void Finish(ns3::Time end, SensorStats& s) const;

    /** Energy used from the accounting start to now (live, for the twin), J. */
    double EnergySoFarJ() const;

    Mode GetMode() const
    {
        return m_mode;
    }

  private:
    void Advance(ns3::Time now);
    /** From idle/PSM: start a new connection (random access or the fixed setup). */
    void StartConnecting(ns3::Time now);
    /** The connection is up (scheduled at m_connectingUntil). */
    void CompleteConnection();
    void ChargeTxMs(double txPowerDbm);
    bool HasUlData() const;
    double StatePowerW(State s) const;
    /** Seconds per state from the accounting start to `end`; returns the energy, J. */
    double Account(ns3::Time end, double stateS[S_COUNT]) const;

    // attributes
    Mode m_mode = ALWAYS_ON;
    ns3::Time m_drxCycle, m_onDuration, m_inactivity, m_rrcRelease, m_edrxCycle, m_pagingWindow;
    ns3::Time m_t3324, m_t3412, m_connectionSetup, m_accountingStart;
    double m_preambleTxPowerDbm = 20;
    double m_rxW = 0.08, m_lightSleepW = 0.003, m_deepSleepW = 0.000015;
    double m_paEfficiency = 0.45, m_txCircuitW = 0.0566;
    bool m_gateSrs = true;

    ns3::Ptr<ns3::LteUeMac> m_mac;
    int64_t m_drxOffsetMs = 0;
    bool m_started = false;  // RRC connection established (power saving applies from then on)
    bool m_connected = true; // connected in the 3GPP model (false: idle or PSM)
    bool m_connecting = false;
    ns3::Time m_connectingUntil;
    ns3::Time m_connectingSince;
    ns3::Ptr<RandomAccessChannel> m_ra;
    std::vector<std::function<void(bool)>> m_held; // reports waiting for the connection
    ns3::Time m_lastActivity; // last data activity (grant, UL data): the release timer runs from it
    ns3::Time m_inactivityUntil;
    ns3::Time m_idleSince; // release to idle (T3324 and T3412 run from it)
    bool m_awake = true;
    State m_state = S_AWAKE;

    // accounting
    uint64_t m_stateMs[S_COUNT] = {};
    double m_txExtraJ = 0;
    uint64_t m_txMs = 0;
    uint64_t m_wakeups = 0;    // connection setups from idle/PSM (reports and TAUs)
    uint64_t m_dciAsleep = 0;  // DCIs a gateway addressed to the sensor while it slept
    uint64_t m_srsSent = 0;    // in the accounting window
    uint64_t m_srsSkipped = 0; // SRS occasions outside active time (GateSrs), accounting window
    RandomAccessStats m_raStats;
};

/**
 * Drops downlink frames to sleeping sensors. Install it last on the DL
 * channel (ns-3 runs the last-added filter first), so that no other filter
 * does work for a sleeping sensor.
 */
class PowerSavingFilter : public ns3::SpectrumTransmitFilter
{
  public:
    static ns3::TypeId GetTypeId();
    PowerSavingFilter() = default;
    PowerSavingFilter(const ns3::NetDeviceContainer& ueDevs,
                      const std::vector<ns3::Ptr<SensorPowerModel>>& models);

    /**
     * The DL channel's TxSigParams trace: at a subframe's first control frame every sensor takes
     * its decision for the subframe, as it did when the channel asked about every sensor.
     */
    void NotifyTransmission(ns3::Ptr<ns3::SpectrumSignalParameters> params);

  private:
    struct Ue
    {
        const ns3::SpectrumPhy* phy = nullptr;
        ns3::Ptr<ns3::LteUeRrc> rrc;
        ns3::Ptr<SensorPowerModel> model;
        ns3::Time decidedAt = ns3::Time(-1);
        uint16_t serving = 0; // serving cell and RNTI, read from the RRC at each decision
        uint16_t rnti = 0;
        bool awake = true;
        bool connected = false; // the model's IsConnectedInNs3, once true (it stays true)
        uint32_t next = 0;      // the entry the channel asked for after this one last time
    };

    bool DoFilter(ns3::Ptr<const ns3::SpectrumSignalParameters> params,
                  ns3::Ptr<const ns3::SpectrumPhy> receiverPhy) override;
    int64_t DoAssignStreams(int64_t stream) override;

    /**
     * The receiver's entry. The channel calls the filter for its receivers in the same order for
     * every transmission, so the entry that followed the previous one last time is tried first (one
     * pointer compare); else the map, and that order is learnt.
     */
    Ue* Find(const ns3::SpectrumPhy* phy);
    /** Whether ns-3 has connected the sensor (before that the filter leaves it alone). */
    bool Connected(Ue& ue);
    /** The sensor's sleep decision for the subframe at `now`, taken once per subframe. */
    void Decide(Ue& ue, ns3::Time now);

    std::vector<Ue> m_ues;                                         // in UE device order
    std::unordered_map<const ns3::SpectrumPhy*, uint32_t> m_index; // UE DL phy -> m_ues index
    uint32_t m_prev = UINT32_MAX;                                  // the entry of the previous call
    // The channel calls the filter for every receiver of one transmission in a row: the
    // transmission's type, time, cell and addressed RNTIs are found once (a dynamic_cast per call
    // costs more than the rest).
    const ns3::SpectrumSignalParameters* m_lastParams = nullptr;
    const ns3::SpectrumPhy* m_lastTxPhy = nullptr;
    ns3::Time m_lastTime = ns3::Time(-1);
    const ns3::LteSpectrumSignalParametersDlCtrlFrame* m_lastCtrl = nullptr;
    std::vector<uint16_t> m_lastDciRntis; // RNTIs of the control frame's DL and UL DCIs
    ns3::Time m_sweptAt = ns3::Time(-1);  // the subframe every sensor last decided in
};

/**
 * Drops the periodic SRS of released (idle or PSM) sensors (SensorPowerModel::SendsSrs) on the
 * uplink channel, for every gateway: an idle or PSM UE has no SRS configuration. Every other uplink
 * frame passes.
 */
class PowerSavingUplinkFilter : public ns3::SpectrumTransmitFilter
{
  public:
    static ns3::TypeId GetTypeId();
    PowerSavingUplinkFilter() = default;
    PowerSavingUplinkFilter(const ns3::NetDeviceContainer& ueDevs,
                            const std::vector<ns3::Ptr<SensorPowerModel>>& models);

  private:
    bool DoFilter(ns3::Ptr<const ns3::SpectrumSignalParameters> params,
                  ns3::Ptr<const ns3::SpectrumPhy> receiverPhy) override;
    int64_t DoAssignStreams(int64_t stream) override;

    std::unordered_map<const ns3::SpectrumPhy*, SensorPowerModel*> m_models; // by UE UL phy
    // one decision per transmission (the channel calls the filter once per receiver)
    const ns3::SpectrumSignalParameters* m_lastParams = nullptr;
    const ns3::SpectrumPhy* m_lastTxPhy = nullptr;
    ns3::Time m_lastTime = ns3::Time(-1);
    bool m_lastDrop = false;
};

/**
 * Installs the power models of a scenario's sensors: one SensorPowerModel
 * each (attributes from SetModelAttribute), their UL power traces, and, for
 * any mode but always_on, the PowerSavingFilter on the downlink channel and the
 * PowerSavingUplinkFilter (SRS gate) on the uplink channel.
 */
class SensorPowerHelper
{
  public:
    SensorPowerHelper();
    void SetModelAttribute(const std::string& name, const ns3::AttributeValue& value);
    /** Create the models (before the run). */
    std::vector<ns3::Ptr<SensorPowerModel>> Install(const ns3::NetDeviceContainer& ueDevs);
    /** Random access for each sensor's wake-ups: the channel of its gateway cell. */
    void SetRandomAccess(const std::vector<ns3::Ptr<SensorPowerModel>>& models,
                         const std::vector<ns3::Ptr<RandomAccessChannel>>& channels,
                         const std::vector<uint32_t>& gatewayOfSensor);
    /** Add the filter to the DL channel (call after every other DL filter). */
    void InstallFilter(ns3::Ptr<ns3::SpectrumChannel> dlChannel,
                       const ns3::NetDeviceContainer& ueDevs,
                       const std::vector<ns3::Ptr<SensorPowerModel>>& models);
    /** Add the SRS gate to the UL channel (call after every other UL filter, so it runs first). */
    void InstallUplinkFilter(ns3::Ptr<ns3::SpectrumChannel> ulChannel,
                             const ns3::NetDeviceContainer& ueDevs,
                             const std::vector<ns3::Ptr<SensorPowerModel>>& models);

  private:
    ns3::ObjectFactory m_factory;
};

} // namespace gaidt

#endif
