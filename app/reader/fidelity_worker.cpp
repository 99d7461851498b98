// See fidelity_worker.h.
#include "app/reader/fidelity_worker.h"

#include "app/memory/document_fidelity.h"
#include "app/reader/memory_views.h"

#include "storage/database.h"

namespace mm::memoryui {

FidelityWorker::FidelityWorker(QObject* parent) : QObject(parent) {}

FidelityWorker::~FidelityWorker() { close(); }

void FidelityWorker::open(const QFuture<ReaderModel>& model, const QString& dbPath)
{
    m_lane.post([this, model, dbPath] {
        m_model = model.result().model;
        m_dbPath = dbPath;
    });
}

void FidelityWorker::close()
{
    m_lane.post([this] { m_db.reset(); });
    m_lane.drain();
}

void FidelityWorker::measure(quint64 serial, const ui::FidelityRequest& request,
                             std::shared_ptr<std::atomic<bool>> cancel)
{
    m_lane.post([this, serial, request, cancel] { run(serial, request, *cancel); });
}

void FidelityWorker::run(quint64 serial, const ui::FidelityRequest& request, const std::atomic<bool>& cancel)
{
    const qint64 docId = request.docId;
    try {
        if (!m_model)
            throw std::runtime_error("the model is not loaded");
        if (!m_db)
            m_db = std::make_unique<storage::Database>(m_dbPath);
        memory::FidelityOptions o;
        o.samples = request.samples;
        o.distances.assign(request.distances.begin(), request.distances.end());
        o.context = request.context;
        o.withAblation = request.withAblation;
        const memory::DocumentFidelity f = memory::measureDocumentFidelity(
            *m_model, *m_db, docId, o, &cancel, [&](int done, int total) { emit progress(serial, docId, done, total); });
        if (f.cancelled || cancel.load()) {
            emit cancelled(serial, docId);
            return;
        }
        emit ready(serial, curvesOf(docId, f));
    } catch (const std::exception& e) {
        emit failed(serial, docId, q(e.what()));
    }
}

}  // namespace mm::memoryui
