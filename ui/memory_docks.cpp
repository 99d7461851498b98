// See memory_docks.h.
#include "ui/memory_docks.h"

#include "ui/ask_panel.h"
#include "ui/charts_panel.h"
#include "ui/ingest_queue_panel.h"
#include "ui/library_panel.h"
#include "ui/memory_gate.h"
#include "ui/memory_map_panel.h"
#include "ui/memory_map_widget.h"
#include "ui/memory_service.h"
#include "ui/notes_panel.h"
#include "ui/reading_session.h"
#include "ui/reading_view.h"

#include <QAction>
#include <QTimer>

namespace mm::ui {

MemoryDocks::MemoryDocks(ReadingSession* session, const MemoryDockPanels& panels, QObject* parent)
    : QObject(parent),
      m_session(session),
      m_reader(panels.reader),
      m_map(panels.map),
      m_notes(panels.notes),
      m_ask(panels.ask),
      m_ingest(panels.ingest),
      m_charts(panels.charts),
      m_library(panels.library),
      m_poolTimer(new QTimer(this))
{
    m_poolTimer->setSingleShot(true);
    m_poolTimer->setInterval(300);  // the pool follows the reading position, not every scroll step
    connect(m_session, &ReadingSession::positionChanged, this, [this](qint64 position) {
        m_map->map()->setReadingPosition(position);
        m_ask->setReadingPosition(position);
        m_charts->setReadingPosition(position);
        requestPoolSoon();
    });
    connect(m_poolTimer, &QTimer::timeout, this, [this] {
        if (m_memory && m_session->memoryShown() && m_session->documentId() > 0)
            m_memory->requestPool(m_session->documentId(), m_reader->position());
    });
}

void MemoryDocks::addGate(MemoryGate* gate)
{
    m_gates << gate;
    connect(gate, &MemoryGate::readRequested, this, &MemoryDocks::readOpenDocument);
}

void MemoryDocks::setReadAction(QAction* action)
{
    m_readAction = action;
    m_readAction->setEnabled(m_memory && m_session->documentId() > 0);
}

void MemoryDocks::documentOpened(const QString& text)
{
    const qint64 docId = m_session->documentId();
    m_text = text;
    m_session->setMemoryState(memory::MemoryState::None);
    m_map->clear();
    m_notes->clear();
    m_charts->setDocument(docId, m_session->title());
    if (m_memory) {
        setGates(tr("Looking for the model's memory of this book…"), false);
        m_ask->setDocument(docId);
        m_memory->requestMemoryMap(docId);
    } else {
        setGates(tr("The model's memory is not available in this build."), false);
    }
}

void MemoryDocks::setGates(const QString& message, bool offerRead)
{
    for (MemoryGate* gate : std::as_const(m_gates))
        gate->showMessage(message, offerRead && m_memory);
    if (m_readAction)
        m_readAction->setEnabled(m_memory && m_session->documentId() > 0);
}

void MemoryDocks::setService(MemoryService* service)
{
    if (m_memory) {
        // Every connection between the old service and the window's panels, both ways.
        for (QObject* panel : std::initializer_list<QObject*>{this, m_ask, m_ingest, m_library, m_charts}) {
            disconnect(m_memory, nullptr, panel, nullptr);
            disconnect(panel, nullptr, m_memory, nullptr);
        }
    }
    m_memory = service;
    m_library->setReadWithModelEnabled(m_memory != nullptr);
    if (m_session->documentId() > 0)
        m_charts->setDocument(m_session->documentId(), m_session->title());  // nothing measured by the old service stays
    if (!m_memory) {
        setGates(tr("The model's memory is not available in this build."), false);
        return;
    }
    connectService();
    m_library->setReadWithModelEnabled(true);
    m_ingest->setDevice(m_memory->device());
    if (m_session->documentId() > 0) {
        setGates(tr("Looking for the model's memory of this book…"), false);
        m_memory->requestMemoryMap(m_session->documentId());
        m_ask->setDocument(m_session->documentId());
    } else {
        setGates(tr("Open a book to see the model's memory of it."), false);
    }
}

void MemoryDocks::connectService()
{
    MemoryService* service = m_memory;
    connect(service, &MemoryService::deviceReady, m_ingest, &IngestQueuePanel::setDevice);
    connect(service, &MemoryService::memoryMapReady, this, &MemoryDocks::onMemoryMapReady);
    connect(service, &MemoryService::memoryUnavailable, this, [this](qint64 docId, const QString& reason) {
        if (docId != m_session->documentId())
            return;
        m_session->setMemoryState(memory::MemoryState::None);
        m_map->clear();
        m_notes->clear();
        m_reader->clearMemoryMarks();
        m_charts->setMemoryUnavailable(docId, reason);
        QString message = tr("Read this book with the model first: its memory map, notes and answers come from "
                             "that reading.");
        if (!reason.isEmpty())
            message += QLatin1Char('\n') + reason;
        setGates(message, true);
    });
    connect(service, &MemoryService::poolReady, this, [this](const PoolSnapshot& snapshot) {
        if (snapshot.docId != m_session->documentId() || !m_session->memoryShown())
            return;
        m_notes->setSnapshot(snapshot);
        QVector<QPair<int, qint64>> held;
        held.reserve(snapshot.entries.size());
        for (const PoolEntry& entry : snapshot.entries)
            held.push_back({entry.layer, entry.tokenPosition});
        m_map->map()->setPoolTokens(held);
    });

    // Questions.
    connect(m_ask, &AskPanel::askRequested, service, &MemoryService::ask);
    connect(m_ask, &AskPanel::cancelRequested, service, &MemoryService::cancelAsk);
    connect(m_ask, &AskPanel::historyRequested, service, &MemoryService::requestHistory);
    connect(m_ask, &AskPanel::answerCompleted, service, [this](const AnswerRecord& record) {
        m_memory->saveAnswer(record);
        requestPoolSoon();  // the pool's "read by the last question" column
    });
    connect(service, &MemoryService::answerStarted, m_ask, &AskPanel::answerStarted);
    connect(service, &MemoryService::answerToken, m_ask, &AskPanel::appendAnswerToken);
    connect(service, &MemoryService::answerFinished, m_ask, &AskPanel::answerFinished);
    connect(service, &MemoryService::answerFailed, m_ask, &AskPanel::answerFailed);
    connect(service, &MemoryService::historyReady, m_ask, &AskPanel::setHistory);

    // Charts: the fidelity curves are measured by the service when the panel asks.
    connect(m_charts, &ChartsPanel::fidelityRequested, service, &MemoryService::requestFidelity);
    connect(m_charts, &ChartsPanel::fidelityCancelRequested, service, &MemoryService::cancelFidelity);
    connect(service, &MemoryService::fidelityProgress, m_charts, &ChartsPanel::setFidelityProgress);
    connect(service, &MemoryService::fidelityReady, m_charts, &ChartsPanel::setFidelityCurves);
    connect(service, &MemoryService::fidelityFailed, m_charts, &ChartsPanel::setFidelityFailed);
    connect(service, &MemoryService::fidelityCancelled, m_charts, &ChartsPanel::setFidelityCancelled);

    // The reading queue.
    auto showJob = [this](const IngestJob& job) {
        m_ingest->updateJob(job);
        if (job.docId == m_session->documentId() && !m_session->memoryShown()
            && (job.state == IngestJob::Running || job.state == IngestJob::Queued || job.state == IngestJob::Paused)) {
            const int percent = job.tokensTotal > 0 ? int(100 * job.tokensDone / job.tokensTotal) : 0;
            if (job.state != IngestJob::Queued)
                m_session->setMemoryState(memory::MemoryState::Reading);
            setGates(job.state == IngestJob::Queued
                               ? tr("This book is queued to be read by the model.")
                               : tr("The model is reading this book (%1%). Its memory appears here when it "
                                    "has finished.").arg(percent),
                           false);
        }
    };
    connect(service, &MemoryService::ingestQueued, this, showJob);
    connect(service, &MemoryService::ingestProgress, this, showJob);
    connect(service, &MemoryService::ingestFinished, this, [this](const IngestJob& job) {
        m_ingest->updateJob(job);
        if (job.docId == m_session->documentId() && !m_session->memoryShown())
            m_memory->requestMemoryMap(job.docId);
    });
    connect(service, &MemoryService::ingestFailed, this, [this](const IngestJob& job, const QString& message) {
        m_ingest->jobFailed(job, message);
        emit statusMessage(tr("The model could not read “%1”: %2").arg(job.title, message), 15000);
        if (job.docId == m_session->documentId() && !m_session->memoryShown())
            setGates(tr("The model could not read this book: %1").arg(message), true);
    });
    connect(service, &MemoryService::ingestCancelled, this, [this](const IngestJob& job) {
        IngestJob cancelled = job;
        cancelled.state = IngestJob::Cancelled;
        m_ingest->updateJob(cancelled);
        if (job.docId == m_session->documentId() && !m_session->memoryShown())
            setGates(tr("Reading was cancelled; what was read is kept, and reading again resumes there."), true);
    });
    connect(m_library, &LibraryPanel::readWithModelRequested, service,
            [this](const QVector<qint64>& docIds, const QStringList& titles) {
                emit ingestDockWanted();
                for (int i = 0; i < docIds.size(); ++i)
                    m_memory->enqueue(docIds[i], titles.value(i));
            });
    connect(m_ingest, &IngestQueuePanel::pauseRequested, service, &MemoryService::pause);
    connect(m_ingest, &IngestQueuePanel::resumeRequested, service, &MemoryService::resume);
    connect(m_ingest, &IngestQueuePanel::cancelRequested, service, &MemoryService::cancel);
}

void MemoryDocks::readOpenDocument()
{
    if (!m_memory || m_session->documentId() <= 0)
        return;
    emit ingestDockWanted();
    m_memory->enqueue(m_session->documentId(), m_session->title());
}

void MemoryDocks::onMemoryMapReady(std::shared_ptr<const MemoryMapData> data)
{
    if (!data || data->docId != m_session->documentId())
        return;
    m_session->setMemoryState(memory::MemoryState::Ready);
    m_map->setData(data, m_text);
    m_map->map()->setReadingPosition(m_reader->position());
    m_charts->setReadingPosition(m_reader->position());
    m_charts->setMemoryData(data);
    for (MemoryGate* gate : std::as_const(m_gates))
        gate->showContent();
    m_memory->requestPool(m_session->documentId(), m_reader->position());
}

void MemoryDocks::requestPoolSoon()
{
    if (m_memory && m_session->memoryShown())
        m_poolTimer->start();
}

}  // namespace mm::ui
