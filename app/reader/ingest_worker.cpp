// See ingest_worker.h.
#include "app/reader/ingest_worker.h"

#include "app/memory/document_memory.h"
#include "app/reader/map_worker.h"
#include "app/reader/memory_views.h"

#include "storage/database.h"

#include <QElapsedTimer>

namespace mm::memoryui {

IngestWorker::IngestWorker(QObject* parent) : QObject(parent) {}

IngestWorker::~IngestWorker()
{
    cancel();
    close();
}

void IngestWorker::open(const QFuture<ReaderModel>& model, const QString& dbPath, bool findUnfinished)
{
    m_lane.post([this, model, dbPath, findUnfinished] {
        const ReaderModel loaded = model.result();
        if (!loaded.model) {
            m_error = modelUnavailable(loaded.error);
            return;
        }
        try {
            m_model = loaded.model;
            m_db = std::make_unique<storage::Database>(dbPath);
            m_memory = std::make_unique<memory::DocumentMemory>(*m_db, *m_model->model, *m_model->tokenizer);
            if (!findUnfinished)
                return;
            // A reading interrupted by a quit or a crash continues at the next start.
            for (const storage::DocumentRecord& doc : m_db->documents()) {
                if (doc.status != QStringLiteral("reading"))
                    continue;
                if (m_memory->status(doc.id).state == memory::MemoryState::Reading)
                    emit unfinishedFound(doc.id, doc.title);
            }
        } catch (const std::exception& e) {
            m_memory.reset();
            m_db.reset();
            m_error = q(e.what());
        }
    });
}

void IngestWorker::close()
{
    m_lane.post([this] {
        m_memory.reset();
        m_db.reset();
    });
    m_lane.drain();
}

void IngestWorker::read(qint64 jobId, qint64 docId, qint64 checkpointEvery)
{
    m_cancel = false;
    m_lane.post([this, jobId, docId, checkpointEvery] { run(jobId, docId, checkpointEvery); });
}

void IngestWorker::cancel() { m_cancel = true; }

void IngestWorker::run(qint64 jobId, qint64 docId, qint64 checkpointEvery)
{
    if (!m_memory) {
        emit finished(jobId, false, 0, 0, 0, tr("the library cannot be opened for reading: %1").arg(m_error));
        return;
    }
    memory::IngestOptions options;
    options.checkpointEvery = checkpointEvery;
    options.cancel = &m_cancel;
    QElapsedTimer sincePost;
    sincePost.start();
    options.onProgress = [&](const memory::IngestProgress& p) {
        if (sincePost.elapsed() < 250 && p.done < p.total)
            return;
        sincePost.restart();
        emit progress(jobId, p.done, p.total, p.tokensPerSecond);
    };
    try {
        const memory::IngestResult r = m_memory->ingest(docId, options);
        const double tps = r.readSeconds > 0 ? double(r.readTokens) / r.readSeconds : 0.0;
        // Stopped: what a resumed reading starts from (the last checkpoint), not what was
        // read past it.
        const qint64 done = r.cancelled ? m_memory->status(docId).doneTokens : r.tokens;
        emit finished(jobId, r.cancelled, done, r.tokens, tps, QString());
    } catch (const std::exception& e) {
        emit finished(jobId, false, 0, 0, 0, q(e.what()));
    }
}

void IngestWorker::prepare(qint64 docId, qint64 atChar)
{
    m_lane.post([this, docId, atChar] {
        qint64 position = -1;
        if (m_memory) {
            try {
                if (m_memory->status(docId).state == memory::MemoryState::Ready)
                    position = m_memory->prepareAt(docId, atChar);
            } catch (const std::exception&) {
                // Best effort: the question there will replay instead.
            }
        }
        emit prepared(docId, atChar, position);
    });
}

}  // namespace mm::memoryui
