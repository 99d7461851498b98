#include "ui/charts_panel.h"

#include "ui/fidelity_chart.h"

#include <QChart>
#include <QChartView>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QMessageBox>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace mm::ui {

namespace {

QString fileSafe(QString s)
{
    static const QString bad = QStringLiteral("\\/:*?\"<>|");
    for (QChar& c : s) {
        if (bad.contains(c) || c.unicode() < 32)
            c = QLatin1Char('_');
    }
    return s.simplified().left(80);
}

}  // namespace

// ---- the panel ---------------------------------------------------------------------------

ChartsPanel::ChartsPanel(QWidget* parent)
    : QWidget(parent),
      m_pplStack(new QStackedWidget(this)),
      m_pplPlaceholder(new QLabel(m_pplStack)),
      m_perplexity(new PerplexityChart(m_pplStack)),
      m_pplExport(new QToolButton(this)),
      m_pplSummary(new QLabel(this)),
      m_fidStack(new QStackedWidget(this)),
      m_fidPlaceholder(new QLabel(this)),
      m_progress(new QProgressBar(this)),
      m_cancelButton(new QPushButton(tr("Cancel"), this)),
      m_measureButton(new QPushButton(tr("Measure"), this)),
      m_fidelity(new FidelityChart(m_fidStack)),
      m_fidExport(new QToolButton(this)),
      m_fidSummary(new QLabel(this))
{
    setObjectName(QStringLiteral("chartsPanel"));

    auto setUpLabel = [](QLabel* label, const QString& name) {
        label->setObjectName(name);
        label->setWordWrap(true);
        label->setAlignment(Qt::AlignCenter);
        label->setTextFormat(Qt::PlainText);
    };
    setUpLabel(m_pplPlaceholder, QStringLiteral("perplexityPlaceholder"));
    setUpLabel(m_fidPlaceholder, QStringLiteral("fidelityPlaceholder"));
    m_pplStack->addWidget(m_pplPlaceholder);
    m_pplStack->addWidget(m_perplexity->view());

    auto* fidPage = new QWidget(m_fidStack);
    auto* fidLayout = new QVBoxLayout(fidPage);
    fidLayout->addStretch(1);
    fidLayout->addWidget(m_fidPlaceholder);
    m_progress->setObjectName(QStringLiteral("fidelityProgress"));
    m_progress->setMinimumWidth(240);
    m_progress->setMaximumWidth(320);
    fidLayout->addWidget(m_progress, 0, Qt::AlignHCenter);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch(1);
    m_cancelButton->setObjectName(QStringLiteral("fidelityCancel"));
    m_measureButton->setObjectName(QStringLiteral("fidelityMeasure"));
    m_measureButton->setToolTip(tr("Measure how far each layer carries a token's influence in this book"));
    buttons->addWidget(m_cancelButton);
    buttons->addWidget(m_measureButton);
    buttons->addStretch(1);
    fidLayout->addLayout(buttons);
    fidLayout->addStretch(1);
    m_fidStack->addWidget(fidPage);
    m_fidStack->addWidget(m_fidelity->view());

    auto column = [this](QStackedWidget* stack, QToolButton* exportButton, QLabel* summary, const QString& exportName,
                         Chart chart) {
        auto* box = new QWidget(this);
        auto* layout = new QVBoxLayout(box);
        layout->setContentsMargins(0, 0, 0, 0);
        layout->setSpacing(2);
        auto* header = new QHBoxLayout;
        summary->setForegroundRole(QPalette::PlaceholderText);
        summary->setTextFormat(Qt::PlainText);
        summary->setWordWrap(true);
        header->addWidget(summary, 1);
        exportButton->setObjectName(exportName);
        exportButton->setText(tr("Export PNG…"));
        exportButton->setToolTip(tr("Save this chart as a PNG image"));
        exportButton->setAutoRaise(true);
        exportButton->setEnabled(false);
        connect(exportButton, &QToolButton::clicked, this, [this, chart] { chooseExportPath(chart); });
        header->addWidget(exportButton, 0, Qt::AlignTop);
        layout->addLayout(header);
        layout->addWidget(stack, 1);
        return box;
    };
    m_pplSummary->setObjectName(QStringLiteral("perplexitySummary"));
    m_fidSummary->setObjectName(QStringLiteral("fidelitySummary"));
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(column(m_pplStack, m_pplExport, m_pplSummary, QStringLiteral("exportPerplexity"), Perplexity));
    splitter->addWidget(column(m_fidStack, m_fidExport, m_fidSummary, QStringLiteral("exportFidelity"), Fidelity));
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(splitter);

    connect(m_cancelButton, &QPushButton::clicked, this, [this] {
        if (m_fidelityState == Measuring && m_docId > 0)
            emit fidelityCancelRequested(m_docId);
    });
    connect(m_measureButton, &QPushButton::clicked, this, &ChartsPanel::measureFidelity);

    clear(tr("Open a book to see charts of the model's memory of it."));
}

ChartsPanel::~ChartsPanel() = default;

QChartView* ChartsPanel::chartView(Chart chart) const
{
    return chart == Perplexity ? m_perplexity->view() : m_fidelity->view();
}

bool ChartsPanel::isChartShown(Chart chart) const
{
    return chart == Perplexity ? m_pplStack->currentWidget() == m_perplexity->view() : m_fidStack->currentWidget() == m_fidelity->view();
}

QString ChartsPanel::placeholderText(Chart chart) const
{
    if (isChartShown(chart))
        return {};
    return chart == Perplexity ? m_pplPlaceholder->text() : m_fidPlaceholder->text();
}

QLineSeries* ChartsPanel::perplexitySeries() const
{
    return m_perplexity->series();
}

QLineSeries* ChartsPanel::smoothedPerplexitySeries() const
{
    return m_perplexity->smoothedSeries();
}

QLineSeries* ChartsPanel::readingPositionSeries() const
{
    return m_perplexity->readingPositionSeries();
}

QLineSeries* ChartsPanel::fidelitySeries(int layer, bool noPool) const
{
    return m_fidelity->series(layer, noPool);
}

QVector<int> ChartsPanel::fidelityLayers() const
{
    QVector<int> layers;
    const int count = int(m_curves.etmf.size());
    for (int l : m_layers) {
        if (l >= 0 && l < count && !layers.contains(l))
            layers << l;
    }
    std::sort(layers.begin(), layers.end());
    if (layers.isEmpty()) {
        for (int l = 0; l < count; ++l)
            layers << l;
    }
    return layers;
}

void ChartsPanel::showPlaceholder(Chart chart, const QString& text)
{
    if (chart == Perplexity) {
        m_pplPlaceholder->setText(text);
        m_pplStack->setCurrentWidget(m_pplPlaceholder);
        m_pplExport->setEnabled(false);
        m_pplSummary->clear();
    } else {
        m_fidPlaceholder->setText(text);
        m_fidStack->setCurrentIndex(0);
        m_fidExport->setEnabled(false);
        m_fidSummary->clear();
    }
}

void ChartsPanel::showChart(Chart chart)
{
    if (chart == Perplexity) {
        m_pplStack->setCurrentWidget(m_perplexity->view());
        m_pplExport->setEnabled(true);
    } else {
        m_fidStack->setCurrentWidget(m_fidelity->view());
        m_fidExport->setEnabled(true);
    }
}

void ChartsPanel::clear(const QString& message)
{
    if (m_fidelityState == Measuring && m_docId > 0)
        emit fidelityCancelRequested(m_docId);
    m_docId = 0;
    m_title.clear();
    m_data.reset();
    m_curves = {};
    m_fidelityState = NotRequested;
    m_perplexity->clear();
    m_fidelity->clear();
    showPlaceholder(Perplexity, message);
    showPlaceholder(Fidelity, message);
    updateFidelityControls();
}

void ChartsPanel::setDocument(qint64 docId, const QString& title)
{
    clear(tr("Looking for the model's memory of this book…"));
    m_docId = docId;
    m_title = title;
}

void ChartsPanel::setMemoryUnavailable(qint64 docId, const QString& reason)
{
    if (docId != m_docId)
        return;
    const QString title = m_title;
    clear(reason.isEmpty()
              ? tr("This book has not been read with the model yet: its perplexity curve comes from that reading, "
                   "and its memory fidelity is measured once it is done.")
              : tr("No charts for this book yet: %1").arg(reason));
    m_docId = docId;
    m_title = title;
}

void ChartsPanel::setMemoryData(std::shared_ptr<const MemoryMapData> data)
{
    if (!data)
        return;
    if (data->docId != m_docId)
        setDocument(data->docId, QString());  // not announced by setDocument: no title
    m_data = std::move(data);  // the same document again (read again) keeps its fidelity curves
    drawPerplexity();
    if (m_fidelityState == NotRequested)
        showPlaceholder(Fidelity, tr("The memory fidelity of this book is measured when this panel is shown."));
    updateFidelityControls();
    maybeRequestFidelity();
}

void ChartsPanel::setReadingPosition(qint64 charPosition)
{
    m_perplexity->setReadingPosition(charPosition);
}

void ChartsPanel::setLayers(const QVector<int>& layers)
{
    if (layers == m_layers)
        return;
    m_layers = layers;
    if (m_fidelityState == Ready)
        drawFidelity();
}

void ChartsPanel::setOnScreen(bool onScreen)
{
    m_onScreenKnown = true;
    m_onScreen = onScreen;
    maybeRequestFidelity();
}

void ChartsPanel::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    maybeRequestFidelity();
}

void ChartsPanel::maybeRequestFidelity()
{
    if (m_fidelityState != NotRequested || !m_data || m_data->docId != m_docId || m_docId <= 0 || !isVisible()
        || (m_onScreenKnown && !m_onScreen))
        return;  // measured only when seen: it costs seconds to minutes of model time
    measureFidelity();
}

void ChartsPanel::measureFidelity()
{
    if (!m_data || m_docId <= 0 || m_fidelityState == Measuring)
        return;
    m_fidelityState = Measuring;
    m_fidelityDone = 0;
    m_fidelityTotal = 0;
    showPlaceholder(Fidelity, tr("Measuring how far each layer carries a token's influence in this book…"));
    updateFidelityControls();
    FidelityRequest request;
    request.docId = m_docId;
    emit fidelityRequested(request);
}

void ChartsPanel::setFidelityProgress(qint64 docId, int done, int total)
{
    if (docId != m_docId || m_fidelityState != Measuring)
        return;
    m_fidelityDone = done;
    m_fidelityTotal = total;
    updateFidelityControls();
}

void ChartsPanel::setFidelityCurves(const FidelityCurves& curves)
{
    if (curves.docId != m_docId || m_docId <= 0)
        return;
    m_curves = curves;
    m_fidelityState = Ready;
    updateFidelityControls();
    drawFidelity();
}

void ChartsPanel::setFidelityFailed(qint64 docId, const QString& message)
{
    if (docId != m_docId)
        return;
    m_fidelityState = Failed;
    showPlaceholder(Fidelity, tr("The memory fidelity could not be measured: %1").arg(message));
    updateFidelityControls();
}

void ChartsPanel::setFidelityCancelled(qint64 docId)
{
    if (docId != m_docId || m_fidelityState != Measuring)
        return;
    m_fidelityState = Cancelled;
    showPlaceholder(Fidelity, tr("The measurement of the memory fidelity was cancelled."));
    updateFidelityControls();
}

void ChartsPanel::updateFidelityControls()
{
    const bool measuring = m_fidelityState == Measuring;
    m_progress->setVisible(measuring);
    m_cancelButton->setVisible(measuring);
    m_measureButton->setVisible(m_data && (m_fidelityState == Failed || m_fidelityState == Cancelled));
    if (measuring) {
        m_progress->setRange(0, std::max(0, m_fidelityTotal));  // 0, 0: busy until the first sample
        m_progress->setValue(m_fidelityDone);
        m_progress->setFormat(m_fidelityTotal > 0 ? tr("%1 of %2 samples").arg(m_fidelityDone).arg(m_fidelityTotal)
                                                  : tr("starting…"));
    }
}

// ---- the charts ------------------------------------------------------------------------

void ChartsPanel::drawPerplexity()
{
    const QString whyNot = m_perplexity->draw(m_data, m_title);
    if (!whyNot.isEmpty()) {
        showPlaceholder(Perplexity, whyNot);
        return;
    }
    m_pplSummary->setText(m_perplexity->summary());
    showChart(Perplexity);
}

void ChartsPanel::drawFidelity()
{
    const QString whyNot = m_fidelity->draw(m_curves, fidelityLayers(), m_title);
    if (!whyNot.isEmpty()) {
        showPlaceholder(Fidelity, whyNot);
        return;
    }
    m_fidSummary->setText(m_fidelity->summary());
    showChart(Fidelity);
}

// ---- export ------------------------------------------------------------------------------

QString ChartsPanel::suggestedFileName(Chart chart) const
{
    const QString what = chart == Perplexity ? QStringLiteral("perplexity") : QStringLiteral("memory-fidelity");
    const QString title = fileSafe(m_title);
    return (title.isEmpty() ? what : title + QStringLiteral(" - ") + what) + QStringLiteral(".png");
}

QString ChartsPanel::exportPng(Chart chart, const QString& path) const
{
    const QString what = chart == Perplexity ? tr("perplexity chart") : tr("memory fidelity chart");
    const QString shown = QDir::toNativeSeparators(path);
    if (path.isEmpty())
        return tr("No file name was given for the %1.").arg(what);
    if (!isChartShown(chart))
        return tr("The %1 has nothing to export yet.").arg(what);
    QChartView* view = chartView(chart);
    const QPixmap pixmap = view->grab();
    if (pixmap.isNull())
        return tr("The %1 could not be drawn (it has no size).").arg(what);
    if (QFileInfo(path).isDir())
        return tr("The %1 cannot be saved to '%2': it is a folder.").arg(what, shown);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return tr("The %1 cannot be saved to '%2': %3").arg(what, shown, file.errorString());
    if (!pixmap.save(&file, "PNG")) {
        file.cancelWriting();
        return tr("The %1 cannot be saved to '%2': PNG encoding failed.").arg(what, shown);
    }
    if (!file.commit())
        return tr("The %1 cannot be saved to '%2': %3").arg(what, shown, file.errorString());
    return {};
}

void ChartsPanel::chooseExportPath(Chart chart)
{
    if (!isChartShown(chart))
        return;
    QSettings settings;
    QString folder = settings.value(QStringLiteral("charts/exportFolder")).toString();
    if (folder.isEmpty() || !QFileInfo(folder).isDir())
        folder = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
    const QString path = QFileDialog::getSaveFileName(this, tr("Export chart as PNG"),
                                                      QDir(folder).filePath(suggestedFileName(chart)),
                                                      tr("PNG images (*.png)"));
    if (path.isEmpty())
        return;
    const QString target = QFileInfo(path).suffix().isEmpty() ? path + QStringLiteral(".png") : path;
    const QString error = exportPng(chart, target);
    if (!error.isEmpty()) {
        auto* box = new QMessageBox(QMessageBox::Warning, tr("Export failed"), error, QMessageBox::Ok, this);
        box->setObjectName(QStringLiteral("chartExportError"));
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
        return;
    }
    settings.setValue(QStringLiteral("charts/exportFolder"), QFileInfo(target).absolutePath());
    emit exported(target);
}

}  // namespace mm::ui
