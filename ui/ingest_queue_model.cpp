#include "ui/ingest_queue_model.h"

#include <QLocale>

#include <cmath>

namespace mm::ui {

IngestQueueModel::IngestQueueModel(QObject* parent) : QAbstractTableModel(parent) {}

void IngestQueueModel::upsert(const IngestJob& job)
{
    const int row = rowOf(job.jobId);
    if (row < 0) {
        beginInsertRows({}, int(m_jobs.size()), int(m_jobs.size()));
        m_jobs << job;
        endInsertRows();
    } else {
        m_jobs[row] = job;
    }
    // Every row's estimate depends on the jobs ahead of it.
    if (!m_jobs.isEmpty())
        emit dataChanged(index(0, 0), index(int(m_jobs.size()) - 1, ColumnCount - 1));
}

void IngestQueueModel::setDevice(const MemoryDevice& device)
{
    m_device = device;
    if (!m_jobs.isEmpty())
        emit dataChanged(index(0, 0), index(int(m_jobs.size()) - 1, ColumnCount - 1));
}

void IngestQueueModel::clearDone()
{
    for (int row = int(m_jobs.size()) - 1; row >= 0; --row) {
        const auto state = m_jobs[row].state;
        if (state == IngestJob::Finished || state == IngestJob::Failed || state == IngestJob::Cancelled) {
            beginRemoveRows({}, row, row);
            m_jobs.removeAt(row);
            endRemoveRows();
        }
    }
}

int IngestQueueModel::rowOf(qint64 jobId) const
{
    for (int row = 0; row < m_jobs.size(); ++row) {
        if (m_jobs[row].jobId == jobId)
            return row;
    }
    return -1;
}

int IngestQueueModel::pendingCount() const
{
    return int(std::count_if(m_jobs.cbegin(), m_jobs.cend(), [](const IngestJob& j) {
        return j.state == IngestJob::Queued || j.state == IngestJob::Running || j.state == IngestJob::Paused;
    }));
}

double IngestQueueModel::speedOf(const IngestJob& job) const
{
    if (job.state == IngestJob::Running && job.tokensPerSecond > 0)
        return job.tokensPerSecond;
    return m_device.expectedTokensPerSecond;
}

double IngestQueueModel::secondsLeft(int row) const
{
    const IngestJob& job = m_jobs[row];
    if (job.state == IngestJob::Finished)
        return 0;
    const double speed = speedOf(job);
    if (job.tokensTotal <= 0 || speed <= 0)
        return -1;
    return double(std::max<qint64>(0, job.tokensTotal - job.tokensDone)) / speed;
}

double IngestQueueModel::secondsUntilStart(int row) const
{
    const IngestJob& job = m_jobs[row];
    if (job.state != IngestJob::Queued)
        return 0;
    // The jobs ahead: the running one, then those queued before this one.
    double seconds = 0;
    for (int r = 0; r < m_jobs.size(); ++r) {
        const IngestJob& other = m_jobs[r];
        const bool ahead = other.state == IngestJob::Running || (other.state == IngestJob::Queued && r < row);
        if (!ahead)
            continue;
        const double left = secondsLeft(r);
        if (left < 0)
            return -1;
        seconds += left;
    }
    return seconds;
}

QString IngestQueueModel::stateText(IngestJob::State state)
{
    switch (state) {
    case IngestJob::Queued:
        return tr("Queued");
    case IngestJob::Running:
        return tr("Reading");
    case IngestJob::Paused:
        return tr("Paused");
    case IngestJob::Finished:
        return tr("Read");
    case IngestJob::Failed:
        return tr("Failed");
    case IngestJob::Cancelled:
        return tr("Cancelled");
    }
    return {};
}

QString IngestQueueModel::durationText(double seconds)
{
    if (seconds < 0)
        return tr("unknown");
    if (seconds < 1)
        return tr("under a second");
    if (seconds < 59.5)
        return tr("about %n s", nullptr, int(std::lround(seconds)));
    const qint64 minutes = std::llround(seconds / 60.0);
    if (minutes < 90)
        return tr("about %n min", nullptr, int(minutes));
    return tr("about %1 h %2 min").arg(minutes / 60).arg(minutes % 60);
}

int IngestQueueModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_jobs.size());
}

int IngestQueueModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant IngestQueueModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= m_jobs.size())
        return {};
    const IngestJob& job = m_jobs[index.row()];
    const QLocale locale;
    const double fraction = job.tokensTotal > 0 ? double(job.tokensDone) / double(job.tokensTotal) : 0.0;
    switch (role) {
    case JobIdRole:
        return job.jobId;
    case FractionRole:
        return job.state == IngestJob::Finished ? 1.0 : fraction;
    case StateRole:
        return int(job.state);
    case Qt::ToolTipRole: {
        const QString what = job.state == IngestJob::Failed
                                 ? job.error
                                 : tr("%1 of %2 tokens read").arg(locale.toString(job.tokensDone), locale.toString(job.tokensTotal));
        // The title column stretches and elides: its tooltip names the whole title.
        return index.column() == TitleColumn ? job.title + QLatin1Char('\n') + what : what;
    }
    case Qt::DisplayRole:
        break;
    default:
        return {};
    }
    switch (index.column()) {
    case TitleColumn:
        return job.title;
    case StateColumn:
        return job.state == IngestJob::Failed && !job.error.isEmpty()
                   ? tr("Failed: %1").arg(job.error)
                   : stateText(job.state);
    case ProgressColumn:
        return job.tokensTotal > 0 ? tr("%1%").arg(int(std::floor(100 * (job.state == IngestJob::Finished ? 1.0 : fraction))))
                                   : QString();
    case SpeedColumn:
        return job.state == IngestJob::Running && job.tokensPerSecond > 0
                   ? tr("%1 tok/s").arg(locale.toString(qint64(std::lround(job.tokensPerSecond))))
                   : QString();
    case TimeColumn:
        switch (job.state) {
        case IngestJob::Queued: {
            const double wait = secondsUntilStart(index.row());
            return wait < 0 ? QString() : tr("starts in %1").arg(durationText(wait));
        }
        case IngestJob::Running:
        case IngestJob::Paused: {
            const double left = secondsLeft(index.row());
            return left < 0 ? QString() : tr("%1 left").arg(durationText(left));
        }
        default:
            return {};
        }
    default:
        return {};
    }
}

QVariant IngestQueueModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TitleColumn:
        return tr("Document");
    case StateColumn:
        return tr("State");
    case ProgressColumn:
        return tr("Progress");
    case SpeedColumn:
        return tr("Speed");
    case TimeColumn:
        return tr("Time");
    default:
        return {};
    }
}

}  // namespace mm::ui
