// FidelityWorker: the memory-fidelity curves of a document (engine/eval's fidelity
// protocol, `memmamba eval fidelity`, on excerpts of the document's own text), sample by
// sample with progress; each measurement has its own cancel flag (the protocol checks it
// between its reads). Its own lane and library connection. Results carry the serial the
// service gave the request, so a superseded measurement is told apart.
#pragma once

#include "app/reader/reader_model.h"
#include "app/reader/worker_lane.h"

#include <QObject>

#include <atomic>
#include <memory>

namespace mm::storage {
class Database;
}  // namespace mm::storage

namespace mm::memoryui {

class FidelityWorker : public QObject {
    Q_OBJECT
public:
    explicit FidelityWorker(QObject* parent = nullptr);
    ~FidelityWorker() override;

    // Called on the GUI thread; each runs on the lane and answers with a signal.
    void open(const QFuture<ReaderModel>& model, const QString& dbPath);
    /// Measures; setting *cancel stops it after its current read (cancelled).
    void measure(quint64 serial, const ui::FidelityRequest& request, std::shared_ptr<std::atomic<bool>> cancel);
    void close();

signals:
    void progress(quint64 serial, qint64 docId, int done, int total);
    void ready(quint64 serial, const mm::ui::FidelityCurves& curves);
    void cancelled(quint64 serial, qint64 docId);
    void failed(quint64 serial, qint64 docId, const QString& message);

private:
    void run(quint64 serial, const ui::FidelityRequest& request, const std::atomic<bool>& cancel);

    WorkerLane m_lane{QStringLiteral("MemoryCharts")};
    // The lane's own.
    std::shared_ptr<const memory::LoadedModel> m_model;
    QString m_dbPath;
    std::unique_ptr<storage::Database> m_db;
};

}  // namespace mm::memoryui
