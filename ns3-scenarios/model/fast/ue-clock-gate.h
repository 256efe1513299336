// ue-clock-gate.h: a sleeping sensor's UE PHY and MAC skip the per-subframe
// work that has nothing to do, with the same results bit for bit.
//
// ns-3 3.44's LteUePhy::SubframeIndication runs every 1 ms for every UE, asleep
// or not, and reschedules itself (it is neither virtual nor cancellable). For a
// UE with nothing queued it still builds an uplink transmit PSD, shifts its
// uplink queues (a new PacketBurst each subframe), and has the MAC scan its
// HARQ buffers. In large with power saving that was 28% of the samples of the
// traffic and drain phases, almost all of it for sensors in DRX sleep
// (benchmarks/large-psm-traffic-perf-2026-11-28-before-gate.txt).
//
// A gaidt::UeClockGate sits between a UE's PHY and MAC (the PHY's
// LteUePhySapUser, which forwards everything to the MAC). When the next
// subframe looks idle (below) at the end of a subframe, and the sensor is
// asleep (SensorPowerModel) or the attribute ParkWhileAwake is set, the gate
// "parks" the PHY's clock: it sets the PHY's TTI far beyond any simulation's end, so the PHY's
// own next SubframeIndication is never reached, and schedules its own 1 ms
// event instead, at the very point the PHY would have scheduled its own (same
// time, and the same place among the events of that time). Each subframe the
// gate checks whether the PHY and MAC would do anything observable:
//   - a control message or a UL resource mask in the PHY's queues (they shift
//     by one each subframe), or a packet burst, which the MAC's HARQ timers
//     cover (below);
//   - an SRS occasion of the UE (its periodicity and offset, as the PHY checks);
//   - a fresh buffer status report in the MAC, or a UL HARQ buffer still alive.
// If none, it does what the PHY and MAC would have done, which is state only:
// the PHY's per-subframe flags, its (empty) UL resource mask and subframe
// number; the MAC's frame and subframe numbers, its HARQ process number and
// HARQ buffer timers. Otherwise it gives the subframe back to ns-3: it restores
// the TTI and calls LteUePhy::SubframeIndication itself, with the right frame
// and subframe numbers, from the same place in the event order, and the PHY's
// clock runs on its own again. Skipped: building the PSD (its trace,
// ReportPowerSpectralDensity, fires only for subframes ns-3 runs) and
// replacing empty queue entries by new empty ones. A sleeping sensor still
// receives a DCI a gateway sends it (PowerSavingFilter); that fills the queues,
// and the next subframe is ns-3's again.
//
// Each park leaves the PHY's own next subframe event 1e9 s ahead, never run
// (run.ue_clock.parks counts the parks). gaidt::QuadHeapScheduler releases such
// events at once (its Horizon, set to ParkingHorizon() by the scenario), so with
// it the scenario parks any idle UE (ParkWhileAwake); with another event queue
// they would pile up, one per park, so it parks only sleeping sensors. The
// members the gate reads and writes are private to ns-3's classes; it reaches
// them as lte-private-access.h does. tests/test_ue_clock_gate.py runs drx, edrx,
// psm and always_on with and without the gate and compares events, KPIs, power
// and every sensor and gateway; the always_on golden test runs through it.
#ifndef GAIDT_UE_CLOCK_GATE_H
#define GAIDT_UE_CLOCK_GATE_H

#include "ns3/lte-ue-phy-sap.h"
#include "ns3/net-device-container.h"
#include "ns3/nstime.h"
#include "ns3/object.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace ns3
{
class LteUeMac;
class LteUePhy;
} // namespace ns3

namespace gaidt
{

class SensorPowerModel;

/** The subframe clock of one sensor's UE PHY and MAC, paused while it has nothing to do. */
class UeClockGate : public ns3::Object
{
  public:
    static ns3::TypeId GetTypeId();
    UeClockGate();
    ~UeClockGate() override;

    /** Put the gate between the UE's PHY and MAC (before the simulation starts). */
    void Install(ns3::Ptr<ns3::LteUePhy> phy,
                 ns3::Ptr<ns3::LteUeMac> mac,
                 ns3::Ptr<SensorPowerModel> model);

    /**
     * The parked PHY clock's next subframe is scheduled 1e9 s ahead; an event queue that
     * releases events at or after this horizon (QuadHeapScheduler's Horizon) never stores them.
     */
    static ns3::Time ParkingHorizon();

    /** Subframes whose PHY and MAC work the gate did itself. */
    uint64_t GetGatedSubframes() const
    {
        return m_gated;
    }

    /** Times the PHY's clock was parked (each leaves one never-run event). */
    uint64_t GetParks() const
    {
        return m_parks;
    }

  private:
    class SapUser;
    friend class SapUser;

    void DoDispose() override;
    /** End of a subframe ns-3 ran (called by the PHY through the SAP, after the MAC's turn). */
    void EndOfSubframe(uint32_t frameNo, uint32_t subframeNo);
    /** The gate's own subframe event while the PHY's clock is parked. */
    void Subframe();
    /** True if the PHY and MAC would only update state in this subframe. */
    bool Idle(uint32_t frameNo, uint32_t subframeNo) const;
    /** That state update. */
    void RunIdle(uint32_t frameNo, uint32_t subframeNo);

    ns3::Ptr<ns3::LteUePhy> m_phy;
    ns3::Ptr<ns3::LteUeMac> m_mac;
    ns3::Ptr<SensorPowerModel> m_model;
    ns3::LteUePhySapUser* m_macSap = nullptr; // the MAC's own SAP user
    std::unique_ptr<SapUser> m_sap;
    double m_ttiS = 0.001; // the PHY's TTI
    uint32_t m_frameNo = 0;
    uint32_t m_subframeNo = 0;
    bool m_harqClean = false;      // MAC HARQ buffers known empty since the last subframe ns-3 ran
    bool m_parkWhileAwake = false; // attribute ParkWhileAwake
    uint64_t m_gated = 0;
    uint64_t m_parks = 0;
};

/** Installs a UeClockGate on every sensor. */
class UeClockGateHelper
{
  public:
    /**
     * \param parkWhileAwake park whenever the UE is idle (attribute ParkWhileAwake): only when the
     *        event queue releases the parked events (ParkingHorizon), else each park leaves one
     */
    std::vector<ns3::Ptr<UeClockGate>> Install(
        const ns3::NetDeviceContainer& ueDevs,
        const std::vector<ns3::Ptr<SensorPowerModel>>& models,
        bool parkWhileAwake);
};

} // namespace gaidt

#endif
