// quad-heap-scheduler.h: ns-3's event queue as a 4-ary implicit min-heap.
//
// ns-3's simulator asks its Scheduler for the event with the smallest key
// (time stamp, then uid) and runs it. The uid is unique, so any correct
// priority queue on that key hands out exactly the same events in exactly the
// same order as ns3::HeapScheduler or ns3::MapScheduler: results are
// bit-identical (tests/test_event_scheduler.py), only the speed differs.
//
// Why another one: at `large` (1000 sensors / 20 gateways) a run spends about
// 8-10% of its time in ns3::HeapScheduler, a binary heap of Event values.
// A run holds a few thousand pending events and takes about 3 million events
// per simulated second. A 4-ary heap is half as deep, a node's four children
// sit next to each other (96 bytes, two or three cache lines), and
// RemoveNext moves a hole down instead of swapping pairs of events, so
// each level writes one event instead of two. Measured with perf at large
// PSM (2026-11-28, one run each): the queue's share of samples went from 8.4%
// (HeapScheduler) to 4.8%, most of it SiftDown waiting for the children
// (benchmarks/large-psm-event-queue-perf-2026-11-28.txt).
//
// Remove (Simulator::Remove, e.g. ns3::Timer with REMOVE_ON_DESTROY) is rare:
// it finds the event by a linear scan, O(n).
//
// Horizon (attribute, default none): an event scheduled at or after it is
// released at once instead of stored, as if the simulation had ended before
// it. The scenario sets it far beyond any run's end, where gaidt::UeClockGate
// parks the UE PHY clocks it takes over (ue-clock-gate.h): those events would
// never run, and would otherwise pile up in the queue, one per park. A run with
// a Horizon must end by Simulator::Stop before it with events still queued (the
// scenario's gateways reschedule their subframes forever): ns-3 3.44's
// end-of-run check (DefaultSimulatorImpl::Run) counts released events as
// pending and aborts if the queue ran empty.
#ifndef GAIDT_QUAD_HEAP_SCHEDULER_H
#define GAIDT_QUAD_HEAP_SCHEDULER_H

#include "ns3/nstime.h"
#include "ns3/scheduler.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gaidt
{

/**
 * An exact ns3::Scheduler: a 4-ary min-heap over a contiguous vector of events, ordered by
 * Scheduler::EventKey (time stamp, then uid), as every ns-3 scheduler is. Select it with
 * `Simulator::SetScheduler` (config: `sim.event_scheduler = "quad_heap"`).
 */
class QuadHeapScheduler : public ns3::Scheduler
{
  public:
    /** \return the TypeId ("gaidt::QuadHeapScheduler") */
    static ns3::TypeId GetTypeId();

    QuadHeapScheduler();
    ~QuadHeapScheduler() override;

    /** \param ev the event to store; its uid must not be in the queue already */
    void Insert(const Event& ev) override;
    /** \return true if no event is pending */
    bool IsEmpty() const override;
    /** \return the event with the smallest key; the queue must not be empty */
    Event PeekNext() const override;
    /** \return the event with the smallest key, taken out of the queue; the queue must not be
     *  empty */
    Event RemoveNext() override;
    /** \param ev an event in the queue (found by uid), taken out; O(n) */
    void Remove(const Event& ev) override;

  private:
    /// children per node
    static constexpr std::size_t kArity = 4;

    /**
     * Move `ev` from the hole at `index` towards the root past every larger parent, then store
     * it.
     * \param index the hole's index
     * \param ev the event to place
     */
    void SiftUp(std::size_t index, const Event& ev);
    /**
     * Move `ev` from the hole at `index` towards the leaves past every smaller child, then store
     * it.
     * \param index the hole's index
     * \param ev the event to place
     */
    void SiftDown(std::size_t index, const Event& ev);

    /// the heap: m_heap[0] is the smallest key; node i's children are 4i+1 .. 4i+4
    std::vector<Event> m_heap;
    /// events at or after this are released, not stored (Time::Max(): none)
    ns3::Time m_horizon = ns3::Time::Max();
    /// the last event beyond the horizon, whose reference the next call releases
    ns3::EventImpl* m_beyondHorizonImpl = nullptr;

    /// drop the reference to the last event beyond the horizon, if any
    void ReleaseBeyondHorizon();
};

} // namespace gaidt

#endif // GAIDT_QUAD_HEAP_SCHEDULER_H
