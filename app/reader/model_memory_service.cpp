#include "app/reader/model_memory_service.h"

#include "app/reader/memory_views.h"

#include "storage/database.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <map>

namespace mm::memoryui {

namespace {

QString staleReason(const memory::MemoryStatus& status)
{
    return QObject::tr("It was read by another model (%1), whose memory cannot be used with this one: read it again "
                       "with this model.")
        .arg(q(status.producer).section(QLatin1Char('|'), 0, 0).left(16));
}

}  // namespace

// ---- the query thread ------------------------------------------------------------------

class QueryWorker : public QObject {
public:
    explicit QueryWorker(ModelMemoryService* service) : m_service(service) {}

    template <typename F>
    void post(F f)
    {
        QMetaObject::invokeMethod(m_service, std::move(f), Qt::QueuedConnection);
    }

    void load(const ModelMemoryOptions& options)
    {
        try {
            memory::ModelChoice choice;
            choice.modelDir = options.modelDir.toStdString();
            choice.random = options.random;
            choice.randomConfig = options.randomConfig.toStdString();
            choice.device = options.device.toStdString();
            // warm: on CUDA the context, handles and kernels now, not in the first question.
            auto model = std::make_shared<memory::LoadedModel>(memory::loadModel(choice, true));
            ui::MemoryDevice dev;
            const memory::DeviceInfo where = memory::deviceOf(*model);
            dev.gpu = where.gpu;
            dev.name = dev.gpu ? QObject::tr("CUDA GPU: %1").arg(q(where.cudaDeviceName))
                               : where.threads == 1 ? QObject::tr("CPU (1 thread)")
                                                    : QObject::tr("CPU (%1 threads)").arg(where.threads);
            dev.expectedTokensPerSecond = memory::measureReadingSpeed(*model->model, *model->tokenizer);

            m_db = std::make_unique<storage::Database>(options.databasePath);
            m_model = model;
            m_memory = std::make_unique<memory::DocumentMemory>(*m_db, *m_model->model, *m_model->tokenizer);
            m_history = std::make_unique<memory::QaHistory>(*m_db);
            post([s = m_service, model = std::shared_ptr<const memory::LoadedModel>(model), dev] {
                s->onEngineLoaded(model, dev);
            });
        } catch (const std::exception& e) {
            m_loadError = q(e.what());
            post([s = m_service, message = m_loadError] { s->onEngineFailed(message); });
        }
    }

    void close()
    {
        m_history.reset();
        m_memory.reset();
        m_db.reset();
    }

    QString unavailable() const
    {
        return m_loadError.isEmpty() ? QObject::tr("The model is not loaded.")
                                     : QObject::tr("The model could not be loaded: %1").arg(m_loadError);
    }

    void memoryMap(qint64 docId)
    {
        if (!m_memory) {
            post([s = m_service, docId, why = unavailable()] { emit s->memoryUnavailable(docId, why); });
            return;
        }
        try {
            const memory::MemoryStatus status = m_memory->status(docId);
            if (status.state != memory::MemoryState::Ready) {
                QString reason;
                if (status.state == memory::MemoryState::Stale)
                    reason = staleReason(status);
                else if (status.state == memory::MemoryState::Reading)
                    reason = QObject::tr("The model has read %1 of its %2 tokens; reading it again resumes there.")
                                 .arg(status.doneTokens)
                                 .arg(status.totalTokens);
                post([s = m_service, docId, reason] { emit s->memoryUnavailable(docId, reason); });
                return;
            }
            m_cache.build(docId, m_memory->memoryMap(docId), m_db->documentText(docId));
            auto data = memoryMapDataOf(docId, m_cache.map());
            post([s = m_service, data = std::move(data)] { emit s->memoryMapReady(data); });
        } catch (const std::exception& e) {
            post([s = m_service, docId, why = q(e.what())] { emit s->memoryUnavailable(docId, why); });
        }
    }

    void pool(qint64 docId, qint64 atChar, qint64 serial)
    {
        if (!m_memory || serial != m_service->m_poolSerial.load())
            return;  // a newer request supersedes this one
        try {
            if (m_cache.docId() != docId) {
                if (m_memory->status(docId).state != memory::MemoryState::Ready)
                    return;
                m_cache.build(docId, m_memory->memoryMap(docId), m_db->documentText(docId));
            }
            const auto attention = m_attention.find(docId);
            const NoteAttention* last = attention == m_attention.end() ? nullptr : &attention->second;
            const ui::PoolSnapshot snap = m_cache.snapshot(atChar, last);
            post([s = m_service, snap] { emit s->poolReady(snap); });
        } catch (const std::exception&) {
            // The map said the memory exists; a pool that cannot be built leaves the
            // panel as it was.
        }
    }

    void ask(const ui::AskRequest& request)
    {
        const qint64 askId = request.askId;
        {
            std::lock_guard<std::mutex> lock(m_service->m_askMutex);
            m_service->m_currentAskId = askId;
            m_service->m_currentAskCancel = m_service->m_cancelledAsks.count(askId) > 0;
        }
        if (m_service->m_currentAskCancel.load())
            return;
        if (!m_memory) {
            post([s = m_service, askId, why = unavailable()] { emit s->answerFailed(askId, why); });
            return;
        }
        post([s = m_service, askId] { emit s->answerStarted(askId); });
        try {
            memory::AskOptions options;
            if (request.scope == ui::AskRequest::AsOfPosition)
                options.atChar = std::max<qint64>(0, request.asOfChar);
            options.cancel = &m_service->m_currentAskCancel;
            options.onText = [this, askId](const std::string& piece) {
                if (m_service->m_currentAskCancel.load())
                    return false;
                post([s = m_service, askId, text = q(piece)] { emit s->answerToken(askId, text); });
                return true;
            };
            const memory::AskResult r = m_memory->ask(request.docId, request.question.toStdString(), options);
            if (m_service->m_currentAskCancel.load())
                return;  // the panel keeps what it streamed
            memory::QaRecord made = memory::qaRecordOf(m_memory->context(), request.docId,
                                                       request.question.toStdString(),
                                                       request.scope == ui::AskRequest::WholeBook, r);
            made.askId = askId;
            ui::AnswerRecord record = answerRecordOf(made);
            record.request = request;
            float maxWeight = 0;
            for (const memory::Evidence& e : r.evidence) {
                if (e.source == "note")
                    maxWeight = std::max(maxWeight, float(e.weight));
            }
            auto& attention = m_attention[request.docId];
            attention.clear();
            for (const memory::Evidence& e : r.evidence) {
                if (e.source == "note" && maxWeight > 0)
                    attention[{e.layer, e.tokenPosition}] = float(e.weight) / maxWeight;
            }
            m_made[askId] = std::move(made);
            post([s = m_service, record] { emit s->answerFinished(record); });
        } catch (const std::exception& e) {
            const QString message = q(e.what());
            post([s = m_service, askId, message] { emit s->answerFailed(askId, message); });
            if (dynamic_cast<const memory::StaleMemoryError*>(&e)) {
                post([s = m_service, docId = request.docId, message] { emit s->memoryUnavailable(docId, message); });
            }
        }
    }

    void history(qint64 docId)
    {
        QVector<ui::AnswerRecord> records;
        if (m_history) {
            try {
                for (const memory::QaRecord& r : m_history->records(docId))
                    records << answerRecordOf(r);
            } catch (const std::exception&) {
                // An unreadable history shows empty; the answers stay stored.
            }
        }
        post([s = m_service, docId, records] { emit s->historyReady(docId, records); });
    }

    void save(const ui::AnswerRecord& record)
    {
        if (!m_history)
            return;
        const auto made = m_made.find(record.request.askId);
        const memory::QaRecord r = qaRecordOf(record, made == m_made.end() ? nullptr : &made->second);
        if (made != m_made.end())
            m_made.erase(made);
        try {
            m_history->save(r);
        } catch (const std::exception&) {
            // Not kept: the answer is still on screen for this session.
        }
    }

private:
    ModelMemoryService* m_service;
    std::shared_ptr<const memory::LoadedModel> m_model;
    std::unique_ptr<storage::Database> m_db;
    std::unique_ptr<memory::DocumentMemory> m_memory;
    std::unique_ptr<memory::QaHistory> m_history;
    /// The records answers made, by ask id, until the panel asks to keep them.
    std::map<qint64, memory::QaRecord> m_made;
    QString m_loadError;
    PoolView m_cache;
    /// Per document: (layer, token) → how strongly the last answer read that note (0..1).
    std::map<qint64, NoteAttention> m_attention;
};

// ---- the ingest thread -----------------------------------------------------------------

class IngestWorker : public QObject {
public:
    explicit IngestWorker(ModelMemoryService* service) : m_service(service) {}

    template <typename F>
    void post(F f)
    {
        QMetaObject::invokeMethod(m_service, std::move(f), Qt::QueuedConnection);
    }

    void open(std::shared_ptr<const memory::LoadedModel> model, const QString& dbPath, bool findUnfinished)
    {
        try {
            m_model = std::move(model);
            m_db = std::make_unique<storage::Database>(dbPath);
            m_memory = std::make_unique<memory::DocumentMemory>(*m_db, *m_model->model, *m_model->tokenizer);
            if (!findUnfinished)
                return;
            // A reading interrupted by a quit or a crash continues at the next start.
            for (const storage::DocumentRecord& doc : m_db->documents()) {
                if (doc.status != QStringLiteral("reading"))
                    continue;
                if (m_memory->status(doc.id).state == memory::MemoryState::Reading)
                    post([s = m_service, id = doc.id, title = doc.title] { s->enqueue(id, title); });
            }
        } catch (const std::exception& e) {
            m_memory.reset();
            m_db.reset();
            m_error = q(e.what());
        }
    }

    void close()
    {
        m_memory.reset();
        m_db.reset();
    }

    void run(qint64 jobId, qint64 docId, qint64 checkpointEvery)
    {
        if (!m_memory) {
            post([s = m_service, jobId, why = m_error] {
                s->onIngestDone(jobId, false, 0, 0, 0, QObject::tr("the library cannot be opened for reading: %1").arg(why));
            });
            return;
        }
        memory::IngestOptions options;
        options.checkpointEvery = checkpointEvery;
        options.cancel = &m_service->m_ingestCancel;
        QElapsedTimer sincePost;
        sincePost.start();
        options.onProgress = [&](const memory::IngestProgress& p) {
            if (sincePost.elapsed() < 250 && p.done < p.total)
                return;
            sincePost.restart();
            post([s = m_service, jobId, done = p.done, total = p.total, tps = p.tokensPerSecond] {
                s->onIngestProgress(jobId, done, total, tps);
            });
        };
        try {
            const memory::IngestResult r = m_memory->ingest(docId, options);
            const double tps = r.readSeconds > 0 ? double(r.readTokens) / r.readSeconds : 0.0;
            // Stopped: what a resumed reading starts from (the last checkpoint), not what
            // was read past it.
            const qint64 done = r.cancelled ? m_memory->status(docId).doneTokens : r.tokens;
            post([s = m_service, jobId, cancelled = r.cancelled, done, total = r.tokens, tps] {
                s->onIngestDone(jobId, cancelled, done, total, tps, QString());
            });
        } catch (const std::exception& e) {
            post([s = m_service, jobId, why = q(e.what())] { s->onIngestDone(jobId, false, 0, 0, 0, why); });
        }
    }

    void prepare(qint64 docId, qint64 atChar)
    {
        qint64 position = -1;
        if (m_memory) {
            try {
                if (m_memory->status(docId).state == memory::MemoryState::Ready)
                    position = m_memory->prepareAt(docId, atChar);
            } catch (const std::exception&) {
                // Best effort: the question there will replay instead.
            }
        }
        post([s = m_service, docId, atChar, position] {
            s->m_preparing = false;
            if (position >= 0) {
                s->m_preparedDoc = docId;
                s->m_preparedChar = atChar;
                emit s->prepared(docId, atChar, position);
            }
            s->schedule();
        });
    }

private:
    ModelMemoryService* m_service;
    std::shared_ptr<const memory::LoadedModel> m_model;
    std::unique_ptr<storage::Database> m_db;
    std::unique_ptr<memory::DocumentMemory> m_memory;
    QString m_error;
};

// ---- the charts thread: fidelity curves ------------------------------------------------

/// Runs the engine's fidelity protocol (engine/eval, `memmamba eval fidelity`) on excerpts
/// of one document's own text, sample by sample (progress and cancel between samples;
/// the protocol also checks the flag between its reads).
class FidelityWorker : public QObject {
public:
    explicit FidelityWorker(ModelMemoryService* service) : m_service(service) {}

    template <typename F>
    void post(F f)
    {
        QMetaObject::invokeMethod(m_service, std::move(f), Qt::QueuedConnection);
    }

    void open(std::shared_ptr<const memory::LoadedModel> model, const QString& dbPath)
    {
        m_model = std::move(model);
        m_dbPath = dbPath;
    }

    void close() { m_db.reset(); }

    void run(quint64 serial, const ui::FidelityRequest& request, std::shared_ptr<std::atomic<bool>> cancel)
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
                *m_model, *m_db, docId, o, cancel.get(), [&](int done, int total) {
                    post([s = m_service, serial, docId, done, total] {
                        if (s->m_fidelitySerial == serial) {
                            s->m_fidelityDone = done;
                            s->m_fidelityTotal = total;
                        }
                        emit s->fidelityProgress(docId, done, total);
                    });
                });
            if (f.cancelled || cancel->load()) {
                post([s = m_service, serial, docId] {
                    const bool current = s->m_fidelitySerial == serial || s->m_fidelityDoc != docId;
                    s->onFidelityDone(serial, docId);
                    if (current)
                        emit s->fidelityCancelled(docId);
                });
                return;
            }
            const ui::FidelityCurves curves = curvesOf(docId, f);
            post([s = m_service, serial, curves] {
                s->m_fidelityCache.insert(curves.docId, curves);
                s->onFidelityDone(serial, curves.docId);
                emit s->fidelityReady(curves);
            });
        } catch (const std::exception& e) {
            post([s = m_service, serial, docId, why = q(e.what())] {
                const bool current = s->m_fidelitySerial == serial || s->m_fidelityDoc != docId;
                s->onFidelityDone(serial, docId);
                if (current)
                    emit s->fidelityFailed(docId, why);
            });
        }
    }

private:
    ModelMemoryService* m_service;
    std::shared_ptr<const memory::LoadedModel> m_model;
    QString m_dbPath;
    std::unique_ptr<storage::Database> m_db;
};

// ---- the service (GUI thread) ----------------------------------------------------------

ModelMemoryService::ModelMemoryService(const ModelMemoryOptions& options, QObject* parent)
    : ui::MemoryService(parent),
      m_options(options),
      m_queries(new QueryWorker(this)),
      m_ingest(new IngestWorker(this)),
      m_charts(new FidelityWorker(this)),
      m_prepareTimer(new QTimer(this))
{
    ui::registerMemoryMetaTypes();
    m_device.name = tr("Loading the model…");
    m_queryThread.setObjectName(QStringLiteral("MemoryQueries"));
    m_ingestThread.setObjectName(QStringLiteral("MemoryIngest"));
    m_queries->moveToThread(&m_queryThread);
    m_ingest->moveToThread(&m_ingestThread);
    m_chartsThread.setObjectName(QStringLiteral("MemoryCharts"));
    m_charts->moveToThread(&m_chartsThread);
    m_queryThread.start();
    m_ingestThread.start();
    m_chartsThread.start();
    m_prepareTimer->setSingleShot(true);
    m_prepareTimer->setInterval(options.prepareDelayMs);
    connect(m_prepareTimer, &QTimer::timeout, this, &ModelMemoryService::prepareSoon);
}

ModelMemoryService::~ModelMemoryService()
{
    m_ingestCancel = true;
    m_currentAskCancel = true;
    if (m_fidelityCancel)
        m_fidelityCancel->store(true);
    QMetaObject::invokeMethod(m_queries, [w = m_queries] { w->close(); }, Qt::QueuedConnection);
    QMetaObject::invokeMethod(m_ingest, [w = m_ingest] { w->close(); }, Qt::QueuedConnection);
    QMetaObject::invokeMethod(m_charts, [w = m_charts] { w->close(); }, Qt::QueuedConnection);
    m_queryThread.quit();
    m_ingestThread.quit();
    m_chartsThread.quit();
    m_queryThread.wait();
    m_ingestThread.wait();
    m_chartsThread.wait();
    delete m_queries;
    delete m_ingest;
    delete m_charts;
}

template <typename F>
void ModelMemoryService::toQueries(F f)
{
    QMetaObject::invokeMethod(m_queries, std::move(f), Qt::QueuedConnection);
}

template <typename F>
void ModelMemoryService::toIngest(F f)
{
    QMetaObject::invokeMethod(m_ingest, std::move(f), Qt::QueuedConnection);
}

template <typename F>
void ModelMemoryService::toCharts(F f)
{
    QMetaObject::invokeMethod(m_charts, std::move(f), Qt::QueuedConnection);
}

void ModelMemoryService::start()
{
    if (m_started)
        return;
    m_started = true;
    toQueries([w = m_queries, options = m_options] { w->load(options); });
}

void ModelMemoryService::onEngineLoaded(std::shared_ptr<const memory::LoadedModel> engine, const ui::MemoryDevice& device)
{
    m_device = device;
    m_engineReady = true;
    toIngest([w = m_ingest, engine, path = m_options.databasePath, find = m_options.resumeUnfinished] {
        w->open(engine, path, find);
    });
    toCharts([w = m_charts, engine, path = m_options.databasePath] { w->open(engine, path); });
    emit deviceReady(m_device);
    emit modelReady();
    schedule();
    if (m_fidelityWaiting) {
        const ui::FidelityRequest request = *m_fidelityWaiting;
        m_fidelityWaiting.reset();
        startFidelity(request);
    }
}

void ModelMemoryService::onEngineFailed(const QString& message)
{
    m_modelError = message;
    m_device.name = tr("No model: %1").arg(message);
    emit deviceReady(m_device);
    emit modelFailed(message);
    if (m_fidelityWaiting) {
        const qint64 docId = m_fidelityWaiting->docId;
        m_fidelityWaiting.reset();
        emit fidelityFailed(docId, tr("The model could not be loaded: %1").arg(message));
    }
    for (ui::IngestJob& j : m_jobs) {
        if (j.state == ui::IngestJob::Queued || j.state == ui::IngestJob::Running || j.state == ui::IngestJob::Paused) {
            j.state = ui::IngestJob::Failed;
            j.error = tr("The model could not be loaded: %1").arg(message);
            emit ingestFailed(j, j.error);
        }
    }
}

ui::IngestJob* ModelMemoryService::job(qint64 jobId)
{
    for (ui::IngestJob& j : m_jobs) {
        if (j.jobId == jobId)
            return &j;
    }
    return nullptr;
}

void ModelMemoryService::enqueue(qint64 docId, const QString& title)
{
    for (const ui::IngestJob& j : std::as_const(m_jobs)) {
        if (j.docId == docId && (j.state == ui::IngestJob::Queued || j.state == ui::IngestJob::Running
                                 || j.state == ui::IngestJob::Paused)) {
            emit ingestQueued(j);
            return;
        }
    }
    ui::IngestJob j;
    j.jobId = ++m_lastJobId;
    j.docId = docId;
    j.title = title;
    if (!m_modelError.isEmpty()) {
        j.state = ui::IngestJob::Failed;
        j.error = tr("The model could not be loaded: %1").arg(m_modelError);
        m_jobs << j;
        emit ingestFailed(j, j.error);
        return;
    }
    m_jobs << j;
    emit ingestQueued(j);
    schedule();
}

void ModelMemoryService::schedule()
{
    if (!m_engineReady || m_runningJobId != 0)
        return;
    for (ui::IngestJob& j : m_jobs) {
        if (j.state != ui::IngestJob::Queued)
            continue;
        j.state = ui::IngestJob::Running;
        m_runningJobId = j.jobId;
        m_ingestCancel = false;
        emit ingestProgress(j);
        toIngest([w = m_ingest, jobId = j.jobId, docId = j.docId, every = m_options.checkpointEvery] {
            w->run(jobId, docId, every);
        });
        return;
    }
}

void ModelMemoryService::pause(qint64 jobId)
{
    ui::IngestJob* j = job(jobId);
    if (!j || (j->state != ui::IngestJob::Queued && j->state != ui::IngestJob::Running))
        return;
    if (j->state == ui::IngestJob::Running)
        m_ingestCancel = true;  // stops after the current segment; committed spans stay
    j->state = ui::IngestJob::Paused;
    j->tokensPerSecond = 0;
    emit ingestProgress(*j);
}

void ModelMemoryService::resume(qint64 jobId)
{
    ui::IngestJob* j = job(jobId);
    if (!j || j->state != ui::IngestJob::Paused)
        return;
    // Still winding down from the pause: it restarts (from its last checkpoint) when
    // the worker returns, since schedule() waits for the running job.
    j->state = ui::IngestJob::Queued;
    emit ingestProgress(*j);
    schedule();
}

void ModelMemoryService::cancel(qint64 jobId)
{
    ui::IngestJob* j = job(jobId);
    if (!j || j->state == ui::IngestJob::Finished || j->state == ui::IngestJob::Failed
        || j->state == ui::IngestJob::Cancelled)
        return;
    if (m_runningJobId == jobId)
        m_ingestCancel = true;
    j->state = ui::IngestJob::Cancelled;
    j->tokensPerSecond = 0;
    emit ingestCancelled(*j);
}

void ModelMemoryService::onIngestProgress(qint64 jobId, qint64 done, qint64 total, double tokensPerSecond)
{
    ui::IngestJob* j = job(jobId);
    if (!j || j->state != ui::IngestJob::Running)
        return;
    j->tokensDone = done;
    j->tokensTotal = total;
    j->tokensPerSecond = tokensPerSecond;
    emit ingestProgress(*j);
}

void ModelMemoryService::onIngestDone(qint64 jobId, bool cancelled, qint64 done, qint64 total, double tokensPerSecond,
                                      const QString& error)
{
    if (m_runningJobId == jobId)
        m_runningJobId = 0;
    ui::IngestJob* j = job(jobId);
    if (j) {
        if (done > 0 || (cancelled && error.isEmpty()))
            j->tokensDone = done;
        if (total > 0)
            j->tokensTotal = total;
        if (!error.isEmpty()) {
            j->state = ui::IngestJob::Failed;
            j->error = error;
            emit ingestFailed(*j, error);
        } else if (!cancelled) {
            j->state = ui::IngestJob::Finished;
            j->tokensDone = j->tokensTotal;
            emit ingestFinished(*j);
        } else if (j->state == ui::IngestJob::Running) {
            // Cancelled by the destructor's flag or something else: keep it queued.
            j->state = ui::IngestJob::Paused;
            emit ingestProgress(*j);
        } else {
            emit ingestProgress(*j);  // Paused/Cancelled already announced; show where it stopped
        }
        if (tokensPerSecond > 0 && !cancelled && error.isEmpty() && done > 2048) {
            m_device.expectedTokensPerSecond = tokensPerSecond;  // measured on a real book: better than the probe
            emit deviceReady(m_device);
        }
    }
    schedule();
}

void ModelMemoryService::requestMemoryMap(qint64 docId)
{
    toQueries([w = m_queries, docId] { w->memoryMap(docId); });
}

void ModelMemoryService::requestPool(qint64 docId, qint64 atChar)
{
    const qint64 serial = ++m_poolSerial;
    toQueries([w = m_queries, docId, atChar, serial] { w->pool(docId, atChar, serial); });
    m_prepareDoc = docId;
    m_prepareChar = atChar;
    m_prepareTimer->start();
}

void ModelMemoryService::prepareSoon()
{
    if (!m_engineReady || m_prepareDoc <= 0 || m_prepareChar < 0)
        return;
    if (m_runningJobId != 0 || m_preparing) {
        m_prepareTimer->start();  // after the reading (or the previous preparation)
        return;
    }
    if (m_prepareDoc == m_preparedDoc && m_prepareChar == m_preparedChar)
        return;
    m_preparing = true;
    toIngest([w = m_ingest, docId = m_prepareDoc, atChar = m_prepareChar] { w->prepare(docId, atChar); });
}

void ModelMemoryService::ask(const ui::AskRequest& request)
{
    toQueries([w = m_queries, request] { w->ask(request); });
}

void ModelMemoryService::cancelAsk(qint64 askId)
{
    std::lock_guard<std::mutex> lock(m_askMutex);
    m_cancelledAsks.insert(askId);
    if (m_currentAskId.load() == askId)
        m_currentAskCancel = true;
}

void ModelMemoryService::requestHistory(qint64 docId)
{
    toQueries([w = m_queries, docId] { w->history(docId); });
}

void ModelMemoryService::saveAnswer(const ui::AnswerRecord& record)
{
    toQueries([w = m_queries, record] { w->save(record); });
}

void ModelMemoryService::requestFidelity(const ui::FidelityRequest& request)
{
    const qint64 docId = request.docId;
    if (const auto it = m_fidelityCache.constFind(docId); it != m_fidelityCache.constEnd()) {
        QTimer::singleShot(0, this, [this, curves = *it] { emit fidelityReady(curves); });
        return;
    }
    if (!m_modelError.isEmpty()) {
        QTimer::singleShot(0, this, [this, docId, why = tr("The model could not be loaded: %1").arg(m_modelError)] {
            emit fidelityFailed(docId, why);
        });
        return;
    }
    if (m_fidelityDoc == docId) {  // being measured: where it is
        QTimer::singleShot(0, this, [this, docId, done = m_fidelityDone, total = m_fidelityTotal] {
            emit fidelityProgress(docId, done, total);
        });
        return;
    }
    if (!m_engineReady) {
        if (m_fidelityWaiting && m_fidelityWaiting->docId != docId)
            QTimer::singleShot(0, this, [this, old = m_fidelityWaiting->docId] { emit fidelityCancelled(old); });
        m_fidelityWaiting = request;  // measured once the model is loaded
        return;
    }
    startFidelity(request);
}

void ModelMemoryService::startFidelity(const ui::FidelityRequest& request)
{
    if (m_fidelityDoc != 0 && m_fidelityCancel)
        m_fidelityCancel->store(true);  // superseded: it stops after its current read
    m_fidelityCancel = std::make_shared<std::atomic<bool>>(false);
    m_fidelityDoc = request.docId;
    const quint64 serial = ++m_fidelitySerial;
    m_fidelityDone = 0;
    m_fidelityTotal = std::max(1, request.samples) * (request.withAblation ? 2 : 1);
    emit fidelityProgress(request.docId, 0, m_fidelityTotal);
    toCharts([w = m_charts, serial, request, cancel = m_fidelityCancel] { w->run(serial, request, cancel); });
}

void ModelMemoryService::onFidelityDone(quint64 serial, qint64 docId)
{
    Q_UNUSED(docId)
    if (serial != m_fidelitySerial)
        return;  // a superseded run: the current one is still going
    m_fidelityDoc = 0;
    m_fidelityCancel.reset();
}

void ModelMemoryService::cancelFidelity(qint64 docId)
{
    if (m_fidelityWaiting && m_fidelityWaiting->docId == docId) {
        m_fidelityWaiting.reset();
        QTimer::singleShot(0, this, [this, docId] { emit fidelityCancelled(docId); });
        return;
    }
    if (m_fidelityDoc == docId && m_fidelityCancel)
        m_fidelityCancel->store(true);  // the worker answers fidelityCancelled
}

}  // namespace mm::memoryui
