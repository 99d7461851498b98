// ModelMemoryService: the real MemoryService (ui/memory_service.h) over the memory
// module (app/memory, mm::memory::DocumentMemory) and a loaded MemMamba model. It lives
// outside mm_ui (which never links torch), in the small library mm_memory_ui.
//
// Threads (nothing here runs on the GUI thread):
//   "MemoryQueries" loads the model and tokenizer (shared, immutable afterwards), then
//                   answers memory maps, pools, questions (streamed) and the Q&A history
//                   with its own storage::Database connection and DocumentMemory;
//   "MemoryIngest"  reads documents (one job at a time) and, when idle, prepares an ask
//                   checkpoint at the reading position (DocumentMemory::prepareAt), with
//                   its own Database connection and DocumentMemory;
//   "MemoryCharts"  measures the fidelity curves of a document (engine/eval's fidelity
//                   protocol on the document's text), with its own Database connection.
// The ingest queue itself (jobs, pause = cancel and keep queued, resume, cancel) is kept
// here on the GUI thread; the workers only run what they are handed. Cancel flags are
// atomics the GUI thread sets directly, since the workers are busy when it matters.
// See docs/ui.md, "The real service".
#pragma once

#include "ui/memory_service.h"

#include <QHash>
#include <QThread>
#include <QVector>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

class QTimer;

namespace mm::memory {
struct LoadedModel;
}  // namespace mm::memory

namespace mm::memoryui {

struct ModelMemoryOptions {
    QString databasePath;
    QString modelDir;              ///< empty: the shipped model (resources/models/default)
    QString device = QStringLiteral("auto");  ///< "auto", "cpu" or "cuda"
    bool random = false;           ///< a randomly initialised model (tests)
    QString randomConfig = QStringLiteral("{}");  ///< its config (JSON, may be partial)
    qint64 checkpointEvery = 16384;  ///< ingest: at most this many tokens between checkpoints
    int prepareDelayMs = 1500;     ///< reader settled this long at a position: prepareAt there
    bool resumeUnfinished = true;  ///< re-queue documents whose reading was interrupted
};

class QueryWorker;
class IngestWorker;
class FidelityWorker;

class ModelMemoryService : public ui::MemoryService {
    Q_OBJECT
public:
    explicit ModelMemoryService(const ModelMemoryOptions& options, QObject* parent = nullptr);
    /// Cancels a running ingest and answer, closes both connections on their threads,
    /// then stops the threads (waits for a prepareAt in progress, a few seconds at most).
    ~ModelMemoryService() override;

    /// Loads the model on the worker thread and opens the library; call once the library
    /// exists (after LibraryService::databaseOpened: it may have to create or migrate it).
    /// Requests made before are answered once the model is loaded.
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
    friend class QueryWorker;
    friend class IngestWorker;
    friend class FidelityWorker;

    void onEngineLoaded(std::shared_ptr<const memory::LoadedModel> engine, const ui::MemoryDevice& device);
    void onEngineFailed(const QString& message);
    void schedule();
    ui::IngestJob* job(qint64 jobId);
    void onIngestProgress(qint64 jobId, qint64 done, qint64 total, double tokensPerSecond);
    void onIngestDone(qint64 jobId, bool cancelled, qint64 done, qint64 total, double tokensPerSecond,
                      const QString& error);
    void prepareSoon();
    template <typename F> void toQueries(F f);
    template <typename F> void toIngest(F f);
    template <typename F> void toCharts(F f);
    void startFidelity(const ui::FidelityRequest& request);
    void onFidelityDone(quint64 serial, qint64 docId);

    ModelMemoryOptions m_options;
    QThread m_queryThread;
    QThread m_ingestThread;
    QThread m_chartsThread;
    QueryWorker* m_queries;
    IngestWorker* m_ingest;
    FidelityWorker* m_charts;
    ui::MemoryDevice m_device;
    bool m_started = false;
    bool m_engineReady = false;
    QString m_modelError;

    QVector<ui::IngestJob> m_jobs;
    qint64 m_lastJobId = 0;
    qint64 m_runningJobId = 0;
    bool m_preparing = false;
    std::atomic<bool> m_ingestCancel{false};

    // Questions: the GUI thread marks an ask cancelled; the query thread checks.
    std::mutex m_askMutex;
    std::set<qint64> m_cancelledAsks;
    std::atomic<qint64> m_currentAskId{0};
    std::atomic<bool> m_currentAskCancel{false};

    std::atomic<qint64> m_poolSerial{0};  ///< only the newest pool request is answered
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
