// Charts for `memmamba eval --plot FILE.png`: Qt Charts rendered offscreen into a PNG.
// Compiled only where Qt6::Charts and Qt6::Widgets exist (MEMMAMBA_EVAL_PLOT).
#include "eval_commands.h"

#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QLegend>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QColor>
#include <QPixmap>
#include <QScatterSeries>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace mm::cli {

std::unique_ptr<QCoreApplication> createGuiApplication(int& argc, char** argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");  // no display needed, none used
    return std::make_unique<QApplication>(argc, argv);
}

void renderChart(const ChartSpec& spec, const std::string& pngPath)
{
    if (!qobject_cast<QApplication*>(QCoreApplication::instance()))
        throw std::runtime_error("--plot: no GUI application object (internal error)");
    auto* chart = new QChart();
    chart->setTitle(QString::fromStdString(spec.title));
    chart->legend()->setAlignment(Qt::AlignRight);
    double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
    double ymin = xmin, ymax = -xmin;
    std::vector<QXYSeries*> all;
    for (const auto& [name, points] : spec.series) {
        QXYSeries* s = new QLineSeries();
        s->setName(QString::fromStdString(name));
        s->setPointsVisible(true);
        for (const auto& [x, y] : points) {
            if (!std::isfinite(x) || !std::isfinite(y) || (spec.logX && x <= 0) || (spec.logY && y <= 0))
                continue;
            s->append(x, y);
            xmin = std::min(xmin, x);
            xmax = std::max(xmax, x);
            ymin = std::min(ymin, y);
            ymax = std::max(ymax, y);
        }
        chart->addSeries(s);
        // Qt's theme repeats its colours after five series; comparisons of two models
        // with the ablation have eight or more.
        static const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
        QPen pen = s->pen();
        pen.setColor(QColor(kPalette[all.size() % 10]));
        s->setColor(pen.color());
        if (name.find("no_pool") != std::string::npos) {  // the ablation dashed and thin: the normal curve shows under it
            pen.setStyle(Qt::DashLine);
            pen.setWidthF(1.5);
        } else {
            pen.setWidthF(4);
        }
        s->setPen(pen);
        all.push_back(s);
    }
    if (!std::isfinite(xmin)) {
        xmin = spec.logX ? 1 : 0;
        xmax = xmin + 1;
        ymin = 0;
        ymax = 1;
    }
    QAbstractAxis* xAxis;
    if (spec.logX) {
        auto* a = new QLogValueAxis();
        a->setBase(2);
        a->setLabelFormat("%g");
        a->setRange(xmin / 1.5, xmax * 1.5);
        xAxis = a;
    } else {
        auto* a = new QValueAxis();
        const double pad = xmax > xmin ? (xmax - xmin) * 0.05 : 1;
        a->setRange(xmin - pad, xmax + pad);
        xAxis = a;
    }
    xAxis->setTitleText(QString::fromStdString(spec.xLabel));
    QAbstractAxis* yAxis;
    if (spec.logY) {
        auto* a = new QLogValueAxis();
        a->setBase(10);
        a->setLabelFormat("%.0e");
        a->setRange(ymin / 3, ymax * 3);
        yAxis = a;
    } else {
        auto* a = new QValueAxis();
        const double ypad = ymax > ymin ? (ymax - ymin) * 0.08 : std::max(std::abs(ymax) * 0.1, 0.05);
        if (spec.fixedY) {
            a->setRange(spec.yMin, spec.yMax);
            a->setTickCount(6);
        } else
            a->setRange(ymin - ypad, ymax + ypad);
        yAxis = a;
    }
    yAxis->setTitleText(QString::fromStdString(spec.yLabel));
    chart->addAxis(xAxis, Qt::AlignBottom);
    chart->addAxis(yAxis, Qt::AlignLeft);
    for (QXYSeries* s : all) {
        s->attachAxis(xAxis);
        s->attachAxis(yAxis);
    }
    QChartView view(chart);  // owns the chart
    view.setRenderHint(QPainter::Antialiasing);
    view.resize(1100, 650);
    const QPixmap image = view.grab();
    if (!image.save(QString::fromStdString(pngPath), "PNG"))
        throw std::runtime_error(pngPath + ": cannot write the chart");
}

}  // namespace mm::cli
