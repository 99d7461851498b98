#include "ui/ingest_queue_panel.h"

#include "ui/ingest_queue_model.h"

#include <QApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPainter>
#include <QPushButton>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QVBoxLayout>

namespace mm::ui {

namespace {

/// Draws the progress column as a progress bar.
class ProgressDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override
    {
        if (index.data(Qt::DisplayRole).toString().isEmpty()) {
            QStyledItemDelegate::paint(painter, option, index);
            return;
        }
        QStyleOptionProgressBar bar;
        bar.rect = option.rect.adjusted(2, 3, -2, -3);
        bar.minimum = 0;
        bar.maximum = 1000;
        bar.progress = int(index.data(IngestQueueModel::FractionRole).toDouble() * 1000);
        bar.text = index.data(Qt::DisplayRole).toString();
        bar.textVisible = true;
        bar.state = option.state | QStyle::State_Horizontal;
        const QWidget* widget = option.widget;
        QStyle* style = widget ? widget->style() : QApplication::style();
        style->drawControl(QStyle::CE_ProgressBar, &bar, painter, widget);
    }
};

}  // namespace

IngestQueuePanel::IngestQueuePanel(QWidget* parent)
    : QWidget(parent), m_model(new IngestQueueModel(this)), m_view(new QTableView(this)), m_status(new QLabel(this)),
      m_pause(new QPushButton(tr("Pause"), this)), m_cancel(new QPushButton(tr("Cancel"), this)),
      m_clear(new QPushButton(tr("Clear finished"), this))
{
    setObjectName(QStringLiteral("ingestQueuePanel"));
    m_view->setObjectName(QStringLiteral("ingestQueueView"));
    m_view->setModel(m_model);
    m_view->setItemDelegateForColumn(IngestQueueModel::ProgressColumn, new ProgressDelegate(m_view));
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->verticalHeader()->hide();
    m_view->setShowGrid(false);
    m_view->horizontalHeader()->setSectionResizeMode(IngestQueueModel::TitleColumn, QHeaderView::Stretch);
    m_view->horizontalHeader()->setSectionResizeMode(IngestQueueModel::ProgressColumn, QHeaderView::Fixed);
    m_view->horizontalHeader()->resizeSection(IngestQueueModel::ProgressColumn, 110);
    for (int c : {int(IngestQueueModel::StateColumn), int(IngestQueueModel::SpeedColumn), int(IngestQueueModel::TimeColumn)})
        m_view->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_status->setObjectName(QStringLiteral("ingestStatus"));
    m_status->setWordWrap(true);
    m_pause->setObjectName(QStringLiteral("ingestPause"));
    m_cancel->setObjectName(QStringLiteral("ingestCancel"));
    m_clear->setObjectName(QStringLiteral("ingestClear"));

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_pause);
    buttons->addWidget(m_cancel);
    buttons->addStretch(1);
    buttons->addWidget(m_clear);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_status);
    layout->addWidget(m_view, 1);
    layout->addLayout(buttons);

    connect(m_pause, &QPushButton::clicked, this, [this] {
        const int row = m_model->rowOf(currentJobId());
        if (row < 0)
            return;
        const IngestJob& job = m_model->job(row);
        if (job.state == IngestJob::Paused)
            emit resumeRequested(job.jobId);
        else
            emit pauseRequested(job.jobId);
    });
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (const qint64 id = currentJobId())
            emit cancelRequested(id);
    });
    connect(m_clear, &QPushButton::clicked, this, [this] {
        m_model->clearDone();
        updateButtons();
        updateStatus();
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &IngestQueuePanel::updateButtons);
    updateButtons();
    updateStatus();
}

QString IngestQueuePanel::statusText() const
{
    return m_status->text();
}

qint64 IngestQueuePanel::currentJobId() const
{
    const QModelIndex current = m_view->currentIndex();
    if (current.isValid())
        return m_model->job(current.row()).jobId;
    for (const IngestJob& job : m_model->jobs()) {
        if (job.state == IngestJob::Running || job.state == IngestJob::Paused || job.state == IngestJob::Queued)
            return job.jobId;
    }
    return 0;
}

double IngestQueuePanel::expectedSeconds(qint64 tokens) const
{
    const double speed = m_model->device().expectedTokensPerSecond;
    return speed > 0 ? double(tokens) / speed : -1;
}

void IngestQueuePanel::setDevice(const MemoryDevice& device)
{
    m_model->setDevice(device);
    updateStatus();
}

void IngestQueuePanel::updateJob(const IngestJob& job)
{
    const bool wasKnown = m_model->rowOf(job.jobId) >= 0;
    m_model->upsert(job);
    if (job.state == IngestJob::Finished)
        emit documentRead(job.docId);
    if (!wasKnown && !m_view->currentIndex().isValid())
        selectJob(job.jobId);
    updateButtons();
    updateStatus();
}

void IngestQueuePanel::jobFailed(const IngestJob& job, const QString& message)
{
    IngestJob failed = job;
    failed.state = IngestJob::Failed;
    if (failed.error.isEmpty())
        failed.error = message;
    updateJob(failed);
}

void IngestQueuePanel::selectJob(qint64 jobId)
{
    const int row = m_model->rowOf(jobId);
    if (row >= 0)
        m_view->setCurrentIndex(m_model->index(row, 0));
}

void IngestQueuePanel::updateButtons()
{
    const int row = m_model->rowOf(currentJobId());
    const bool pending = row >= 0 && (m_model->job(row).state == IngestJob::Queued
                                      || m_model->job(row).state == IngestJob::Running
                                      || m_model->job(row).state == IngestJob::Paused);
    m_pause->setEnabled(pending);
    m_cancel->setEnabled(pending);
    m_pause->setText(row >= 0 && m_model->job(row).state == IngestJob::Paused ? tr("Resume") : tr("Pause"));
    m_clear->setEnabled(m_model->rowCount() > m_model->pendingCount());
}

void IngestQueuePanel::updateStatus()
{
    const QLocale locale;
    const MemoryDevice& device = m_model->device();
    QStringList parts;
    if (device.name.isEmpty()) {
        parts << tr("The model's device is not known yet.");
    } else if (device.expectedTokensPerSecond > 0) {
        // A 300-page book is about 150,000 tokens (3.6 characters a token).
        parts << tr("Reads on %1, about %2 tokens/s: a 300-page book takes %3.")
                     .arg(device.name, locale.toString(qint64(std::lround(device.expectedTokensPerSecond))),
                          IngestQueueModel::durationText(expectedSeconds(150000)));
    } else {
        parts << tr("Reads on %1.").arg(device.name);
    }
    const QVector<IngestJob> jobs = m_model->jobs();
    for (int row = 0; row < jobs.size(); ++row) {
        const IngestJob& job = jobs[row];
        if (job.state == IngestJob::Running) {
            const double left = m_model->secondsLeft(row);
            parts << (left < 0 ? tr("Reading “%1”.").arg(job.title)
                               : tr("Reading “%1”: %2 left.").arg(job.title, IngestQueueModel::durationText(left)));
            break;
        }
        if (job.state == IngestJob::Queued) {
            const double wait = m_model->secondsUntilStart(row);
            const double own = m_model->secondsLeft(row);
            QString line = wait <= 0 ? tr("“%1” starts now").arg(job.title)
                                     : tr("“%1” starts in %2").arg(job.title, IngestQueueModel::durationText(wait));
            if (own >= 0)
                line += tr(" and takes %1").arg(IngestQueueModel::durationText(own));
            parts << line + QLatin1Char('.');
            break;
        }
    }
    m_status->setText(parts.join(QLatin1Char(' ')));
}

}  // namespace mm::ui
