// A scripted MemoryService for the GUI tests ONLY: no model, no storage, no thread. It
// answers from synthetic books (synthetic_memory.h), asynchronously (every answer goes
// through the event loop, as a real service's queued signals do), and lets a test step
// the reading queue by hand. It is not the memory module and must not ship.
#pragma once

#include "synthetic_memory.h"
#include "ui/memory_service.h"

#include <QHash>
#include <QSet>
#include <QTimer>

#include <cmath>
#include <optional>

namespace mm::test {

class FakeMemoryService : public ui::MemoryService {
    Q_OBJECT
public:
    explicit FakeMemoryService(QObject* parent = nullptr) : ui::MemoryService(parent)
    {
        m_device.name = QStringLiteral("CPU (fake, 2 threads)");
        m_device.expectedTokensPerSecond = 1000;
        m_streamTimer.setInterval(1);
        connect(&m_streamTimer, &QTimer::timeout, this, &FakeMemoryService::streamNext);
    }

    /// A book the service knows; `read` = its memory exists already.
    void addBook(qint64 docId, const SyntheticBook& book, bool read)
    {
        m_books[docId] = book;
        if (read)
            m_read.insert(docId);
        else
            m_read.remove(docId);
    }
    void setAnswer(const QStringList& pieces, const QVector<ui::AnswerEvidence>& evidence)
    {
        m_pieces = pieces;
        m_evidence = evidence;
    }
    void setDevice(const ui::MemoryDevice& device)
    {
        m_device = device;
        emit deviceReady(device);
    }
    /// Reads `tokens` more of the first pending job (queued jobs start in order).
    void step(qint64 tokens, double tokensPerSecond = 2000)
    {
        for (ui::IngestJob& job : m_jobs) {
            if (job.state == ui::IngestJob::Paused)
                return;  // the queue waits behind a paused job
            if (job.state != ui::IngestJob::Queued && job.state != ui::IngestJob::Running)
                continue;
            job.state = ui::IngestJob::Running;
            job.tokensDone = std::min(job.tokensTotal, job.tokensDone + tokens);
            job.tokensPerSecond = tokensPerSecond;
            if (job.tokensDone >= job.tokensTotal) {
                job.state = ui::IngestJob::Finished;
                m_read.insert(job.docId);
                later([this, job] { emit ingestFinished(job); });
            } else {
                later([this, job] { emit ingestProgress(job); });
            }
            return;
        }
    }
    void failRunning(const QString& message)
    {
        for (ui::IngestJob& job : m_jobs) {
            if (job.state == ui::IngestJob::Running) {
                job.state = ui::IngestJob::Failed;
                job.error = message;
                later([this, job, message] { emit ingestFailed(job, message); });
                return;
            }
        }
    }
    const QVector<ui::IngestJob>& jobs() const { return m_jobs; }
    QVector<ui::AskRequest> asked;
    QVector<qint64> cancelledAsks;
    QVector<ui::AnswerRecord> saved;
    QVector<qint64> poolRequests;  ///< atChar of each requestPool
    QVector<ui::FidelityRequest> fidelityRequests;
    QVector<qint64> fidelityCancels;
    /// While set, a fidelity request reports its first sample and waits for finishFidelity().
    bool holdFidelity = false;

    /// The fake's fidelity curves: layer l's ETMF proxy falls with log4(distance), deeper
    /// layers more slowly; with the pools emptied it falls twice as fast to nothing.
    static ui::FidelityCurves syntheticFidelity(qint64 docId, int layers, const ui::FidelityRequest& request,
                                                qint64 documentTokens)
    {
        ui::FidelityCurves c;
        c.docId = docId;
        c.layerCount = layers;
        c.samples = request.samples;
        c.context = request.context;
        c.documentTokens = documentTokens;
        for (qint64 d : request.distances) {
            if (request.context + d + 1 <= documentTokens)
                c.distances << d;
        }
        c.etmf.resize(layers);
        if (request.withAblation)
            c.etmfNoPool.resize(layers);
        for (int l = 0; l < layers; ++l) {
            for (qint64 d : std::as_const(c.distances)) {
                const double steps = std::log(double(std::max<qint64>(d, 1))) / std::log(4.0);
                c.etmf[l] << (0.9 - 0.05 * l) * std::exp(-steps / (1.5 + 0.5 * l)) + 0.02 * (l + 1);
                if (request.withAblation)
                    c.etmfNoPool[l] << (0.9 - 0.05 * l) * std::exp(-steps / (0.75 + 0.25 * l));
            }
        }
        c.seconds = 1.5;
        return c;
    }
    /// Answers a held fidelity request.
    void finishFidelity()
    {
        if (!m_fidelityPending)
            return;
        const ui::FidelityRequest r = *m_fidelityPending;
        m_fidelityPending.reset();
        const int total = r.samples * (r.withAblation ? 2 : 1);
        const auto curves = syntheticFidelity(r.docId, m_books[r.docId].data->layerCount, r,
                                              m_books[r.docId].data->tokenCount());
        later([this, r, total, curves] {
            emit fidelityProgress(r.docId, total, total);
            emit fidelityReady(curves);
        });
    }

    ui::MemoryDevice device() const override { return m_device; }

public slots:
    void enqueue(qint64 docId, const QString& title) override
    {
        for (const ui::IngestJob& job : std::as_const(m_jobs)) {
            if (job.docId == docId && (job.state == ui::IngestJob::Queued || job.state == ui::IngestJob::Running
                                       || job.state == ui::IngestJob::Paused)) {
                later([this, job] { emit ingestQueued(job); });
                return;
            }
        }
        ui::IngestJob job;
        job.jobId = ++m_lastJobId;
        job.docId = docId;
        job.title = title;
        job.tokensTotal = m_books.contains(docId) ? m_books[docId].data->tokenCount() : 10000;
        if (m_read.contains(docId)) {
            job.state = ui::IngestJob::Finished;
            job.tokensDone = job.tokensTotal;
            later([this, job] { emit ingestFinished(job); });
            return;
        }
        m_jobs << job;
        later([this, job] { emit ingestQueued(job); });
    }
    void pause(qint64 jobId) override { setState(jobId, ui::IngestJob::Paused); }
    void resume(qint64 jobId) override { setState(jobId, ui::IngestJob::Running); }
    void cancel(qint64 jobId) override
    {
        for (ui::IngestJob& job : m_jobs) {
            if (job.jobId == jobId) {
                job.state = ui::IngestJob::Cancelled;
                later([this, job] { emit ingestCancelled(job); });
            }
        }
    }
    void requestMemoryMap(qint64 docId) override
    {
        if (!m_read.contains(docId) || !m_books.contains(docId)) {
            later([this, docId] { emit memoryUnavailable(docId, QString()); });
            return;
        }
        auto data = std::make_shared<ui::MemoryMapData>(*m_books[docId].data);
        data->docId = docId;
        later([this, data] { emit memoryMapReady(data); });
    }
    void requestPool(qint64 docId, qint64 atChar) override
    {
        poolRequests << atChar;
        if (!m_read.contains(docId))
            return;
        ui::PoolSnapshot snap = poolAt(m_books[docId], atChar);
        snap.docId = docId;
        if (!saved.isEmpty()) {
            // The last question read the first slots of every layer, less and less.
            for (ui::PoolEntry& e : snap.entries)
                e.lastQuestionAttention = e.slot < 3 ? 0.9f - 0.3f * float(e.slot) : 0.0f;
        }
        later([this, snap] { emit poolReady(snap); });
    }
    void ask(const ui::AskRequest& request) override
    {
        asked << request;
        m_current = request;
        m_next = 0;
        later([this, id = request.askId] { emit answerStarted(id); });
        m_streamTimer.start();
    }
    void cancelAsk(qint64 askId) override
    {
        cancelledAsks << askId;
        if (askId == m_current.askId)
            m_streamTimer.stop();
    }
    void requestHistory(qint64 docId) override
    {
        QVector<ui::AnswerRecord> history;
        for (const ui::AnswerRecord& r : std::as_const(saved)) {
            if (r.request.docId == docId)
                history << r;
        }
        later([this, docId, history] { emit historyReady(docId, history); });
    }
    void saveAnswer(const ui::AnswerRecord& record) override { saved << record; }
    void requestFidelity(const ui::FidelityRequest& request) override
    {
        fidelityRequests << request;
        if (!m_read.contains(request.docId) || !m_books.contains(request.docId)) {
            later([this, id = request.docId] { emit fidelityFailed(id, QStringLiteral("this book has not been read")); });
            return;
        }
        m_fidelityPending = request;
        const int total = request.samples * (request.withAblation ? 2 : 1);
        later([this, id = request.docId, total] { emit fidelityProgress(id, 1, total); });
        if (!holdFidelity)
            finishFidelity();
    }
    void cancelFidelity(qint64 docId) override
    {
        fidelityCancels << docId;
        if (m_fidelityPending && m_fidelityPending->docId == docId) {
            m_fidelityPending.reset();
            later([this, docId] { emit fidelityCancelled(docId); });
        }
    }

private:
    template <typename F>
    void later(F f)
    {
        QTimer::singleShot(0, this, f);
    }
    void setState(qint64 jobId, ui::IngestJob::State state)
    {
        for (ui::IngestJob& job : m_jobs) {
            if (job.jobId == jobId) {
                job.state = state;
                later([this, job] { emit ingestProgress(job); });
            }
        }
    }
    void streamNext()
    {
        if (m_next < m_pieces.size()) {
            emit answerToken(m_current.askId, m_pieces[m_next++]);
            return;
        }
        m_streamTimer.stop();
        ui::AnswerRecord record;
        record.request = m_current;
        record.answer = m_pieces.join(QString());
        record.evidence = m_evidence;
        record.timings = {12.0, 85.0, 640.0};
        record.finished = true;
        emit answerFinished(record);
    }

    QHash<qint64, SyntheticBook> m_books;
    QSet<qint64> m_read;
    QVector<ui::IngestJob> m_jobs;
    qint64 m_lastJobId = 0;
    ui::MemoryDevice m_device;
    QStringList m_pieces{QStringLiteral("Beneath"), QStringLiteral(" the"), QStringLiteral(" seventh"),
                         QStringLiteral(" stair.")};
    QVector<ui::AnswerEvidence> m_evidence;
    ui::AskRequest m_current;
    int m_next = 0;
    QTimer m_streamTimer;
    std::optional<ui::FidelityRequest> m_fidelityPending;
};

}  // namespace mm::test
