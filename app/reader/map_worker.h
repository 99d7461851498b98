// MapWorker: the memory map and the pools at the reading position, on its own lane with
// its own library connection. The map it last built is kept (PoolView), so the pools at
// any position are a filter over it; only the newest pool request is answered.
#pragma once

#include "app/reader/memory_views.h"
#include "app/reader/reader_model.h"
#include "app/reader/worker_lane.h"

#include <QObject>

#include <atomic>
#include <memory>

namespace mm::storage {
class Database;
}  // namespace mm::storage

namespace mm::memoryui {

class MapWorker : public QObject {
    Q_OBJECT
public:
    explicit MapWorker(QObject* parent = nullptr);
    ~MapWorker() override;

    // Called on the GUI thread; each runs on the lane and answers with a signal.
    /// Waits (on the lane) for the model, then opens the library at dbPath.
    void open(const QFuture<ReaderModel>& model, const QString& dbPath);
    void requestMemoryMap(qint64 docId);
    /// Supersedes the pool requests not yet answered.
    void requestPool(qint64 docId, qint64 atChar);
    /// Closes the connection and waits for the lane.
    void close();

signals:
    void memoryMapReady(std::shared_ptr<const mm::ui::MemoryMapData> data);
    void memoryUnavailable(qint64 docId, const QString& reason);
    void poolReady(const mm::ui::PoolSnapshot& snapshot);

private:
    void memoryMap(qint64 docId);
    void pool(qint64 docId, qint64 atChar, qint64 serial);

    WorkerLane m_lane{QStringLiteral("MemoryMap")};
    std::atomic<qint64> m_poolSerial{0};
    // The lane's own: touched only by jobs running on it.
    std::shared_ptr<const memory::LoadedModel> m_model;
    std::unique_ptr<storage::Database> m_db;
    std::unique_ptr<memory::DocumentMemory> m_memory;
    QString m_loadError;
    PoolView m_cache;
};

/// Why the model cannot answer (the model failed to load, or is not loaded yet).
QString modelUnavailable(const QString& loadError);

}  // namespace mm::memoryui
