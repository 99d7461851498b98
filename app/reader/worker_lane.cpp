// See worker_lane.h.
#include "app/reader/worker_lane.h"

namespace mm::memoryui {

WorkerLane::WorkerLane(const QString& name)
{
    m_pool.setObjectName(name);
    m_pool.setMaxThreadCount(1);
    m_pool.setExpiryTimeout(-1);  // one thread for the lane's life: its connection stays on it
}

WorkerLane::~WorkerLane() { drain(); }

void WorkerLane::post(std::function<void()> job) { m_pool.start(std::move(job)); }

void WorkerLane::drain() { m_pool.waitForDone(); }

}  // namespace mm::memoryui
