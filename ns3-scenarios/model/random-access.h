// random-access.h: contention-based random access (3GPP TS 36.321 5.1) for
// sensors that wake from idle or PSM (sensor-power.h), one gaidt::RandomAccessChannel
// per gateway cell.
//
// ns-3 3.44 runs a UE's random access only at attachment, and it cannot
// release a UE's RRC connection and re-establish it on demand, so a sensor
// that wakes from idle or PSM stays connected in ns-3 and this model decides
// when its connection is up again (the sensor application holds the report
// until then; the wait counts in latency and deadline).
//
// The procedure, per cell:
//   - PRACH occasions every PrachPeriod (all cells aligned to t = 0);
//   - a waking sensor sends its preamble (Msg1, 1 ms at its maximum power)
//     at the first occasion at or after its wake-up, choosing one of
//     NumberOfRaPreambles contention preambles uniformly;
//   - the gateway detects every preamble sent (one or more senders: it cannot
//     tell a collision from a single preamble; ns-3's LteEnbMac, unlike 3GPP,
//     drops collided preambles here) and answers up to RarGrantsPerSubframe
//     of them per subframe of the RA response window, in preamble order, from
//     3 subframes after the preamble (TS 36.321 5.1.4). A preamble left
//     unanswered at the window's end is a failed attempt;
//   - each answered sensor sends Msg3 (1 ms, at its maximum power)
//     6 subframes after its RAR (TS 36.213 6.1.1, k1 >= 6);
//   - two or more sensors on one answered preamble collide: their Msg3s share
//     one grant and all of them fail contention resolution (the assumption of
//     3GPP TR 37.868's RACH evaluation; no capture), detected when
//     mac-ContentionResolutionTimer expires after Msg3;
//   - a sensor alone on its answered preamble receives Msg4 Msg4Delay after
//     Msg3: contention resolved;
//   - after a failed attempt the sensor backs off uniformly in [0, Backoff]
//     (the backoff indicator, TS 36.321 5.1.5 and Table 7.2-1) and retries at
//     the next occasion; after PreambleTransMax preambles without success the
//     access fails (random access problem, TS 36.321 5.1.4/5.1.5) and the
//     reports held for it are lost (counted).
// Not modelled: preamble misdetection and power ramping (every preamble is
// detected; it is charged at the UE's maximum power), Msg3/Msg4 HARQ errors,
// RRC T300, access class barring, CE levels and repetitions, PRACH
// interference between cells.
#ifndef GAIDT_RANDOM_ACCESS_H
#define GAIDT_RANDOM_ACCESS_H

#include "model/iot-stats.h"

#include "ns3/event-id.h"
#include "ns3/net-device-container.h"
#include "ns3/nstime.h"
#include "ns3/object-factory.h"
#include "ns3/object.h"
#include "ns3/random-variable-stream.h"

#include <map>
#include <vector>

namespace gaidt
{

class SensorPowerModel;

/** The PRACH and RA procedure of one gateway cell (contention between its waking sensors). */
class RandomAccessChannel : public ns3::Object
{
  public:
    static ns3::TypeId GetTypeId();
    RandomAccessChannel();

    /** A sensor starts contention-based random access now (its first preamble goes at the next
     * occasion). The channel reports each attempt and the outcome to the sensor's model. */
    void StartAccess(ns3::Ptr<SensorPowerModel> ue);

    /** The first PRACH occasion at or after `t`. */
    ns3::Time NextOccasion(ns3::Time t) const;

    /** From a preamble to contention resolution (Msg4) when nothing collides and the RAR is sent
     * at the start of the response window. */
    ns3::Time GetNoContentionProcedureTime() const;

    /** Use fixed random streams from `stream` on; returns the number used (1). Call it before
     * the run: without it the channel takes an automatic stream at its first occasion. */
    int64_t AssignStreams(int64_t stream);

    /** Counters of this cell. */
    using Counters = RaCellCounters; // iot-stats.h

    const Counters& GetCounters() const
    {
        return m_counters;
    }

  protected:
    void DoDispose() override;

  private:
    struct Attempt
    {
        ns3::Ptr<SensorPowerModel> ue;
        uint32_t transmissions = 0; // PREAMBLE_TRANSMISSION_COUNTER - 1
    };

    void Register(const Attempt& a, ns3::Time earliest);
    void RunOccasion();
    void OnAttemptFailed(Attempt a);

    // attributes
    ns3::Time m_prachPeriod;
    uint32_t m_numberOfRaPreambles = 52;
    uint32_t m_preambleTransMax = 10;
    uint32_t m_raResponseWindowSize = 5;
    uint32_t m_rarGrantsPerSubframe = 3;
    ns3::Time m_contentionResolutionTimer;
    ns3::Time m_msg4Delay;
    ns3::Time m_backoff;

    ns3::Ptr<ns3::UniformRandomVariable> m_rng;
    std::map<int64_t, std::vector<Attempt>> m_pending; // by occasion time, ns
    ns3::Time m_lastOccasionRun = ns3::Time(-1);
    Counters m_counters;
};

/**
 * Creates one RandomAccessChannel per gateway cell (attributes from
 * SetChannelAttribute) and assigns their random streams.
 */
class RandomAccessHelper
{
  public:
    RandomAccessHelper();
    void SetChannelAttribute(const std::string& name, const ns3::AttributeValue& value);
    /** One channel per gateway device, in the container's order. */
    std::vector<ns3::Ptr<RandomAccessChannel>> Install(const ns3::NetDeviceContainer& enbDevs);
    /** Fixed streams for the channels, from `stream` on; returns the number used. */
    int64_t AssignStreams(const std::vector<ns3::Ptr<RandomAccessChannel>>& channels,
                          int64_t stream);

  private:
    ns3::ObjectFactory m_factory;
};

} // namespace gaidt

#endif
