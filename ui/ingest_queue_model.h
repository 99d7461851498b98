// IngestQueueModel: the "Read with model" queue as a table (document, state, progress,
// speed, time left or time before it starts). Jobs come from MemoryService signals and
// are kept by id, in the order they were queued. Times are estimates: the measured speed
// of a running job, else the device's expected speed.
#pragma once

#include "ui/memory_types.h"

#include <QAbstractTableModel>

namespace mm::ui {

class IngestQueueModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { TitleColumn, StateColumn, ProgressColumn, SpeedColumn, TimeColumn, ColumnCount };
    enum Role { JobIdRole = Qt::UserRole + 1, FractionRole, StateRole };

    explicit IngestQueueModel(QObject* parent = nullptr);

    /// Adds the job, or updates the row with its id.
    void upsert(const IngestJob& job);
    void setDevice(const MemoryDevice& device);
    const MemoryDevice& device() const { return m_device; }
    /// Removes finished, failed and cancelled jobs.
    void clearDone();

    int rowOf(qint64 jobId) const;
    const IngestJob& job(int row) const { return m_jobs[row]; }
    QVector<IngestJob> jobs() const { return m_jobs; }
    /// Jobs still to finish (queued, running or paused).
    int pendingCount() const;
    /// Seconds until the job at `row` finishes, or starts (queued), or -1 when unknown.
    double secondsLeft(int row) const;
    double secondsUntilStart(int row) const;

    static QString stateText(IngestJob::State state);
    static QString durationText(double seconds);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    double speedOf(const IngestJob& job) const;

    QVector<IngestJob> m_jobs;
    MemoryDevice m_device;
};

}  // namespace mm::ui
