#include "ui/charts_panel.h"

#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QCursor>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLocale>
#include <QLogValueAxis>
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
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mm::ui {

namespace {

// Qt's chart theme repeats its colours after five series; a model has eight layers.
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

QColor layerColour(int layer)
{
    return QColor(QLatin1String(kPalette[layer % 10]));
}

void clearChart(QChart* chart)
{
    chart->removeAllSeries();  // deletes them
    const auto axes = chart->axes();
    for (QAbstractAxis* axis : axes) {
        chart->removeAxis(axis);
        delete axis;
    }
}

void hideFromLegend(QChart* chart, QAbstractSeries* series)
{
    const auto markers = chart->legend()->markers(series);
    for (QLegendMarker* marker : markers)
        marker->setVisible(false);
}

QString fileSafe(QString s)
{
    static const QString bad = QStringLiteral("\\/:*?\"<>|");
    for (QChar& c : s) {
        if (bad.contains(c) || c.unicode() < 32)
            c = QLatin1Char('_');
    }
    return s.simplified().left(80);
}

QChartView* makeView(const QString& name, QWidget* parent)
{
    auto* chart = new QChart();
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->legend()->setAlignment(Qt::AlignRight);
    auto* view = new QChartView(chart, parent);
    view->setObjectName(name);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumSize(320, 180);
    return view;
}

}  // namespace

// ---- binning -----------------------------------------------------------------------------

QVector<ChartsPanel::PerplexityBin> ChartsPanel::perplexityBins(const MemoryMapData& data, int maxBins)
{
    QVector<PerplexityBin> bins;
    const qint64 tokens = std::min<qint64>(data.tokenCount(), data.surprisal.size());
    if (tokens <= 0 || maxBins <= 0)
        return bins;
    const qint64 count = std::min<qint64>(maxBins, tokens);
    bins.reserve(count);
    for (qint64 b = 0; b < count; ++b) {
        PerplexityBin bin;
        bin.firstToken = b * tokens / count;
        bin.endToken = (b + 1) * tokens / count;
        double sum = 0;
        for (qint64 t = bin.firstToken; t < bin.endToken; ++t) {
            const float v = data.surprisal[t];
            if (std::isfinite(v)) {
                sum += double(v);
                ++bin.scoredTokens;
            }
        }
        if (bin.scoredTokens > 0) {
            bin.meanNll = sum / double(bin.scoredTokens);
            bin.perplexity = std::exp(bin.meanNll);
        } else {
            bin.meanNll = bin.perplexity = std::numeric_limits<double>::quiet_NaN();
        }
        bins << bin;
    }
    return bins;
}

// ---- the panel ---------------------------------------------------------------------------

ChartsPanel::ChartsPanel(QWidget* parent)
    : QWidget(parent),
      m_pplStack(new QStackedWidget(this)),
      m_pplPlaceholder(new QLabel(m_pplStack)),
      m_pplView(makeView(QStringLiteral("perplexityChart"), m_pplStack)),
      m_pplExport(new QToolButton(this)),
      m_pplSummary(new QLabel(this)),
      m_fidStack(new QStackedWidget(this)),
      m_fidPlaceholder(new QLabel(this)),
      m_progress(new QProgressBar(this)),
      m_cancelButton(new QPushButton(tr("Cancel"), this)),
      m_measureButton(new QPushButton(tr("Measure"), this)),
      m_fidView(makeView(QStringLiteral("fidelityChart"), m_fidStack)),
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
    m_pplStack->addWidget(m_pplView);

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
    m_fidStack->addWidget(m_fidView);

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
    return chart == Perplexity ? m_pplView : m_fidView;
}

bool ChartsPanel::isChartShown(Chart chart) const
{
    return chart == Perplexity ? m_pplStack->currentWidget() == m_pplView : m_fidStack->currentWidget() == m_fidView;
}

QString ChartsPanel::placeholderText(Chart chart) const
{
    if (isChartShown(chart))
        return {};
    return chart == Perplexity ? m_pplPlaceholder->text() : m_fidPlaceholder->text();
}

QLineSeries* ChartsPanel::fidelitySeries(int layer, bool noPool) const
{
    const QString name = (noPool ? QStringLiteral("fidelityNoPoolLayer%1") : QStringLiteral("fidelityLayer%1")).arg(layer);
    const auto series = m_fidView->chart()->series();
    for (QAbstractSeries* s : series) {
        if (s->objectName() == name)
            return qobject_cast<QLineSeries*>(s);
    }
    return nullptr;
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
        m_pplStack->setCurrentWidget(m_pplView);
        m_pplExport->setEnabled(true);
    } else {
        m_fidStack->setCurrentWidget(m_fidView);
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
    clearChart(m_pplView->chart());
    clearChart(m_fidView->chart());
    m_pplSeries = m_smoothSeries = m_positionSeries = nullptr;
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
    buildPerplexityChart();
    if (m_fidelityState == NotRequested)
        showPlaceholder(Fidelity, tr("The memory fidelity of this book is measured when this panel is shown."));
    updateFidelityControls();
    maybeRequestFidelity();
}

void ChartsPanel::setReadingPosition(qint64 charPosition)
{
    m_readingChar = charPosition;
    updatePositionMarker();
}

void ChartsPanel::setLayers(const QVector<int>& layers)
{
    if (layers == m_layers)
        return;
    m_layers = layers;
    if (m_fidelityState == Ready)
        buildFidelityChart();
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
    buildFidelityChart();
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

// ---- perplexity by position ------------------------------------------------------------

void ChartsPanel::buildPerplexityChart()
{
    QChart* chart = m_pplView->chart();
    clearChart(chart);
    m_pplSeries = m_smoothSeries = m_positionSeries = nullptr;
    const MemoryMapData& data = *m_data;
    const QVector<PerplexityBin> bins = perplexityBins(data);
    double ymin = std::numeric_limits<double>::infinity(), ymax = 0;
    double nllSum = 0;
    qint64 scored = 0;
    for (const PerplexityBin& b : bins) {
        if (b.scoredTokens > 0) {
            ymin = std::min(ymin, b.perplexity);
            ymax = std::max(ymax, b.perplexity);
            nllSum += b.meanNll * double(b.scoredTokens);
            scored += b.scoredTokens;
        }
    }
    if (scored == 0 || !(ymax > 0)) {
        showPlaceholder(Perplexity, data.surprisal.isEmpty()
                                        ? tr("The model's reading of this book stored no surprisal, so there is no "
                                             "perplexity to draw.")
                                        : tr("No token of this book has a prediction to score."));
        return;
    }
    const qint64 tokens = std::min<qint64>(data.tokenCount(), data.surprisal.size());
    chart->setTitle(m_title.isEmpty() ? tr("Perplexity by position") : tr("Perplexity by position — %1").arg(m_title));

    m_pplSeries = new QLineSeries(chart);
    m_pplSeries->setObjectName(QStringLiteral("perplexity"));
    m_pplSeries->setName(tr("perplexity (%1 bins)").arg(bins.size()));
    QPen pen(QColor(QStringLiteral("#5b6b7a")));
    pen.setWidthF(1.2);
    m_pplSeries->setPen(pen);
    QVector<QPointF> points;
    QVector<int> pointBins;
    for (int i = 0; i < bins.size(); ++i) {
        const PerplexityBin& b = bins[i];
        if (b.scoredTokens == 0)
            continue;  // no prediction in it: a gap, not a zero
        points << QPointF(0.5 * double(b.firstToken + b.endToken), b.perplexity);
        pointBins << i;
    }
    m_pplSeries->replace(points);

    // Smoothed: the geometric mean of the perplexity over kSmoothingBins bins around each.
    m_smoothSeries = new QLineSeries(chart);
    m_smoothSeries->setObjectName(QStringLiteral("perplexitySmoothed"));
    m_smoothSeries->setName(tr("smoothed (%1 bins)").arg(kSmoothingBins));
    QPen smoothPen(QColor(QStringLiteral("#b8323a")));
    smoothPen.setWidthF(2.5);
    m_smoothSeries->setPen(smoothPen);
    QVector<QPointF> smooth;
    const int half = kSmoothingBins / 2;
    for (int p = 0; p < points.size(); ++p) {
        double sum = 0;
        int n = 0;
        for (int q = std::max(0, p - half); q <= std::min(int(points.size()) - 1, p + half); ++q) {
            sum += std::log(points[q].y());
            ++n;
        }
        smooth << QPointF(points[p].x(), std::exp(sum / n));
    }
    m_smoothSeries->replace(smooth);

    chart->addSeries(m_pplSeries);
    chart->addSeries(m_smoothSeries);

    auto* x = new QValueAxis(chart);
    x->setRange(0, double(tokens));
    x->applyNiceNumbers();  // round ticks (0, 50000, …): the axis may end a little past the book
    x->setLabelFormat(QStringLiteral("%.0f"));
    x->setTitleText(tr("position in the book (tokens)"));
    x->setGridLineVisible(false);
    chart->addAxis(x, Qt::AlignBottom);

    QAbstractAxis* y;
    const bool logY = ymax / ymin > 20;
    if (logY) {
        auto* a = new QLogValueAxis(chart);
        a->setBase(10);
        a->setLabelFormat(QStringLiteral("%g"));
        m_pplYMin = ymin / 1.5;
        m_pplYMax = ymax * 1.5;
        a->setRange(m_pplYMin, m_pplYMax);
        y = a;
    } else {
        auto* a = new QValueAxis(chart);
        const double pad = std::max((ymax - ymin) * 0.08, ymax * 0.02);
        m_pplYMin = std::max(0.0, ymin - pad);
        m_pplYMax = ymax + pad;
        a->setRange(m_pplYMin, m_pplYMax);
        a->applyNiceNumbers();
        m_pplYMin = a->min();
        m_pplYMax = a->max();
        a->setLabelFormat(QStringLiteral("%g"));
        y = a;
    }
    y->setTitleText(logY ? tr("perplexity (log scale)") : tr("perplexity"));
    chart->addAxis(y, Qt::AlignLeft);
    for (QLineSeries* s : {m_pplSeries, m_smoothSeries}) {
        s->attachAxis(x);
        s->attachAxis(y);
    }

    // Chapter starts: a category axis on top whose boundaries are the chapters' first
    // tokens (their grid lines mark them), labelled by chapter number (every k-th one
    // when there are many).
    if (!data.chapters.isEmpty() && !data.tokenChars.isEmpty()) {
        auto* chapters = new QCategoryAxis(chart);
        chapters->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
        chapters->setStartValue(0);
        chapters->setRange(x->min(), x->max());
        chapters->setTitleText(tr("chapter"));
        QPen grid(QColor(QStringLiteral("#c9cfd6")));
        grid.setStyle(Qt::DotLine);
        chapters->setGridLinePen(grid);
        const int every = std::max(1, int(data.chapters.size() + 23) / 24);
        double last = -1;
        for (int i = 0; i < data.chapters.size(); i += every) {
            const qint64 token = std::lower_bound(data.tokenChars.cbegin(), data.tokenChars.cend(),
                                                  data.chapters[i].charPosition) - data.tokenChars.cbegin();
            const double at = double(std::min(token, tokens));
            if (at <= last || at <= 0)
                continue;  // Qt wants increasing boundaries after the start value
            chapters->append(QString::number(i + 1), at);
            last = at;
        }
        if (chapters->count() > 0) {
            chart->addAxis(chapters, Qt::AlignTop);
            m_pplSeries->attachAxis(chapters);
        } else {
            delete chapters;
        }
    }

    // The reading position: a vertical line from the bottom of the axis to its top.
    m_positionSeries = new QLineSeries(chart);
    m_positionSeries->setObjectName(QStringLiteral("readingPosition"));
    m_positionSeries->setName(tr("reading position"));
    QPen positionPen(QColor(QStringLiteral("#20262c")));
    positionPen.setWidthF(1.5);
    m_positionSeries->setPen(positionPen);
    chart->addSeries(m_positionSeries);
    m_positionSeries->attachAxis(x);
    m_positionSeries->attachAxis(y);
    updatePositionMarker();

    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->legend()->setVisible(true);

    connect(m_pplSeries, &QLineSeries::hovered, this, [this, bins, pointBins](const QPointF& point, bool state) {
        if (!state || !m_pplSeries) {
            QToolTip::hideText();
            return;
        }
        const auto shownPoints = m_pplSeries->points();
        int best = -1;
        double bestDistance = std::numeric_limits<double>::infinity();
        for (int i = 0; i < shownPoints.size(); ++i) {
            const double d = std::abs(shownPoints[i].x() - point.x());
            if (d < bestDistance) {
                bestDistance = d;
                best = i;
            }
        }
        if (best < 0 || best >= pointBins.size())
            return;
        const PerplexityBin& b = bins[pointBins[best]];
        const QLocale locale;
        QToolTip::showText(QCursor::pos(), tr("tokens %1–%2\nperplexity %3 (mean %4 nats over %5 tokens)")
                                               .arg(locale.toString(b.firstToken), locale.toString(b.endToken - 1),
                                                    locale.toString(b.perplexity, 'f', 1),
                                                    locale.toString(b.meanNll, 'f', 3), locale.toString(b.scoredTokens)),
                           m_pplView);
    });

    const QLocale locale;
    const double meanNll = nllSum / double(scored);
    m_pplSummary->setText(tr("Whole book: perplexity %1 (mean surprisal %2 nats over %3 tokens); each point is "
                             "exp(mean surprisal) of %4 tokens.")
                              .arg(locale.toString(std::exp(meanNll), 'f', 1), locale.toString(meanNll, 'f', 3),
                                   locale.toString(scored), locale.toString((tokens + bins.size() - 1) / bins.size())));
    showChart(Perplexity);
}

void ChartsPanel::updatePositionMarker()
{
    if (!m_positionSeries || !m_data || m_data->tokenChars.isEmpty())
        return;
    const QVector<qint64>& chars = m_data->tokenChars;
    const qint64 token = std::max<qint64>(
        0, qint64(std::upper_bound(chars.cbegin(), chars.cend(), m_readingChar) - chars.cbegin()) - 1);
    const double x = double(token);
    m_positionSeries->replace({QPointF(x, m_pplYMin), QPointF(x, m_pplYMax)});
}

// ---- memory fidelity ---------------------------------------------------------------------

void ChartsPanel::buildFidelityChart()
{
    QChart* chart = m_fidView->chart();
    clearChart(chart);
    const FidelityCurves& c = m_curves;
    bool any = false;
    double ymax = 0;
    double dmin = std::numeric_limits<double>::infinity(), dmax = 0;
    for (int i = 0; i < c.distances.size(); ++i) {
        if (c.distances[i] <= 0)
            continue;  // the log axis has no 0; distance 0 is the replaced token itself
        dmin = std::min(dmin, double(c.distances[i]));
        dmax = std::max(dmax, double(c.distances[i]));
    }
    const QVector<int> layers = fidelityLayers();
    if (!(dmax > 0) || layers.isEmpty()) {
        showPlaceholder(Fidelity, tr("The measurement gave no curve for this book (too short?)."));
        return;
    }
    chart->setTitle(m_title.isEmpty() ? tr("Memory fidelity") : tr("Memory fidelity — %1").arg(m_title));

    auto* x = new QLogValueAxis(chart);
    x->setBase(4);  // the default distances are powers of 4: a tick at each
    x->setLabelFormat(QStringLiteral("%g"));
    x->setRange(dmin, dmin == dmax ? dmax * 4 : dmax);
    x->setTitleText(tr("distance (tokens after the changed token)"));
    chart->addAxis(x, Qt::AlignBottom);
    // A log axis when the curves fall over more than two decades (a trained model's do:
    // the tail is what the notes are for), else a linear one from 0.
    double positiveMin = std::numeric_limits<double>::infinity(), positiveMax = 0;
    auto scan = [&](const QVector<QVector<double>>& rows) {
        for (int layer : layers) {
            for (double v : rows.value(layer)) {
                if (std::isfinite(v) && v > 0) {
                    positiveMin = std::min(positiveMin, v);
                    positiveMax = std::max(positiveMax, v);
                }
            }
        }
    };
    scan(c.etmf);
    scan(c.etmfNoPool);
    const bool logY = positiveMax > 0 && positiveMax / positiveMin > 100;
    QAbstractAxis* y;
    if (logY) {
        auto* a = new QLogValueAxis(chart);
        a->setBase(10);
        a->setLabelFormat(QStringLiteral("%.0e"));
        a->setRange(positiveMin / 2, positiveMax * 2);
        y = a;
    } else {
        auto* a = new QValueAxis(chart);
        a->setLabelFormat(QStringLiteral("%.2f"));
        y = a;
    }
    y->setTitleText(logY ? tr("ETMF proxy (1 − cos, log scale)") : tr("ETMF proxy (1 − cos)"));
    chart->addAxis(y, Qt::AlignLeft);

    auto addCurve = [&](int layer, const QVector<double>& values, bool noPool) {
        auto* s = new QLineSeries(chart);
        s->setObjectName((noPool ? QStringLiteral("fidelityNoPoolLayer%1") : QStringLiteral("fidelityLayer%1")).arg(layer));
        s->setName(noPool ? tr("layer %1, pools emptied").arg(layer) : tr("layer %1").arg(layer));
        QPen pen(layerColour(layer));
        if (noPool) {
            pen.setStyle(Qt::DashLine);
            pen.setWidthF(1.3);
        } else {
            pen.setWidthF(2.5);
        }
        s->setPen(pen);
        s->setPointsVisible(!noPool);
        for (int i = 0; i < c.distances.size() && i < values.size(); ++i) {
            if (c.distances[i] <= 0 || !std::isfinite(values[i]) || (logY && values[i] <= 0))
                continue;  // (a log axis has no 0: such a point is left out)
            s->append(double(c.distances[i]), values[i]);
            ymax = std::max(ymax, values[i]);
            any = true;
        }
        chart->addSeries(s);
        s->attachAxis(x);
        s->attachAxis(y);
        if (noPool)
            hideFromLegend(chart, s);
        connect(s, &QLineSeries::hovered, this, [this, layer, noPool](const QPointF& point, bool state) {
            if (!state) {
                QToolTip::hideText();
                return;
            }
            int best = -1;
            double bestDistance = std::numeric_limits<double>::infinity();
            for (int i = 0; i < m_curves.distances.size(); ++i) {
                if (m_curves.distances[i] <= 0)
                    continue;
                const double d = std::abs(std::log(double(m_curves.distances[i])) - std::log(std::max(point.x(), 1e-9)));
                if (d < bestDistance) {
                    bestDistance = d;
                    best = i;
                }
            }
            if (best < 0 || layer >= m_curves.etmf.size())
                return;
            QString text = tr("layer %1, %2 tokens later: %3").arg(layer).arg(m_curves.distances[best])
                               .arg(m_curves.etmf[layer].value(best), 0, 'f', 4);
            if (layer < m_curves.etmfNoPool.size())
                text += tr("\nwith the pools emptied: %1").arg(m_curves.etmfNoPool[layer].value(best), 0, 'f', 4);
            Q_UNUSED(noPool)
            QToolTip::showText(QCursor::pos(), text, m_fidView);
        });
    };
    for (int layer : layers) {
        addCurve(layer, c.etmf[layer], false);
        if (layer < c.etmfNoPool.size())
            addCurve(layer, c.etmfNoPool[layer], true);
    }
    if (!any) {
        clearChart(chart);
        showPlaceholder(Fidelity, tr("The measurement gave no finite value for this book."));
        return;
    }
    if (auto* linear = qobject_cast<QValueAxis*>(y)) {
        linear->setRange(0, std::max(0.01, ymax * 1.1));
        linear->applyNiceNumbers();
    }

    const QLocale locale;
    QString summary = c.samples == 1 ? tr("1 sample of this book: it changes one token after %1 tokens of context and "
                                          "compares every layer's output with the unchanged read, %2 to %3 tokens later.")
                                     : tr("%4 samples of this book: each changes one token after %1 tokens of context and "
                                          "compares every layer's output with the unchanged read, %2 to %3 tokens later.");
    summary = summary.arg(locale.toString(c.context), locale.toString(qint64(dmin)), locale.toString(qint64(dmax)));
    if (c.samples != 1)
        summary = summary.arg(c.samples);
    if (!c.etmfNoPool.isEmpty())
        summary += tr(" Dashed: the same with the note pools emptied.");
    if (c.seconds > 0)
        summary += tr(" (%1 s)").arg(locale.toString(c.seconds, 'f', 1));
    m_fidSummary->setText(summary);
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
