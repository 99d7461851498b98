// ModelMemoryService: the real MemoryService (ui/memory_service.h) over the memory
// library (app/memory) and a loaded MemMamba model. It lives outside mm_ui (which never
// links torch), in the small library mm_memory_ui.
//
// The service is thin: it keeps the reading queue (jobs; pause = cancel and keep queued,
// resume, cancel) and the fidelity results on the GUI thread and hands every call of the
// memory library to a worker, one per kind of work, each running on its own lane of a
// thread pool (worker_lane.h) with its own library connection and reporting through
// signals:
//   loadReaderModel  loads the model (reader_model.h; every worker waits on its future)
//   MapWorker        the memory map and the pools at the reading position
//   QuestionWorker   questions, and the Q&A history
//   IngestWorker     reading documents; when idle, an ask checkpoint at the position
//   FidelityWorker   the fidelity curves of the Charts dock
// Nothing here runs on the GUI thread. See docs/ui.md, "The real service".
#pragma once

#include "app/reader/reader_model.h"
#include "ui/memory_service.h"

#include <QFuture>
#include <QHash>
#include <QVector>

#include <atomic>
#include <memory>
#include <optional>

class QTimer;

namespace mm::memoryui {

class FidelityWorker;
class IngestWorker;
class MapWorker;
class QuestionWorker;

class ModelMemoryService : public ui::MemoryService {
    Q_OBJECT
public:
    explicit ModelMemoryService(const ModelMemoryOptions& options, QObject* parent = nullptr);
    /// Cancels a running ingest, answer and measurement, closes every connection on its
    /// lane, then waits for the lanes (a prepareAt in progress: a few seconds at most).
    ~ModelMemoryService() override;

    /// Loads the model off the GUI thread and opens the library; call once the library
    /// exists (after LibraryService::databaseOpened: it may have to create or migrate it).
    /// Requests made after this are answered once the model is loaded.
    void start();

    ui::MemoryDevice device() const override { return m_device; }
    bool isModelReady() const { return m_engineReady; }
    /// Empty, or why the model could not be loaded.
    QString modelError() const { return m_modelError; }
    const QVector<ui::IngestJob>& jobs() const { return m_jobs; }

public slots:
    void enqueue(qint64 docId, const QString& title) override;
    void pause(qint64 jobId) override;
    void resume(qint64 jobId) override;
    void cancel(qint64 jobId) override;
    void requestMemoryMap(qint64 docId) override;
    void requestPool(qint64 docId, qint64 atChar) override;
    void ask(const mm::ui::AskRequest& request) override;
    void cancelAsk(qint64 askId) override;
    void requestHistory(qint64 docId) override;
    void saveAnswer(const mm::ui::AnswerRecord& record) override;
    void requestFidelity(const mm::ui::FidelityRequest& request) override;
    void cancelFidelity(qint64 docId) override;

signals:
    /// The model is loaded (device() is set) or could not be (message names why).
    void modelReady();
    void modelFailed(const QString& message);
    /// A prepareAt finished at that token position (tests, status).
    void prepared(qint64 docId, qint64 atChar, qint64 tokenPosition);

private:
    void onModelLoaded(const ReaderModel& loaded);
    void schedule();
    ui::IngestJob* job(qint64 jobId);
    void onIngestProgress(qint64 jobId, qint64 done, qint64 total, double tokensPerSecond);
    void onIngestDone(qint64 jobId, bool cancelled, qint64 done, qint64 total, double tokensPerSecond,
                      const QString& error);
    void onPrepared(qint64 docId, qint64 atChar, qint64 position);
    void prepareSoon();
    void startFidelity(const ui::FidelityRequest& request);
    void onFidelityProgress(quint64 serial, qint64 docId, int done, int total);
    void onFidelityReady(quint64 serial, const ui::FidelityCurves& curves);
    void onFidelityStopped(quint64 serial, qint64 docId, const QString& error);
    /// The measurement `serial` is over: true when the panel should hear how it ended
    /// (it is the current one, or its document is no longer being measured).
    bool fidelityDone(quint64 serial, qint64 docId);
    void connectWorkers();

    ModelMemoryOptions m_options;
    MapWorker* m_map;
    QuestionWorker* m_questions;
    IngestWorker* m_ingest;
    FidelityWorker* m_charts;
    QFuture<ReaderModel> m_load;
    ui::MemoryDevice m_device;
    bool m_started = false;
    bool m_engineReady = false;
    QString m_modelError;

    QVector<ui::IngestJob> m_jobs;
    qint64 m_lastJobId = 0;
    qint64 m_runningJobId = 0;
    bool m_preparing = false;

    QTimer* m_prepareTimer;
    qint64 m_prepareDoc = 0;
    qint64 m_prepareChar = -1;
    qint64 m_preparedDoc = 0;
    qint64 m_preparedChar = -1;

    // Fidelity curves: one measurement at a time, the newest request wins; results are
    // kept per document for the life of the service (the model does not change).
    QHash<qint64, ui::FidelityCurves> m_fidelityCache;
    std::optional<ui::FidelityRequest> m_fidelityWaiting;  ///< asked before the model was loaded
    qint64 m_fidelityDoc = 0;                              ///< being measured, 0: none
    quint64 m_fidelitySerial = 0;
    std::shared_ptr<std::atomic<bool>> m_fidelityCancel;   ///< the running measurement's flag
    int m_fidelityDone = 0;
    int m_fidelityTotal = 0;
};

}  // namespace mm::memoryui
