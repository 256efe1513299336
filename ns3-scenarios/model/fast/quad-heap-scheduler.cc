#include "model/fast/quad-heap-scheduler.h"

#include "ns3/abort.h"
#include "ns3/assert.h"
#include "ns3/event-impl.h"
#include "ns3/log.h"

#include <algorithm>

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtQuadHeapScheduler");
NS_OBJECT_ENSURE_REGISTERED(QuadHeapScheduler);

TypeId
QuadHeapScheduler::GetTypeId()
{
    static TypeId tid = TypeId("gaidt::QuadHeapScheduler")
                            .SetParent<Scheduler>()
                            .SetGroupName("Gaidt")
                            .AddConstructor<QuadHeapScheduler>()
                            .AddAttribute("Horizon",
                                          "Events scheduled at or after this simulated time are "
                                          "released at once, never run (default: none).",
                                          TimeValue(Time::Max()),
                                          MakeTimeAccessor(&QuadHeapScheduler::m_horizon),
                                          MakeTimeChecker());
    return tid;
}

QuadHeapScheduler::QuadHeapScheduler()
{
    NS_LOG_FUNCTION(this);
}

QuadHeapScheduler::~QuadHeapScheduler()
{
    NS_LOG_FUNCTION(this);
    ReleaseBeyondHorizon();
}

void
QuadHeapScheduler::ReleaseBeyondHorizon()
{
    if (m_beyondHorizonImpl)
    {
        m_beyondHorizonImpl->Unref();
        m_beyondHorizonImpl = nullptr;
    }
}

// Insert, PeekNext and RemoveNext run millions of times per simulated second: they log at
// LOG_LOGIC only, so a run with the component's function logging stays readable.

void
QuadHeapScheduler::Insert(const Event& ev)
{
    NS_LOG_LOGIC("insert uid " << ev.key.m_uid << " at ts " << ev.key.m_ts);
    ReleaseBeyondHorizon();
    if (ev.key.m_ts >= static_cast<uint64_t>(m_horizon.GetTimeStep()))
    {
        // The queue's reference, released at the next call: the simulator still builds the
        // EventId from this pointer after Insert returns.
        m_beyondHorizonImpl = ev.impl;
        return;
    }
    m_heap.emplace_back();
    SiftUp(m_heap.size() - 1, ev);
}

bool
QuadHeapScheduler::IsEmpty() const
{
    return m_heap.empty();
}

Scheduler::Event
QuadHeapScheduler::PeekNext() const
{
    NS_ASSERT(!m_heap.empty());
    return m_heap.front();
}

Scheduler::Event
QuadHeapScheduler::RemoveNext()
{
    NS_ASSERT(!m_heap.empty());
    ReleaseBeyondHorizon();
    const Event next = m_heap.front();
    const Event last = m_heap.back();
    m_heap.pop_back();
    if (!m_heap.empty())
    {
        SiftDown(0, last);
    }
    NS_LOG_LOGIC("next uid " << next.key.m_uid << " at ts " << next.key.m_ts);
    return next;
}

void
QuadHeapScheduler::Remove(const Event& ev)
{
    NS_LOG_FUNCTION(this << ev.key.m_uid << ev.key.m_ts);
    if (ev.key.m_ts >= static_cast<uint64_t>(m_horizon.GetTimeStep()))
    {
        // Released at Insert. The simulator drops the queue's reference after this call: keep
        // the count balanced (the reference is still ours if its release is pending).
        if (m_beyondHorizonImpl == ev.impl)
        {
            m_beyondHorizonImpl = nullptr;
        }
        else
        {
            ev.impl->Ref();
        }
        return;
    }
    const auto it = std::find_if(m_heap.begin(), m_heap.end(), [&ev](const Event& e) {
        return e.key.m_uid == ev.key.m_uid;
    });
    NS_ABORT_MSG_IF(it == m_heap.end(), "event uid " << ev.key.m_uid << " is not in the queue");
    const std::size_t index = it - m_heap.begin();
    const Event last = m_heap.back();
    m_heap.pop_back();
    if (index == m_heap.size())
    {
        return; // it was the last element
    }
    // `last` fills the hole: it may be smaller than the hole's parent (another subtree) or
    // larger than the hole's children
    if (index > 0 && last.key < m_heap[(index - 1) / kArity].key)
    {
        SiftUp(index, last);
    }
    else
    {
        SiftDown(index, last);
    }
}

void
QuadHeapScheduler::SiftUp(std::size_t index, const Event& ev)
{
    while (index > 0)
    {
        const std::size_t parent = (index - 1) / kArity;
        if (!(ev.key < m_heap[parent].key))
        {
            break;
        }
        m_heap[index] = m_heap[parent];
        index = parent;
    }
    m_heap[index] = ev;
}

void
QuadHeapScheduler::SiftDown(std::size_t index, const Event& ev)
{
    const std::size_t size = m_heap.size();
    while (true)
    {
        const std::size_t first = index * kArity + 1;
        if (first >= size)
        {
            break;
        }
        const std::size_t end = std::min(first + kArity, size);
        std::size_t smallest = first;
        for (std::size_t child = first + 1; child < end; ++child)
        {
            if (m_heap[child].key < m_heap[smallest].key)
            {
                smallest = child;
            }
        }
        if (!(m_heap[smallest].key < ev.key))
        {
            break;
        }
        m_heap[index] = m_heap[smallest];
        index = smallest;
    }
    m_heap[index] = ev;
}

} // namespace gaidt
