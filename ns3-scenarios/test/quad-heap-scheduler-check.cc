// quad-heap-scheduler-check.cc: runs gaidt::QuadHeapScheduler and ns3::MapScheduler side by side
// on a random sequence of Insert, RemoveNext and Remove and checks that they agree at every step.
//
// The scenario's own runs compare whole results (tests/test_event_scheduler.py), but they never
// call Remove (Simulator::Remove, e.g. an ns3::Timer with REMOVE_ON_DESTROY), and a 1.5 s run
// reaches only the queue sizes it happens to reach. Here Remove takes a random pending event, many
// events share a time stamp (ties broken by uid, as at the 1 ms subframe boundaries), and the
// queue grows to thousands of events and drains to empty.
//
// --horizon instead runs ns-3's simulator on a QuadHeapScheduler with a Horizon: events before it
// run, events at or after it never do, and Simulator::Remove/Cancel of such events (also right
// after scheduling one, while the queue still holds its reference) leave every EventImpl with
// exactly the EventId's reference.
//
// Usage: gaidt-quad-heap-scheduler-check [--seed=N] [--ops=N] [--horizon]; exit status 0 if they
// agreed.
#include "model/fast/quad-heap-scheduler.h"

#include "ns3/command-line.h"
#include "ns3/event-impl.h"
#include "ns3/map-scheduler.h"
#include "ns3/nstime.h"
#include "ns3/object-factory.h"
#include "ns3/ptr.h"
#include "ns3/simulator.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <unordered_map>
#include <vector>

using namespace ns3;

namespace
{

bool
Same(const Scheduler::Event& a, const Scheduler::Event& b)
{
    return a.impl == b.impl && a.key.m_ts == b.key.m_ts && a.key.m_uid == b.key.m_uid &&
           a.key.m_context == b.key.m_context;
}

/** The --horizon check; 0 if it holds. */
int
HorizonCheck()
{
    ObjectFactory factory;
    factory.SetTypeId("gaidt::QuadHeapScheduler");
    factory.Set("Horizon", TimeValue(Seconds(100)));
    Simulator::SetScheduler(factory);
    int ran = 0;
    int ranBeyond = 0;
    std::vector<EventId> beyond;
    for (int i = 0; i < 1000; ++i)
    {
        Simulator::Schedule(MilliSeconds(i), [&ran]() { ++ran; });
        beyond.push_back(Simulator::Schedule(Seconds(200 + i), [&ranBeyond]() { ++ranBeyond; }));
    }
    for (int i = 0; i < 300; ++i)
    {
        Simulator::Remove(beyond[i]);
    }
    for (int i = 300; i < 600; ++i)
    {
        Simulator::Cancel(beyond[i]);
    }
    // removed while the queue still holds its reference (released at the next queue call)
    beyond.push_back(Simulator::Schedule(Seconds(300), [&ranBeyond]() { ++ranBeyond; }));
    Simulator::Remove(beyond.back());
    // Stopped before the horizon with an event still queued, as the scenario always is (its
    // gateways' subframes run forever): ns-3's end-of-run check counts released events as pending.
    Simulator::Schedule(Seconds(60), [&ran]() { ++ran; });
    Simulator::Stop(Seconds(50));
    Simulator::Run();
    bool ok = ran == 1000 && ranBeyond == 0;
    for (const EventId& id : beyond)
    {
        ok = ok && id.PeekEventImpl()->GetReferenceCount() == 1;
    }
    ok = ok && !beyond[700].IsExpired(); // pending forever, as an event after the end would be
    Simulator::Destroy();
    if (!ok)
    {
        std::cerr << "gaidt-quad-heap-scheduler-check --horizon: failed (ran " << ran
                  << " of 1000, beyond the horizon ran " << ranBeyond << ")\n";
        return 1;
    }
    std::cout << "ok: horizon: 1000 events ran, 1001 beyond it released, 601 removed or "
                 "cancelled\n";
    return 0;
}

} // namespace

int
main(int argc, char* argv[])
{
    uint64_t seed = 1;
    uint32_t ops = 100000;
    CommandLine cmd(__FILE__);
    cmd.AddValue("seed", "random seed of the operation sequence", seed);
    cmd.AddValue("ops", "number of operations before the final drain", ops);
    bool horizon = false;
    cmd.AddValue("horizon", "check the Horizon attribute with ns-3's simulator instead", horizon);
    cmd.Parse(argc, argv);
    if (horizon)
    {
        return HorizonCheck();
    }

    std::mt19937_64 rng(seed);
    Ptr<Scheduler> ref = CreateObject<MapScheduler>();
    Ptr<Scheduler> quad = CreateObject<gaidt::QuadHeapScheduler>();
    // pending events in any order, for Remove to pick from
    std::vector<Scheduler::Event> pending;
    std::unordered_map<uint32_t, std::size_t> indexOfUid;
    uint32_t nextUid = 4; // ns-3 reserves uids 0-3
    uint64_t now = 0;
    uint64_t inserts = 0;
    uint64_t removeNexts = 0;
    uint64_t removes = 0;
    std::size_t maxPending = 0;

    auto forget = [&](uint32_t uid) {
        const std::size_t i = indexOfUid.at(uid);
        indexOfUid.erase(uid);
        if (i + 1 != pending.size())
        {
            pending[i] = pending.back();
            indexOfUid[pending[i].key.m_uid] = i;
        }
        pending.pop_back();
    };
    auto fail = [&](const char* what, uint64_t step) {
        std::cerr << "gaidt-quad-heap-scheduler-check: " << what << " differs at step " << step
                  << " (seed " << seed << ")\n";
        return 1;
    };

    for (uint64_t step = 0; step < ops || !pending.empty(); ++step)
    {
        if (ref->IsEmpty() != quad->IsEmpty())
        {
            return fail("IsEmpty", step);
        }
        if (!pending.empty() && !Same(ref->PeekNext(), quad->PeekNext()))
        {
            return fail("PeekNext", step);
        }
        const bool draining = step >= ops;
        // grow for the first half, shrink in the second half
        const unsigned insertPercent = step < ops / 2 ? 60 : 40;
        const unsigned r = rng() % 100;
        if (!draining && (pending.empty() || r < insertPercent))
        {
            // mostly subframe boundaries (1 ms = 1e6 ns steps) plus a few small offsets, with
            // ties on the time stamp; sometimes now
            uint64_t ts = now;
            const unsigned kind = rng() % 10;
            if (kind < 6)
            {
                ts += 1000000 * (1 + rng() % 40);
            }
            else if (kind < 9)
            {
                ts += 1000000 * (rng() % 40) + 1000 * (rng() % 4);
            }
            Scheduler::Event ev;
            ev.key.m_ts = ts;
            ev.key.m_uid = nextUid++;
            ev.key.m_context = static_cast<uint32_t>(rng() % 1000);
            // never dereferenced by a scheduler; distinct per event so a mix-up shows
            ev.impl = reinterpret_cast<EventImpl*>(static_cast<uintptr_t>(ev.key.m_uid) * 16);
            ref->Insert(ev);
            quad->Insert(ev);
            indexOfUid[ev.key.m_uid] = pending.size();
            pending.push_back(ev);
            ++inserts;
            maxPending = std::max(maxPending, pending.size());
        }
        else if (draining || r < 85)
        {
            const Scheduler::Event a = ref->RemoveNext();
            const Scheduler::Event b = quad->RemoveNext();
            if (!Same(a, b))
            {
                return fail("RemoveNext", step);
            }
            now = a.key.m_ts;
            forget(a.key.m_uid);
            ++removeNexts;
        }
        else
        {
            const Scheduler::Event ev = pending[rng() % pending.size()];
            ref->Remove(ev);
            quad->Remove(ev);
            forget(ev.key.m_uid);
            ++removes;
        }
    }
    if (!ref->IsEmpty() || !quad->IsEmpty())
    {
        return fail("final IsEmpty", ops);
    }
    std::cout << "ok: " << inserts << " inserts, " << removeNexts << " RemoveNext, " << removes
              << " Remove, up to " << maxPending << " pending\n";
    return 0;
}
