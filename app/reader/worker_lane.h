// WorkerLane: where one worker's memory-library calls run, off the GUI thread. A
// QThreadPool of one thread that never expires, so the jobs of a lane run one at a time
// in the order they were posted, always on the same thread (a worker keeps its own
// storage::Database connection and DocumentMemory there; docs/ui.md, "The real service").
#pragma once

#include <QThreadPool>

#include <functional>

namespace mm::memoryui {

class WorkerLane {
public:
    explicit WorkerLane(const QString& name);
    /// Waits for the posted jobs (callers set their cancel flags first).
    ~WorkerLane();
    WorkerLane(const WorkerLane&) = delete;
    WorkerLane& operator=(const WorkerLane&) = delete;

    /// Runs `job` on the lane's thread after the jobs posted before it; returns at once.
    void post(std::function<void()> job);
    /// Blocks until every posted job has run.
    void drain();

private:
    QThreadPool m_pool;
};

}  // namespace mm::memoryui
