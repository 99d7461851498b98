// MainWindow's memory docks (map, notes, ask, charts, reading queue) and their wiring to
// the MemoryService: what each dock shows (its gate's message or its panel) follows the
// ReadingSession's document and memory state. See main_window.h.
#include "ui/main_window.h"

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

#include <QDir>
#include <QDockWidget>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>

namespace mm::ui {

void MainWindow::createMemoryDocks()
{
    auto addGatedDock = [this](QWidget* panel, const QString& title, const QString& name, Qt::DockWidgetArea area) {
        auto* gate = new MemoryGate(panel, this);
        gate->setObjectName(name + QStringLiteral("Gate"));
        m_gates << gate;
        connect(gate, &MemoryGate::readRequested, this, &MainWindow::readOpenDocumentWithModel);
        auto* dockWidget = new QDockWidget(title, this);
        dockWidget->setObjectName(name);
        dockWidget->setWidget(gate);
        dockWidget->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable
                                | QDockWidget::DockWidgetFloatable);
        addDockWidget(area, dockWidget);
        m_docks << dockWidget;
        return dockWidget;
    };
    QDockWidget* map = addGatedDock(m_mapPanel, tr("Memory map"), QStringLiteral("memoryMapDock"), Qt::BottomDockWidgetArea);
    QDockWidget* notes = addGatedDock(m_notes, tr("Notes"), QStringLiteral("notesDock"), Qt::RightDockWidgetArea);
    QDockWidget* askDock = addGatedDock(m_ask, tr("Ask"), QStringLiteral("askDock"), Qt::RightDockWidgetArea);
    QDockWidget* charts = addGatedDock(m_charts, tr("Charts"), QStringLiteral("chartsDock"), Qt::BottomDockWidgetArea);
    auto* ingestDock = new QDockWidget(tr("Reading queue"), this);
    ingestDock->setObjectName(QStringLiteral("ingestDock"));
    ingestDock->setWidget(m_ingest);
    addDockWidget(Qt::BottomDockWidgetArea, ingestDock);
    m_docks << ingestDock;
    tabifyDockWidget(dock(QStringLiteral("searchDock")), askDock);
    tabifyDockWidget(askDock, notes);
    tabifyDockWidget(map, charts);
    tabifyDockWidget(charts, ingestDock);
    dock(QStringLiteral("searchDock"))->raise();
    map->raise();
    ingestDock->hide();  // shown when a book is queued
    resizeDocks({map}, {240}, Qt::Vertical);

    connect(m_mapPanel, &MemoryMapPanel::positionActivated, this, &MainWindow::jumpTo);
    connect(m_mapPanel, &MemoryMapPanel::layerSelectionChanged, this, [this](const QVector<int>& layers) {
        m_notes->setLayers(layers);
        m_charts->setLayers(layers);
        QStringList list;
        for (int layer : layers)
            list << QString::number(layer);
        QSettings().setValue(QStringLiteral("memory/layers"), list.join(QLatin1Char(',')));
    });
    connect(m_notes, &NotesPanel::marksChanged, m_reader, &ReadingView::setMemoryMarks);
    connect(m_notes, &NotesPanel::noteActivated, this, [this](qint64 start, qint64 end) {
        m_reader->highlightPassage(start, end, {});
    });
    connect(m_ask, &AskPanel::evidenceActivated, this, [this](qint64 start, qint64 end) {
        m_reader->highlightPassage(start, end, {});
    });
    connect(m_session, &ReadingSession::positionChanged, this, [this](qint64 position) {
        m_mapPanel->map()->setReadingPosition(position);
        m_ask->setReadingPosition(position);
        m_charts->setReadingPosition(position);
        requestPoolSoon();
    });
    connect(m_poolTimer, &QTimer::timeout, this, [this] {
        if (m_memory && m_session->memoryShown() && m_session->documentId() > 0)
            m_memory->requestPool(m_session->documentId(), m_reader->position());
    });

    QVector<int> layers;
    const QString saved = QSettings().value(QStringLiteral("memory/layers")).toString();
    for (const QString& part : saved.split(QLatin1Char(','), Qt::SkipEmptyParts))
        layers << part.toInt();
    m_mapPanel->setSelectedLayers(layers);
    m_notes->setLayers(layers);
    m_charts->setLayers(layers);
    connect(dock(QStringLiteral("chartsDock")), &QDockWidget::visibilityChanged, m_charts, &ChartsPanel::setOnScreen);
    connect(m_charts, &ChartsPanel::exported, this, [this](const QString& path) {
        statusBar()->showMessage(tr("Chart saved to %1").arg(QDir::toNativeSeparators(path)), 10000);
    });
    setMemoryGates(tr("The model's memory is not available in this build."), false);
}

MemoryGate* MainWindow::memoryGate(const QString& dockName) const
{
    QDockWidget* dockWidget = dock(dockName);
    return dockWidget ? qobject_cast<MemoryGate*>(dockWidget->widget()) : nullptr;
}

void MainWindow::setMemoryGates(const QString& message, bool offerRead)
{
    for (MemoryGate* gate : std::as_const(m_gates))
        gate->showMessage(message, offerRead && m_memory);
    if (m_readAction)
        m_readAction->setEnabled(m_memory && m_session->documentId() > 0);
}

void MainWindow::setMemoryService(MemoryService* service)
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
        setMemoryGates(tr("The model's memory is not available in this build."), false);
        return;
    }
    connectMemoryService();
    m_library->setReadWithModelEnabled(true);
    m_ingest->setDevice(m_memory->device());
    if (m_session->documentId() > 0) {
        setMemoryGates(tr("Looking for the model's memory of this book…"), false);
        m_memory->requestMemoryMap(m_session->documentId());
        m_ask->setDocument(m_session->documentId());
    } else {
        setMemoryGates(tr("Open a book to see the model's memory of it."), false);
    }
}

void MainWindow::connectMemoryService()
{
    MemoryService* service = m_memory;
    connect(service, &MemoryService::deviceReady, m_ingest, &IngestQueuePanel::setDevice);
    connect(service, &MemoryService::memoryMapReady, this, &MainWindow::onMemoryMapReady);
    connect(service, &MemoryService::memoryUnavailable, this, [this](qint64 docId, const QString& reason) {
        if (docId != m_session->documentId())
            return;
        m_session->setMemoryState(memory::MemoryState::None);
        m_mapPanel->clear();
        m_notes->clear();
        m_reader->clearMemoryMarks();
        m_charts->setMemoryUnavailable(docId, reason);
        QString message = tr("Read this book with the model first: its memory map, notes and answers come from "
                             "that reading.");
        if (!reason.isEmpty())
            message += QLatin1Char('\n') + reason;
        setMemoryGates(message, true);
    });
    connect(service, &MemoryService::poolReady, this, [this](const PoolSnapshot& snapshot) {
        if (snapshot.docId != m_session->documentId() || !m_session->memoryShown())
            return;
        m_notes->setSnapshot(snapshot);
        QVector<QPair<int, qint64>> held;
        held.reserve(snapshot.entries.size());
        for (const PoolEntry& entry : snapshot.entries)
            held.push_back({entry.layer, entry.tokenPosition});
        m_mapPanel->map()->setPoolTokens(held);
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
            setMemoryGates(job.state == IngestJob::Queued
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
        statusBar()->showMessage(tr("The model could not read “%1”: %2").arg(job.title, message), 15000);
        if (job.docId == m_session->documentId() && !m_session->memoryShown())
            setMemoryGates(tr("The model could not read this book: %1").arg(message), true);
    });
    connect(service, &MemoryService::ingestCancelled, this, [this](const IngestJob& job) {
        IngestJob cancelled = job;
        cancelled.state = IngestJob::Cancelled;
        m_ingest->updateJob(cancelled);
        if (job.docId == m_session->documentId() && !m_session->memoryShown())
            setMemoryGates(tr("Reading was cancelled; what was read is kept, and reading again resumes there."), true);
    });
    connect(m_library, &LibraryPanel::readWithModelRequested, service,
            [this](const QVector<qint64>& docIds, const QStringList& titles) {
                QDockWidget* ingestDock = dock(QStringLiteral("ingestDock"));
                ingestDock->show();
                ingestDock->raise();
                for (int i = 0; i < docIds.size(); ++i)
                    m_memory->enqueue(docIds[i], titles.value(i));
            });
    connect(m_ingest, &IngestQueuePanel::pauseRequested, service, &MemoryService::pause);
    connect(m_ingest, &IngestQueuePanel::resumeRequested, service, &MemoryService::resume);
    connect(m_ingest, &IngestQueuePanel::cancelRequested, service, &MemoryService::cancel);
}

void MainWindow::readOpenDocumentWithModel()
{
    if (!m_memory || m_session->documentId() <= 0)
        return;
    QDockWidget* ingestDock = dock(QStringLiteral("ingestDock"));
    ingestDock->show();
    ingestDock->raise();
    m_memory->enqueue(m_session->documentId(), m_session->title());
}

void MainWindow::onMemoryMapReady(std::shared_ptr<const MemoryMapData> data)
{
    if (!data || data->docId != m_session->documentId())
        return;
    m_session->setMemoryState(memory::MemoryState::Ready);
    m_mapPanel->setData(data, m_openText);
    m_mapPanel->map()->setReadingPosition(m_reader->position());
    m_charts->setReadingPosition(m_reader->position());
    m_charts->setMemoryData(data);
    for (MemoryGate* gate : std::as_const(m_gates))
        gate->showContent();
    m_memory->requestPool(m_session->documentId(), m_reader->position());
}

void MainWindow::requestPoolSoon()
{
    if (m_memory && m_session->memoryShown())
        m_poolTimer->start();
}

void MainWindow::jumpTo(qint64 position)
{
    m_reader->jumpTo(position);
}

}  // namespace mm::ui
