#include "ui/memory_map_panel.h"

#include "ui/memory_map_widget.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace mm::ui {

MemoryMapPanel::MemoryMapPanel(QWidget* parent)
    : QWidget(parent), m_map(new MemoryMapWidget(this)), m_layerRow(new QHBoxLayout), m_viewLabel(new QLabel(this))
{
    setObjectName(QStringLiteral("memoryMapPanel"));
    auto* tools = new QHBoxLayout;
    tools->setContentsMargins(0, 0, 0, 0);
    auto addTool = [&](const QString& text, const QString& tip, const QString& name, auto slot) {
        auto* button = new QToolButton(this);
        button->setText(text);
        button->setToolTip(tip);
        button->setObjectName(name);
        button->setAutoRaise(true);
        connect(button, &QToolButton::clicked, m_map, slot);
        tools->addWidget(button);
        return button;
    };
    addTool(QStringLiteral("−"), tr("Zoom out (−)"), QStringLiteral("zoomOut"), &MemoryMapWidget::zoomOut);
    addTool(QStringLiteral("+"), tr("Zoom in (+, or the mouse wheel)"), QStringLiteral("zoomIn"), &MemoryMapWidget::zoomIn);
    addTool(tr("Book"), tr("The whole book (0)"), QStringLiteral("zoomBook"), &MemoryMapWidget::zoomToWholeBook);
    addTool(tr("Here"), tr("A page around the reading position (.)"), QStringLiteral("zoomHere"),
            &MemoryMapWidget::zoomToReadingPosition);
    tools->addSpacing(12);
    auto* layersLabel = new QLabel(tr("Layers:"), this);
    tools->addWidget(layersLabel);
    m_layerRow->setSpacing(0);
    tools->addLayout(m_layerRow);
    tools->addStretch(1);
    m_viewLabel->setObjectName(QStringLiteral("memoryMapView"));
    m_viewLabel->setForegroundRole(QPalette::PlaceholderText);
    tools->addWidget(m_viewLabel);

    auto* legend = new QLabel(this);
    legend->setObjectName(QStringLiteral("memoryMapLegend"));
    legend->setTextFormat(Qt::RichText);
    legend->setText(tr("<span style='color:#d9902f'>■</span> importance &nbsp; "
                       "<span style='color:#1f6f78'>■</span> noted &nbsp; "
                       "<span style='color:#b8323a'>■</span> evicted &nbsp; "
                       "<span style='color:#5b6b7a'>■</span> surprisal &nbsp; "
                       "│ reading position · click to jump"));
    legend->setForegroundRole(QPalette::PlaceholderText);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(tools);
    layout->addWidget(m_map, 1);
    layout->addWidget(legend);

    connect(m_map, &MemoryMapWidget::positionActivated, this, &MemoryMapPanel::positionActivated);
    connect(m_map, &MemoryMapWidget::viewChanged, this, &MemoryMapPanel::updateViewLabel);
    connect(&m_watcher, &QFutureWatcherBase::finished, this, [this] {
        if (m_pendingGeneration != m_generation)
            return;  // cleared or replaced while it was being indexed
        setIndex(m_watcher.result(), m_pendingText);
        m_pendingText.clear();
    });
}

void MemoryMapPanel::setData(std::shared_ptr<const MemoryMapData> data, const QString& documentText)
{
    m_pendingText = documentText;
    m_pendingGeneration = ++m_generation;
    // A 1M-token book takes a few tens of milliseconds to index: not on this thread.
    m_watcher.setFuture(QtConcurrent::run([data] {
        return std::shared_ptr<const MemoryMapIndex>(std::make_shared<MemoryMapIndex>(data));
    }));
}

void MemoryMapPanel::setIndex(std::shared_ptr<const MemoryMapIndex> index, const QString& documentText)
{
    m_map->setDocumentText(documentText);
    m_map->setIndex(index);
    rebuildLayerButtons(index ? index->layerCount() : 0);
    emit indexReady();
}

void MemoryMapPanel::clear()
{
    ++m_generation;
    m_pendingText.clear();
    m_map->clear();
    rebuildLayerButtons(0);
}

QToolButton* MemoryMapPanel::layerButton(int layer) const
{
    return layer >= 0 && layer < m_layerButtons.size() ? m_layerButtons[layer] : nullptr;
}

QVector<int> MemoryMapPanel::selectedLayers() const
{
    QVector<int> out;
    for (int i = 0; i < m_layerButtons.size(); ++i) {
        if (m_layerButtons[i]->isChecked())
            out << i;
    }
    if (out.isEmpty()) {
        for (int i = 0; i < m_layerButtons.size(); ++i)
            out << i;
    }
    return out;
}

void MemoryMapPanel::setSelectedLayers(const QVector<int>& layers)
{
    m_wantedLayers = layers;
    if (m_layerButtons.isEmpty())
        return;
    bool any = false;
    for (int i = 0; i < m_layerButtons.size(); ++i) {
        const bool on = layers.contains(i);
        any = any || on;
        QSignalBlocker block(m_layerButtons[i]);
        m_layerButtons[i]->setChecked(on);
    }
    if (!any) {
        for (auto* button : std::as_const(m_layerButtons)) {
            QSignalBlocker block(button);
            button->setChecked(true);
        }
    }
    m_map->setShownLayers(selectedLayers());
    emit layerSelectionChanged(selectedLayers());
}

void MemoryMapPanel::rebuildLayerButtons(int layerCount)
{
    if (layerCount == m_layerButtons.size())
        return;
    qDeleteAll(m_layerButtons);
    m_layerButtons.clear();
    for (int layer = 0; layer < layerCount; ++layer) {
        auto* button = new QToolButton(this);
        button->setObjectName(QStringLiteral("layer%1").arg(layer));
        button->setText(QString::number(layer));
        button->setToolTip(tr("Show layer %1 on the map and its notes in the text").arg(layer));
        button->setCheckable(true);
        button->setChecked(true);
        button->setAutoRaise(true);
        connect(button, &QToolButton::toggled, this, [this] {
            m_wantedLayers = selectedLayers();
            m_map->setShownLayers(m_wantedLayers);
            emit layerSelectionChanged(m_wantedLayers);
        });
        m_layerRow->addWidget(button);
        button->show();
        m_layerButtons << button;
    }
    if (!m_wantedLayers.isEmpty())
        setSelectedLayers(m_wantedLayers);
    else
        m_map->setShownLayers(selectedLayers());
}

void MemoryMapPanel::updateViewLabel()
{
    const auto index = m_map->index();
    if (!index || index->tokenCount() == 0) {
        m_viewLabel->clear();
        return;
    }
    const qint64 span = m_map->viewEnd() - m_map->viewBegin();
    const QLocale locale;
    m_viewLabel->setText(span >= index->tokenCount()
                             ? tr("whole book · %1 tokens").arg(locale.toString(index->tokenCount()))
                             : tr("%1 of %2 tokens").arg(locale.toString(span), locale.toString(index->tokenCount())));
}

}  // namespace mm::ui
