// MainWindow's memory docks (map, notes, ask, charts, reading queue): building them and
// wiring the panels to each other and to MemoryDocks (ui/memory_docks.h), which decides
// what they show. See main_window.h.
#include "ui/main_window.h"

#include "ui/ask_panel.h"
#include "ui/charts_panel.h"
#include "ui/ingest_queue_panel.h"
#include "ui/library_panel.h"
#include "ui/memory_docks.h"
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
        m_memoryDocks->addGate(gate);
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
    connect(m_memoryDocks, &MemoryDocks::statusMessage, statusBar(), &QStatusBar::showMessage);
    connect(m_memoryDocks, &MemoryDocks::ingestDockWanted, ingestDock, [ingestDock] {
        ingestDock->show();
        ingestDock->raise();
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
    m_memoryDocks->setGates(tr("The model's memory is not available in this build."), false);
}

MemoryGate* MainWindow::memoryGate(const QString& dockName) const
{
    QDockWidget* dockWidget = dock(dockName);
    return dockWidget ? qobject_cast<MemoryGate*>(dockWidget->widget()) : nullptr;
}

void MainWindow::setMemoryService(MemoryService* service)
{
    m_memoryDocks->setService(service);
}

MemoryService* MainWindow::memoryService() const
{
    return m_memoryDocks->service();
}

void MainWindow::readOpenDocumentWithModel()
{
    m_memoryDocks->readOpenDocument();
}

void MainWindow::jumpTo(qint64 position)
{
    m_reader->jumpTo(position);
}

}  // namespace mm::ui
