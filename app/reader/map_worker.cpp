// See map_worker.h.
#include "app/reader/map_worker.h"

#include "storage/database.h"

namespace mm::memoryui {

namespace {

QString staleReason(const memory::MemoryStatus& status)
{
    return QObject::tr("It was read by another model (%1), whose memory cannot be used with this one: read it again "
                       "with this model.")
        .arg(q(status.producer).section(QLatin1Char('|'), 0, 0).left(16));
}

}  // namespace

QString modelUnavailable(const QString& loadError)
{
    return loadError.isEmpty() ? QObject::tr("The model is not loaded.")
                               : QObject::tr("The model could not be loaded: %1").arg(loadError);
}

MapWorker::MapWorker(QObject* parent) : QObject(parent) {}

MapWorker::~MapWorker() { close(); }

void MapWorker::open(const QFuture<ReaderModel>& model, const QString& dbPath)
{
    m_lane.post([this, model, dbPath] {
        const ReaderModel loaded = model.result();
        if (!loaded.model) {
            m_loadError = loaded.error;
            return;
        }
        try {
            m_db = std::make_unique<storage::Database>(dbPath);
            m_model = loaded.model;
            m_memory = std::make_unique<memory::DocumentMemory>(*m_db, *m_model->model, *m_model->tokenizer);
        } catch (const std::exception& e) {
            m_memory.reset();
            m_db.reset();
            m_loadError = q(e.what());
        }
    });
}

void MapWorker::close()
{
    m_lane.post([this] {
        m_memory.reset();
        m_db.reset();
    });
    m_lane.drain();
}

void MapWorker::requestMemoryMap(qint64 docId)
{
    m_lane.post([this, docId] { memoryMap(docId); });
}

void MapWorker::requestPool(qint64 docId, qint64 atChar)
{
    const qint64 serial = ++m_poolSerial;
    m_lane.post([this, docId, atChar, serial] { pool(docId, atChar, serial); });
}

void MapWorker::memoryMap(qint64 docId)
{
    if (!m_memory) {
        emit memoryUnavailable(docId, modelUnavailable(m_loadError));
        return;
    }
    try {
        const memory::MemoryStatus status = m_memory->status(docId);
        if (status.state != memory::MemoryState::Ready) {
            QString reason;
            if (status.state == memory::MemoryState::Stale)
                reason = staleReason(status);
            else if (status.state == memory::MemoryState::Reading)
                reason = tr("The model has read %1 of its %2 tokens; reading it again resumes there.")
                             .arg(status.doneTokens)
                             .arg(status.totalTokens);
            emit memoryUnavailable(docId, reason);
            return;
        }
        m_cache.build(docId, m_memory->memoryMap(docId), m_db->documentText(docId));
        emit memoryMapReady(memoryMapDataOf(docId, m_cache.map()));
    } catch (const std::exception& e) {
        emit memoryUnavailable(docId, q(e.what()));
    }
}

void MapWorker::pool(qint64 docId, qint64 atChar, qint64 serial)
{
    if (!m_memory || serial != m_poolSerial.load())
        return;  // a newer request supersedes this one
    try {
        if (m_cache.docId() != docId) {
            if (m_memory->status(docId).state != memory::MemoryState::Ready)
                return;
            m_cache.build(docId, m_memory->memoryMap(docId), m_db->documentText(docId));
        }
        // Answers attend to no note (app/memory/answer reads the book's sentences), so the
        // pools carry no "read by the last question" weights.
        emit poolReady(m_cache.snapshot(atChar, nullptr));
    } catch (const std::exception&) {
        // The map said the memory exists; a pool that cannot be built leaves the panel
        // as it was.
    }
}

}  // namespace mm::memoryui
