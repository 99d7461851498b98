// See model_memory_service.h.
#include "app/reader/model_memory_service.h"

#include "app/reader/fidelity_worker.h"
#include "app/reader/ingest_worker.h"
#include "app/reader/map_worker.h"
#include "app/reader/question_worker.h"

#include <QTimer>

#include <algorithm>

namespace mm::memoryui {

ModelMemoryService::ModelMemoryService(const ModelMemoryOptions& options, QObject* parent)
    : ui::MemoryService(parent),
      m_options(options),
      m_map(new MapWorker(this)),
      m_questions(new QuestionWorker(this)),
      m_ingest(new IngestWorker(this)),
      m_charts(new FidelityWorker(this)),
      m_prepareTimer(new QTimer(this))
{
    ui::registerMemoryMetaTypes();
    m_device.name = tr("Loading the model…");
    m_prepareTimer->setSingleShot(true);
    m_prepareTimer->setInterval(options.prepareDelayMs);
    connect(m_prepareTimer, &QTimer::timeout, this, &ModelMemoryService::prepareSoon);
    connectWorkers();
}

ModelMemoryService::~ModelMemoryService()
{
    // Stop what runs, then let every lane close its connection and finish.
    m_ingest->cancel();
    m_questions->cancelAll();
    if (m_fidelityCancel)
        m_fidelityCancel->store(true);
    m_load.waitForFinished();  // the workers' first jobs wait on it
    m_map->close();
    m_questions->close();
    m_ingest->close();
    m_charts->close();
}

void ModelMemoryService::connectWorkers()
{
    // Worker signals come from their lanes: queued to this (GUI) thread.
    connect(m_map, &MapWorker::memoryMapReady, this, &MemoryService::memoryMapReady);
    connect(m_map, &MapWorker::memoryUnavailable, this, &MemoryService::memoryUnavailable);
    connect(m_map, &MapWorker::poolReady, this, &MemoryService::poolReady);

    connect(m_questions, &QuestionWorker::answerStarted, this, &MemoryService::answerStarted);
    connect(m_questions, &QuestionWorker::answerToken, this, &MemoryService::answerToken);
    connect(m_questions, &QuestionWorker::answerFinished, this, &MemoryService::answerFinished);
    connect(m_questions, &QuestionWorker::answerFailed, this, &MemoryService::answerFailed);
    connect(m_questions, &QuestionWorker::memoryUnavailable, this, &MemoryService::memoryUnavailable);
    connect(m_questions, &QuestionWorker::historyReady, this, &MemoryService::historyReady);

    connect(m_ingest, &IngestWorker::unfinishedFound, this, &ModelMemoryService::enqueue);
    connect(m_ingest, &IngestWorker::progress, this, &ModelMemoryService::onIngestProgress);
    connect(m_ingest, &IngestWorker::finished, this, &ModelMemoryService::onIngestDone);
    connect(m_ingest, &IngestWorker::prepared, this, &ModelMemoryService::onPrepared);

    connect(m_charts, &FidelityWorker::progress, this, &ModelMemoryService::onFidelityProgress);
    connect(m_charts, &FidelityWorker::ready, this, &ModelMemoryService::onFidelityReady);
    connect(m_charts, &FidelityWorker::cancelled, this,
            [this](quint64 serial, qint64 docId) { onFidelityStopped(serial, docId, QString()); });
    connect(m_charts, &FidelityWorker::failed, this, &ModelMemoryService::onFidelityStopped);
}

void ModelMemoryService::start()
{
    if (m_started)
        return;
    m_started = true;
    m_load = loadReaderModel(m_options, [this](const ReaderModel& loaded) {
        QMetaObject::invokeMethod(this, [this, loaded] { onModelLoaded(loaded); }, Qt::QueuedConnection);
    });
    const QString& path = m_options.databasePath;
    m_map->open(m_load, path);
    m_questions->open(m_load, path);
    m_ingest->open(m_load, path, m_options.resumeUnfinished);
    m_charts->open(m_load, path);
}

void ModelMemoryService::onModelLoaded(const ReaderModel& loaded)
{
    if (!loaded.model) {
        const QString& message = loaded.error;
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
            if (j.state == ui::IngestJob::Queued || j.state == ui::IngestJob::Running
                || j.state == ui::IngestJob::Paused) {
                j.state = ui::IngestJob::Failed;
                j.error = tr("The model could not be loaded: %1").arg(message);
                emit ingestFailed(j, j.error);
            }
        }
        return;
    }
    m_device = loaded.device;
    m_engineReady = true;
    emit deviceReady(m_device);
    emit modelReady();
    schedule();
    if (m_fidelityWaiting) {
        const ui::FidelityRequest request = *m_fidelityWaiting;
        m_fidelityWaiting.reset();
        startFidelity(request);
    }
}

// ---- the reading queue ------------------------------------------------------------------

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
        emit ingestProgress(j);
        m_ingest->read(j.jobId, j.docId, m_options.checkpointEvery);
        return;
    }
}

void ModelMemoryService::pause(qint64 jobId)
{
    ui::IngestJob* j = job(jobId);
    if (!j || (j->state != ui::IngestJob::Queued && j->state != ui::IngestJob::Running))
        return;
    if (j->state == ui::IngestJob::Running)
        m_ingest->cancel();  // stops after the current segment; committed spans stay
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
        m_ingest->cancel();
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

// ---- the memory at the reading position --------------------------------------------------

void ModelMemoryService::requestMemoryMap(qint64 docId) { m_map->requestMemoryMap(docId); }

void ModelMemoryService::requestPool(qint64 docId, qint64 atChar)
{
    m_map->requestPool(docId, atChar);
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
    m_ingest->prepare(m_prepareDoc, m_prepareChar);
}

void ModelMemoryService::onPrepared(qint64 docId, qint64 atChar, qint64 position)
{
    m_preparing = false;
    if (position >= 0) {
        m_preparedDoc = docId;
        m_preparedChar = atChar;
        emit prepared(docId, atChar, position);
    }
    schedule();
}

// ---- questions ---------------------------------------------------------------------------

void ModelMemoryService::ask(const ui::AskRequest& request) { m_questions->ask(request); }

void ModelMemoryService::cancelAsk(qint64 askId) { m_questions->cancelAsk(askId); }

void ModelMemoryService::requestHistory(qint64 docId) { m_questions->requestHistory(docId); }

void ModelMemoryService::saveAnswer(const ui::AnswerRecord& record) { m_questions->saveAnswer(record); }

// ---- fidelity curves ---------------------------------------------------------------------

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
    m_charts->measure(serial, request, m_fidelityCancel);
}

void ModelMemoryService::onFidelityProgress(quint64 serial, qint64 docId, int done, int total)
{
    if (serial == m_fidelitySerial) {
        m_fidelityDone = done;
        m_fidelityTotal = total;
    }
    emit fidelityProgress(docId, done, total);
}

void ModelMemoryService::onFidelityReady(quint64 serial, const ui::FidelityCurves& curves)
{
    m_fidelityCache.insert(curves.docId, curves);
    fidelityDone(serial, curves.docId);
    emit fidelityReady(curves);
}

void ModelMemoryService::onFidelityStopped(quint64 serial, qint64 docId, const QString& error)
{
    if (!fidelityDone(serial, docId))
        return;
    if (error.isEmpty())
        emit fidelityCancelled(docId);
    else
        emit fidelityFailed(docId, error);
}

bool ModelMemoryService::fidelityDone(quint64 serial, qint64 docId)
{
    const bool tell = serial == m_fidelitySerial || m_fidelityDoc != docId;
    if (serial == m_fidelitySerial) {  // else superseded: the current one is still going
        m_fidelityDoc = 0;
        m_fidelityCancel.reset();
    }
    return tell;
}

void ModelMemoryService::cancelFidelity(qint64 docId)
{
    if (m_fidelityWaiting && m_fidelityWaiting->docId == docId) {
        m_fidelityWaiting.reset();
        QTimer::singleShot(0, this, [this, docId] { emit fidelityCancelled(docId); });
        return;
    }
    if (m_fidelityDoc == docId && m_fidelityCancel)
        m_fidelityCancel->store(true);  // the worker answers cancelled
}

}  // namespace mm::memoryui
