// The ingest queue: documents being read by the model ("Read with model"), each with its
// progress, speed and time left (or before it starts), Pause/Resume and Cancel for the
// selected one, and a status line naming the device and what to expect of it before
// anything starts. It shows MemoryService's jobs and emits requests; nothing else.
#pragma once

#include "ui/memory_types.h"

#include <QWidget>

class QLabel;
class QPushButton;
class QTableView;

namespace mm::ui {

class IngestQueueModel;

class IngestQueuePanel : public QWidget {
    Q_OBJECT
public:
    explicit IngestQueuePanel(QWidget* parent = nullptr);

    IngestQueueModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    QPushButton* pauseButton() const { return m_pause; }
    QPushButton* cancelButton() const { return m_cancel; }
    QString statusText() const;
    /// The selected job (else the first one still pending), or 0.
    qint64 currentJobId() const;
    /// A book of this many tokens would take this long on the device (-1: unknown).
    double expectedSeconds(qint64 tokens) const;

public slots:
    void setDevice(const mm::ui::MemoryDevice& device);
    void updateJob(const mm::ui::IngestJob& job);
    void jobFailed(const mm::ui::IngestJob& job, const QString& message);
    void selectJob(qint64 jobId);

signals:
    void pauseRequested(qint64 jobId);
    void resumeRequested(qint64 jobId);
    void cancelRequested(qint64 jobId);
    /// A job finished: its document now has a memory.
    void documentRead(qint64 docId);

private:
    void updateButtons();
    void updateStatus();

    IngestQueueModel* m_model;
    QTableView* m_view;
    QLabel* m_status;
    QPushButton* m_pause;
    QPushButton* m_cancel;
    QPushButton* m_clear;
};

}  // namespace mm::ui
