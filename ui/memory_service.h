// MemoryService: the one door between the GUI and the model's memory of documents
// (ingest, memory map, pools, questions, Q&A history, fidelity curves). The GUI calls its slots and
// listens to its signals; an implementation runs every request OFF the GUI thread (a
// worker QObject on its own QThread, as LibraryService does) and emits the results back
// on the thread the service lives on, with queued connections. Every payload is a value
// type of ui/memory_types.h. Slots return at once; none may block.
//
// The memory module implements it (an adapter over its ingest, `ask` and `notes`);
// tests use a scripted fake (tests/ui/fake_memory_service.h). Widgets never see the
// service: MainWindow connects it to them.
#pragma once

#include "ui/memory_types.h"

#include <QObject>

namespace mm::ui {

class MemoryService : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    ~MemoryService() override = default;

    /// The device the model reads on (answered by deviceReady; may be a guess before
    /// the model is loaded: expectedTokensPerSecond 0).
    virtual MemoryDevice device() const = 0;

public slots:
    // ---- ingest: "Read with model" ----------------------------------------------------
    /// Queues a document to be read by the model. Emits ingestQueued(job) with the job's
    /// id; a document already queued or running is not queued twice (the existing job is
    /// re-announced); a document already read emits ingestFinished at once.
    virtual void enqueue(qint64 docId, const QString& title) = 0;
    /// Pauses a running or queued job after its current segment (its progress is
    /// committed, so a paused job resumes from its last checkpoint). Emits ingestProgress
    /// with state Paused.
    virtual void pause(qint64 jobId) = 0;
    virtual void resume(qint64 jobId) = 0;
    /// Stops a job; what was read stays committed (a later enqueue resumes it). Emits
    /// ingestCancelled.
    virtual void cancel(qint64 jobId) = 0;

    // ---- the memory of a read document ------------------------------------------------
    /// Answers memoryMapReady, or memoryUnavailable when the document was not read yet.
    virtual void requestMemoryMap(qint64 docId) = 0;
    /// Answers poolReady: every layer's pool as it stood at `atChar`, with the notes
    /// evicted before it.
    virtual void requestPool(qint64 docId, qint64 atChar) = 0;

    // ---- questions ---------------------------------------------------------------------
    /// Answers answerToken (each piece, in order), then answerFinished or answerFailed,
    /// all carrying request.askId.
    virtual void ask(const mm::ui::AskRequest& request) = 0;
    virtual void cancelAsk(qint64 askId) = 0;
    /// Answers historyReady with the document's questions and answers, oldest first.
    virtual void requestHistory(qint64 docId) = 0;
    /// Persists one finished (or cancelled) answer in the document's history.
    virtual void saveAnswer(const mm::ui::AnswerRecord& record) = 0;

    // ---- charts --------------------------------------------------------------------------
    /// Measures the memory-fidelity curves of a document (seconds to minutes of model
    /// time): answers fidelityProgress (after each sample), then fidelityReady, or
    /// fidelityFailed / fidelityCancelled. A result is kept per document, so asking again
    /// answers at once. A request for another document supersedes a running one (which
    /// is cancelled); one for the document being measured only re-announces its progress.
    virtual void requestFidelity(const mm::ui::FidelityRequest& request) = 0;
    /// Stops the measurement of that document (after the current read): fidelityCancelled.
    virtual void cancelFidelity(qint64 docId) = 0;

signals:
    void deviceReady(const mm::ui::MemoryDevice& device);

    void ingestQueued(const mm::ui::IngestJob& job);
    /// State changes (Running, Paused) and progress, at most a few times a second.
    void ingestProgress(const mm::ui::IngestJob& job);
    void ingestFinished(const mm::ui::IngestJob& job);
    void ingestFailed(const mm::ui::IngestJob& job, const QString& message);
    void ingestCancelled(const mm::ui::IngestJob& job);

    void memoryMapReady(std::shared_ptr<const mm::ui::MemoryMapData> data);
    /// The document has no memory yet (never read, or read by another model).
    void memoryUnavailable(qint64 docId, const QString& reason);
    void poolReady(const mm::ui::PoolSnapshot& snapshot);

    void answerStarted(qint64 askId);
    void answerToken(qint64 askId, const QString& piece);
    void answerFinished(const mm::ui::AnswerRecord& record);
    void answerFailed(qint64 askId, const QString& message);
    void historyReady(qint64 docId, const QVector<mm::ui::AnswerRecord>& history);

    /// `done` of `total` samples measured (variants included).
    void fidelityProgress(qint64 docId, int done, int total);
    void fidelityReady(const mm::ui::FidelityCurves& curves);
    void fidelityFailed(qint64 docId, const QString& message);
    void fidelityCancelled(qint64 docId);
};

/// Registers the metatypes of memory_types.h for queued connections (idempotent).
void registerMemoryMetaTypes();

}  // namespace mm::ui
